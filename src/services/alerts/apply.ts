/**
 * Changes made by operators and timers (acknowledge, resolve, silence, silence expiry) to one or
 * many incidents, in the caller's transaction, in the lock order every alerts transaction keeps:
 * group locks first (one sorted statement), then incident rows in id order. The changed incidents
 * are recorded and every message showing them is edited at once (an operator waits for it).
 */
import { PRIORITY, type Priority } from "../../delivery/index.ts";
import type { DbClient } from "../../store/pool.ts";
import type { AlertsEnv } from "./env.ts";
import { editGroupMessage, editIncidentMessage } from "./messages.ts";
import {
  groupLock,
  groupMembers,
  groupsByIds,
  incidentsByIds,
  lockNames,
  updateIncidents,
  upsertGroups,
} from "./store.ts";
import type { AlertGroup, Incident } from "./types.ts";

export interface RefreshOptions {
  /** Operator actions jump ahead of routine edits. Default NEW_ALERT. */
  priority?: Priority;
  /** Changes the group before its message is edited (the action line under it). */
  groupUpdate?: (group: AlertGroup, changed: readonly Incident[]) => void;
}

/**
 * Locks, re-reads and mutates the incidents (`mutate` returns whether it changed one), records
 * them and edits their messages. Returns the changed incidents.
 */
export async function applyToIncidents(
  client: DbClient,
  env: AlertsEnv,
  ids: readonly string[],
  mutate: (incident: Incident) => boolean,
  opts: RefreshOptions & { extraGroups?: readonly string[] } = {},
): Promise<Incident[]> {
  const peek = await incidentsByIds(client, ids);
  const groupIds = [
    ...new Set([...peek.flatMap((i) => (i.groupId ? [i.groupId] : [])), ...(opts.extraGroups ?? [])]),
  ];
  await lockNames(client, groupIds.map(groupLock));
  const rows = await incidentsByIds(client, ids, { lock: true });
  const changed = rows.filter((incident) => mutate(incident));
  await recordAndRefresh(client, env, changed, opts);
  return changed;
}

/** Writes changed incidents and edits the messages that show them (ungrouped, then per group). */
export async function recordAndRefresh(
  client: DbClient,
  env: AlertsEnv,
  changed: readonly Incident[],
  opts: RefreshOptions = {},
): Promise<void> {
  const priority = opts.priority ?? PRIORITY.NEW_ALERT;
  for (const incident of changed) {
    if (incident.groupId === null) await editIncidentMessage(client, env, incident, { priority });
  }
  await updateIncidents(client, changed);
  const byGroup = new Map<string, Incident[]>();
  for (const incident of changed) {
    if (incident.groupId === null || incident.groupEpoch === null) continue;
    byGroup.set(incident.groupId, [...(byGroup.get(incident.groupId) ?? []), incident]);
  }
  if (byGroup.size === 0) return;
  const groups = await groupsByIds(client, [...byGroup.keys()], { lock: true });
  for (const group of groups) {
    const mine = (byGroup.get(group.id) ?? []).filter((i) => i.groupEpoch === group.epoch);
    if (mine.length === 0) continue;
    opts.groupUpdate?.(group, mine);
    const members = await groupMembers(client, group.id, group.epoch);
    const shown = members.filter((m) => m.firstNotifiedAt !== null);
    // Everything resolved by hand: the epoch ends now, the next firing gets a new message.
    if (members.every((m) => m.status === "resolved")) {
      group.closed = true;
      group.flushDueAt = null;
      group.pendingSince = null;
      group.pendingLoud = false;
    }
    await editGroupMessage(client, env, group, shown, { priority });
    await upsertGroups(client, [group]);
  }
}
