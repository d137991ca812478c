/**
 * What operators do from the buttons: acknowledge, resolve and silence one incident (`al:`) or
 * every incident a group's message shows (`ag:`), open the silence lengths, page a group. Each
 * change is one transaction: the incident rows, their events, the audit row, the message edits
 * (showing who did what) and the PagerDuty follow-up commit together. Outcomes are values the
 * bot turns into toasts; a stale button is an outcome, never an error.
 */
import type { SilenceChoice } from "../../bot/callback-data/al.ts";
import { SILENCE_CHOICES } from "../../bot/callback-data/al.ts";
import { PRIORITY } from "../../delivery/index.ts";
import type { Matcher } from "../../guards/alerts/silence.ts";
import { writeAudit } from "../../store/audit.ts";
import type { Db, DbClient } from "../../store/pool.ts";
import { applyToIncidents } from "./apply.ts";
import type { AlertsEnv } from "./env.ts";
import { editGroupMessage, editIncidentMessage } from "./messages.ts";
import { queuePagerDutyFollowUp } from "./notifications.ts";
import { createSilence } from "./silences.ts";
import {
  groupLock,
  groupMembers,
  groupsByIds,
  incidentById,
  insertEvents,
  lockNames,
  upsertGroups,
} from "./store.ts";
import { transaction } from "./tx.ts";
import type { ActorRef, AlertGroup, GroupAction, Incident } from "./types.ts";

export type ActionOutcome =
  | { kind: "done"; count: number; until?: Date }
  /** Unknown id, or a group with nothing left to act on: the button is stale. */
  | { kind: "stale" }
  | { kind: "already-acknowledged"; by: ActorRef | null }
  | { kind: "already-resolved" };

export type IncidentOp = "ack" | "res" | "sil";

function auditActor(actor: ActorRef) {
  return { type: "operator" as const, id: actor.id, name: actor.name };
}

/** Applies `op` to an incident if its state allows; returns what the toast should say otherwise. */
function mutateFor(
  op: "ack" | "res",
  actor: ActorRef,
  now: Date,
  blocked: { outcome?: ActionOutcome },
): (incident: Incident) => boolean {
  return (incident) => {
    if (incident.status === "resolved") {
      blocked.outcome = { kind: "already-resolved" };
      return false;
    }
    if (op === "ack") {
      if (incident.status === "acknowledged") {
        blocked.outcome = { kind: "already-acknowledged", by: incident.acknowledgedBy };
        return false;
      }
      incident.status = "acknowledged";
      incident.acknowledgedBy = actor;
      incident.acknowledgedAt = now;
    } else {
      incident.status = "resolved";
      incident.resolvedAt = now;
      incident.resolvedBy = actor;
    }
    // Acknowledge or resolve stops every reminder.
    incident.escalationDueAt = null;
    return true;
  };
}

async function recordOperatorChange(
  client: DbClient,
  env: AlertsEnv,
  changed: readonly Incident[],
  op: "ack" | "res",
  actor: ActorRef,
  now: Date,
): Promise<void> {
  await insertEvents(
    client,
    changed.map((i) => ({ alertId: i.id, at: now, kind: op === "ack" ? "acknowledged" : "resolved", actor })),
  );
  for (const incident of changed) {
    await queuePagerDutyFollowUp(client, env, incident, op === "ack" ? "acknowledge" : "resolve");
  }
}

/** `al:ack` / `al:res`: one incident. */
export async function actOnIncident(
  db: Db,
  env: AlertsEnv,
  alertId: string,
  op: "ack" | "res",
  actor: ActorRef,
): Promise<ActionOutcome> {
  return transaction(db, async (client) => {
    const now = env.now();
    const blocked: { outcome?: ActionOutcome } = {};
    const changed = await applyToIncidents(client, env, [alertId], mutateFor(op, actor, now, blocked));
    const [incident] = changed;
    if (!incident) return blocked.outcome ?? { kind: "stale" };
    await recordOperatorChange(client, env, changed, op, actor, now);
    await writeAudit(client, {
      actor: auditActor(actor),
      action: op === "ack" ? "alert.acknowledged" : "alert.resolved",
      target: `alert:${incident.id}`,
      details: {
        key: incident.key,
        title: incident.title,
        severity: incident.severity,
        count: incident.count,
      },
    });
    return { kind: "done", count: 1 };
  });
}

/** `al:sil:<id>:<4h>`: silences the incident's key for that long. */
export async function silenceIncident(
  db: Db,
  env: AlertsEnv,
  alertId: string,
  choice: SilenceChoice,
  actor: ActorRef,
): Promise<ActionOutcome> {
  return transaction(db, async (client) => {
    const incident = await incidentById(client, alertId);
    if (!incident) return { kind: "stale" } as const;
    if (incident.status === "resolved") return { kind: "already-resolved" } as const;
    const { silence } = await createSilence(client, env, {
      key: incident.key,
      matchers: null,
      durationMs: SILENCE_CHOICES[choice],
      actor,
      via: "button",
      comment: `from the message of alert ${incident.id}`,
    });
    return { kind: "done", count: 1, until: silence.endsAt } as const;
  });
}

function groupActionLine(op: GroupAction["op"], actor: ActorRef, now: Date, count: number, until?: Date) {
  return (group: AlertGroup) => {
    group.lastAction = {
      op,
      by: actor,
      at: now.toISOString(),
      count,
      ...(until ? { until: until.toISOString() } : {}),
    };
  };
}

