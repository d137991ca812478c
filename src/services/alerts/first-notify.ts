/**
 * Shows incidents that were kept quiet (silenced at open) once nothing keeps them quiet any more:
 * an ungrouped one gets its first message now, a grouped one joins its group's current epoch and
 * rings at the next flush. Ingest does the same for repeats; this is for silence expiry, when
 * the sender may not repeat for a while.
 */
import type { DbClient } from "../../store/pool.ts";
import type { AlertsEnv } from "./env.ts";
import { escalationDueAt } from "./escalation-plan.ts";
import { ensureGroup, markChanged, reopen } from "./groups.ts";
import { sendIncidentMessage } from "./messages.ts";
import { groupsByIds, updateIncidents, upsertGroups } from "./store.ts";
import type { Incident } from "./types.ts";

/** Call with the incidents' group locks held (applyToIncidents takes them). */
export async function showUnshown(
  client: DbClient,
  env: AlertsEnv,
  incidents: readonly Incident[],
): Promise<void> {
  const now = env.now();
  const waiting = incidents.filter(
    (i) => i.status === "firing" && i.firstNotifiedAt === null && i.inhibitedBy === null,
  );
  if (waiting.length === 0) return;
  const groups = new Map(
    (
      await groupsByIds(client, [...new Set(waiting.flatMap((i) => (i.groupId ? [i.groupId] : [])))], {
        lock: true,
      })
    ).map((g) => [g.id, g]),
  );
  for (const incident of waiting) {
    if (incident.groupId === null) {
      incident.firstNotifiedAt = now;
      incident.lastNotifiedAt = now;
      await sendIncidentMessage(client, env, incident);
      incident.escalationDueAt = escalationDueAt(incident, env, now);
      continue;
    }
    const group = ensureGroup(groups, incident, env.alerting.grouping.group_by, now)!;
    if (group.closed) reopen(group, now);
    incident.groupEpoch = group.epoch;
    markChanged(group, now, true, env.alerting.grouping);
  }
  await updateIncidents(client, waiting);
  await upsertGroups(client, [...groups.values()]);
}
