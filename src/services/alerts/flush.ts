/**
 * Group flushes, run by the leader's job: a group whose `flush_due_at` has come gets its message
 * sent (first of its epoch), re-sent loud (a new incident joined, or one re-notifies), or edited
 * silently, showing every incident of its epoch at that moment. Incidents shown for the first
 * time are "notified" now: the dedup window and the escalation delay count from here.
 */

import { flushMode, groupAfterFlush } from "../../guards/alerts/index.ts";
import type { Db, DbClient } from "../../store/pool.ts";
import type { AlertsEnv } from "./env.ts";
import { escalationDueAt } from "./escalation-plan.ts";
import { groupState } from "./groups.ts";
import { editGroupMessage, sendGroupMessage } from "./messages.ts";
import {
  dueGroupIds,
  groupLock,
  groupMembers,
  groupsByIds,
  insertEvents,
  lockNames,
  updateIncidents,
  upsertGroups,
} from "./store.ts";
import { transaction } from "./tx.ts";
import type { Incident } from "./types.ts";

/** Flushes every group due now; returns how many messages were sent or edited. */
export async function flushDueGroups(db: Db, env: AlertsEnv, limit = 100): Promise<number> {
  const ids = await dueGroupIds(db, env.now(), limit);
  let flushed = 0;
  for (const id of ids) {
    if (await transaction(db, (client) => flushGroup(client, env, id))) flushed++;
  }
  return flushed;
}

async function flushGroup(client: DbClient, env: AlertsEnv, id: string): Promise<boolean> {
  await lockNames(client, [groupLock(id)]);
  const [group] = await groupsByIds(client, [id], { lock: true });
  const now = env.now();
  if (!group || group.flushDueAt === null || group.flushDueAt.getTime() > now.getTime()) return false;
  const members = await groupMembers(client, id, group.epoch, { lock: true });
  const mode = flushMode(groupState(group));
  const changed = new Set<Incident>();
  for (const member of members) {
    if (member.firstNotifiedAt === null && member.status === "firing") {
      member.firstNotifiedAt = now;
      member.lastNotifiedAt = now;
      changed.add(member);
    }
  }
  const shown = members.filter((m) => m.firstNotifiedAt !== null);
  if (mode !== "edit") {
    // A loud message restarts the dedup window of everything it shows.
    for (const member of shown) {
      if (member.status !== "resolved" && member.lastNotifiedAt?.getTime() !== now.getTime()) {
        member.lastNotifiedAt = now;
        changed.add(member);
      }
    }
  }
  if (shown.length > 0) {
    if (mode === "edit") await editGroupMessage(client, env, group, shown);
    else await sendGroupMessage(client, env, group, shown);
  }
  Object.assign(group, groupAfterFlush(groupState(group), now));
  group.flushDueAt = null;
  group.closed = members.length > 0 && members.every((m) => m.status === "resolved");
  for (const member of changed) member.escalationDueAt = escalationDueAt(member, env, now);
  await updateIncidents(client, [...changed]);
  await upsertGroups(client, [group]);
  await insertEvents(
    client,
    [...changed]
      .filter((m) => m.firstNotifiedAt?.getTime() === now.getTime())
      .map((m) => ({ alertId: m.id, at: now, kind: "notified", details: { group: group.id, mode } })),
  );
  return shown.length > 0;
}