/** The group's row and the incidents its message shows, or null for an unknown group. */
async function shownMembers(
  client: DbClient,
  groupId: string,
): Promise<{ group: AlertGroup; members: Incident[] } | null> {
  const [group] = await groupsByIds(client, [groupId]);
  if (!group) return null;
  return { group, members: await groupMembers(client, groupId, group.epoch, { shownOnly: true }) };
}

/** `ag:ack` / `ag:res`: every incident the group's message shows that the action applies to. */
export async function actOnGroup(
  db: Db,
  env: AlertsEnv,
  groupId: string,
  op: "ack" | "res",
  actor: ActorRef,
): Promise<ActionOutcome> {
  return transaction(db, async (client) => {
    const now = env.now();
    const found = await shownMembers(client, groupId);
    if (!found) return { kind: "stale" } as const;
    const targets = found.members.filter((m) =>
      op === "ack" ? m.status === "firing" || m.status === "silenced" : m.status !== "resolved",
    );
    if (targets.length === 0) {
      return found.members.some((m) => m.status !== "resolved")
        ? ({ kind: "already-acknowledged", by: null } as const)
        : ({ kind: "already-resolved" } as const);
    }
    const blocked: { outcome?: ActionOutcome } = {};
    const mutate = mutateFor(op, actor, now, blocked);
    const changed = await applyToIncidents(
      client,
      env,
      targets.map((t) => t.id),
      // Re-checked under the row lock: an incident may have moved on since it was read.
      (incident) =>
        incident.groupId === groupId && incident.groupEpoch === found.group.epoch && mutate(incident),
      {
        extraGroups: [groupId],
        groupUpdate: (group, mine) => groupActionLine(op, actor, now, mine.length)(group),
      },
    );
    if (changed.length === 0) return blocked.outcome ?? { kind: "stale" };
    await recordOperatorChange(client, env, changed, op, actor, now);
    await writeAudit(client, {
      actor: auditActor(actor),
      action: op === "ack" ? "alert.group_acknowledged" : "alert.group_resolved",
      target: `alert_group:${groupId}`,
      details: { group: found.group.groupKey, count: changed.length, alerts: changed.map((i) => i.id) },
    });
    return { kind: "done", count: changed.length };
  });
}

/** `ag:sil:<id>:<4h>`: silences the group by its labels (this storm and its next alerts). */
export async function silenceGroup(
  db: Db,
  env: AlertsEnv,
  groupId: string,
  choice: SilenceChoice,
  actor: ActorRef,
): Promise<ActionOutcome> {
  return transaction(db, async (client) => {
    const now = env.now();
    const found = await shownMembers(client, groupId);
    if (!found) return { kind: "stale" } as const;
    if (found.members.every((m) => m.status === "resolved")) return { kind: "already-resolved" } as const;
    const matchers: Matcher[] = Object.entries(found.group.labels).map(([name, value]) => ({
      name,
      op: "=",
      value,
    }));
    const until = new Date(now.getTime() + SILENCE_CHOICES[choice]);
    const { affected } = await createSilence(client, env, {
      key: null,
      matchers: matchers.length > 0 ? matchers : null,
      durationMs: SILENCE_CHOICES[choice],
      actor,
      via: "button",
      comment: `from the message of group ${found.group.groupKey}`,
      refresh: {
        groupUpdate: (group, mine) => groupActionLine("sil", actor, now, mine.length, until)(group),
      },
    });
    return { kind: "done", count: affected.length, until } as const;
  });
}

/** `al:sil:<id>`: the message shows the silence lengths instead of Silence…. */
export async function showIncidentPicker(db: Db, env: AlertsEnv, alertId: string): Promise<ActionOutcome> {
  return transaction(db, async (client) => {
    const peek = await incidentById(client, alertId);
    if (!peek) return { kind: "stale" } as const;
    if (peek.groupId) await lockNames(client, [groupLock(peek.groupId)]);
    const incident = await incidentById(client, alertId, { lock: true });
    if (!incident) return { kind: "stale" } as const;
    if (incident.status === "resolved") return { kind: "already-resolved" } as const;
    if (incident.groupId === null) {
      await editIncidentMessage(client, env, incident, { priority: PRIORITY.NEW_ALERT, picker: true });
      await client.query("update alerts set render_hash = $2 where id = $1", [
        incident.id,
        incident.renderHash,
      ]);
      return { kind: "done", count: 1 } as const;
    }
    return showGroupView(client, env, incident.groupId, { picker: true });
  });
}

/** `ag:sil:<id>`: the silence lengths; `ag:more:<id>:<page>`: another page of incidents. */
export async function showGroupPicker(db: Db, env: AlertsEnv, groupId: string): Promise<ActionOutcome> {
  return transaction(db, (client) => showGroupView(client, env, groupId, { picker: true }));
}

export async function showGroupPage(
  db: Db,
  env: AlertsEnv,
  groupId: string,
  page: number,
): Promise<ActionOutcome> {
  return transaction(db, (client) => showGroupView(client, env, groupId, { page }));
}

async function showGroupView(
  client: DbClient,
  env: AlertsEnv,
  groupId: string,
  view: { picker?: boolean; page?: number },
): Promise<ActionOutcome> {
  await lockNames(client, [groupLock(groupId)]);
  const [group] = await groupsByIds(client, [groupId], { lock: true });
  if (!group) return { kind: "stale" };
  const members = await groupMembers(client, groupId, group.epoch, { shownOnly: true });
  if (members.length === 0) return { kind: "stale" };
  if (view.picker && members.every((m) => m.status === "resolved")) return { kind: "already-resolved" };
  await editGroupMessage(client, env, group, members, { priority: PRIORITY.NEW_ALERT, ...view });
  await upsertGroups(client, [group]);
  return { kind: "done", count: members.length };
}
