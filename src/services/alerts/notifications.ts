/**
 * Email and PagerDuty messages of escalations, durable: queued as `alert_notifications` rows in
 * the transaction of the state change (escalated, acknowledged, resolved), delivered by the
 * leader's job in order per incident and channel, retried with the report's policy (3 attempts,
 * 1 s .. 60 s), then every minute for a day. The one retry loop for these channels.
 */
import { DEFAULT_RETRY_POLICY, retryDelay } from "../../guards/retry-policy.ts";
import { type Db, type DbClient, inTransaction } from "../../store/pool.ts";
import type { AlertsEnv } from "./env.ts";
import {
  type EscalationEmail,
  type NotifierResult,
  type PagerDutyIncident,
  pagerDutyDedupKey,
} from "./notifiers.ts";
import { insertEvents } from "./store.ts";
import type { Incident } from "./types.ts";

export type NotificationChannel = "email" | "pagerduty";
export type NotificationAction = "send" | "trigger" | "acknowledge" | "resolve";

/** After the policy's attempts, a failing row is tried this often until it is a day old. */
const STEADY_RETRY_MS = 60_000;
const GIVE_UP_AFTER_MS = 24 * 3_600_000;
/** A claimed row is anyone's again after this (a leader that died mid-call). */
const CLAIM_MS = 120_000;

export async function queueNotification(
  client: Pick<DbClient, "query">,
  row: {
    alertId: string;
    channel: NotificationChannel;
    action: NotificationAction;
    payload: unknown;
    now: Date;
  },
): Promise<void> {
  await client.query(
    `insert into alert_notifications (alert_id, channel, action, payload, next_attempt_at, created_at)
     values ($1, $2, $3, $4, $5, $5)`,
    [row.alertId, row.channel, row.action, JSON.stringify(row.payload), row.now],
  );
}

/** Tells PagerDuty an escalated incident was acknowledged or resolved (nothing if it never was). */
export async function queuePagerDutyFollowUp(
  client: Pick<DbClient, "query">,
  env: AlertsEnv,
  incident: Incident,
  action: "acknowledge" | "resolve",
): Promise<void> {
  if (!incident.pagerdutyTriggered || !env.notifiers.pagerduty) return;
  await queueNotification(client, {
    alertId: incident.id,
    channel: "pagerduty",
    action,
    payload: { dedupKey: pagerDutyDedupKey(incident.id) },
    now: env.now(),
  });
}

interface NotificationRow {
  id: number;
  alert_id: string;
  channel: NotificationChannel;
  action: NotificationAction;
  payload: unknown;
  attempts: number;
  created_at: Date;
}

const CLAIM_SQL = `
  with picked as (
    select n.id from alert_notifications n
     where n.status = 'pending' and n.next_attempt_at <= $1
       and not exists (
         select 1 from alert_notifications p
          where p.alert_id = n.alert_id and p.channel = n.channel and p.status = 'pending' and p.id < n.id)
     order by n.id
     limit $2
     for update skip locked)
  update alert_notifications u set attempts = u.attempts + 1, next_attempt_at = $3
    from picked where u.id = picked.id
  returning u.id, u.alert_id, u.channel, u.action, u.payload, u.attempts, u.created_at`;

function isFailure(value: unknown): value is Extract<NotifierResult, { ok: false }> {
  return typeof value === "object" && value !== null && (value as { ok?: unknown }).ok === false;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function call(env: AlertsEnv, row: NotificationRow): Promise<NotifierResult> {
  const { email, pagerduty } = env.notifiers;
  try {
    let result: unknown;
    if (row.channel === "email") {
      if (!email) return { ok: false, retryable: false, error: "no email notifier is configured" };
      result = await email.send(row.payload as EscalationEmail);
    } else {
      if (!pagerduty) return { ok: false, retryable: false, error: "no PagerDuty notifier is configured" };
      const dedupKey = (row.payload as { dedupKey: string }).dedupKey;
      if (row.action === "trigger") result = await pagerduty.trigger(row.payload as PagerDutyIncident);
      else if (row.action === "acknowledge") result = await pagerduty.acknowledge(dedupKey);
      else result = await pagerduty.resolve(dedupKey);
    }
    if (!isFailure(result)) return { ok: true };
    return { ok: false, retryable: result.retryable === true, error: String(result.error ?? "failed") };
  } catch (err) {
    return { ok: false, retryable: true, error: describe(err) };
  }
}

/**
 * Delivers due rows (the leader's job); returns how many were sent. Claims again after each round,
 * so a follow-up queued behind a row just sent (acknowledge behind trigger) goes out in the same run.
 */
export async function deliverNotifications(db: Db, env: AlertsEnv, limit = 20): Promise<number> {
  let sent = 0;
  for (let round = 0; round < 10; round++) {
    const result = await deliverRound(db, env, limit);
    sent += result.sent;
    if (result.claimed === 0) break;
  }
  return sent;
}

async function deliverRound(
  db: Db,
  env: AlertsEnv,
  limit: number,
): Promise<{ sent: number; claimed: number }> {
  const now = env.now();
  const { rows } = await db.query<NotificationRow>(CLAIM_SQL, [
    now,
    limit,
    new Date(now.getTime() + CLAIM_MS),
  ]);
  let sent = 0;
  for (const row of rows) {
    const result = await call(env, row);
    const at = env.now();
    await inTransaction(db, async (client) => {
      if (result.ok) {
        sent++;
        await client.query(
          "update alert_notifications set status = 'sent', sent_at = $2, last_error = null where id = $1",
          [row.id, at],
        );
        await insertEvents(client, [
          {
            alertId: row.alert_id,
            at,
            kind: "notified",
            details: { channel: row.channel, action: row.action },
          },
        ]);
        return;
      }
      const age = at.getTime() - row.created_at.getTime();
      const giveUp = !result.retryable || age >= GIVE_UP_AFTER_MS;
      const delay =
        row.attempts < DEFAULT_RETRY_POLICY.max_attempts
          ? retryDelay(row.attempts, { ...DEFAULT_RETRY_POLICY, jitter: false })
          : STEADY_RETRY_MS;
      await client.query(
        `update alert_notifications set status = $2, last_error = $3, next_attempt_at = $4 where id = $1`,
        [row.id, giveUp ? "failed" : "pending", result.error.slice(0, 500), new Date(at.getTime() + delay)],
      );
      if (giveUp) {
        await insertEvents(client, [
          {
            alertId: row.alert_id,
            at,
            kind: "notification_failed",
            details: { channel: row.channel, action: row.action, error: result.error.slice(0, 500) },
          },
        ]);
      }
      const log = { alert: row.alert_id, channel: row.channel, action: row.action, attempts: row.attempts };
      if (giveUp) env.log.error({ ...log, error: result.error }, "escalation notification failed for good");
      else env.log.warn({ ...log, error: result.error }, "escalation notification failed; will retry");
    });
  }
  return { sent, claimed: rows.length };
}
