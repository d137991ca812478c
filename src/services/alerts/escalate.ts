/**
 * The leader's escalation job. Incidents whose `escalation_due_at` has come are claimed with
 * `FOR UPDATE SKIP LOCKED` (a brief second leader, or an operator acknowledging right now, is
 * simply skipped), re-planned from their current state, and escalated along the chain: a new,
 * loud message in the escalation chat, an email and a PagerDuty trigger queued as durable
 * notifications. The next reminder is planned `escalation.repeat` later; acknowledge or resolve
 * clears it. Each escalation is an alert event and an audit row. Due times live in Postgres, so
 * escalation survives restarts.
 */
import { renderPlain } from "../../bot/format/index.ts";
import { enqueue, PRIORITY } from "../../delivery/index.ts";
import { writeAudit } from "../../store/audit.ts";
import type { Db, DbClient } from "../../store/pool.ts";
import type { AlertsEnv } from "./env.ts";
import { planEscalation } from "./escalation-plan.ts";
import { queueNotification } from "./notifications.ts";
import { type PagerDutyIncident, pagerDutyDedupKey } from "./notifiers.ts";
import { incidentParts, renderEscalation } from "./render.ts";
import { insertEvents, toIncident, updateIncidents } from "./store.ts";
import { transaction } from "./tx.ts";
import type { Incident } from "./types.ts";

function pagerDutyIncident(incident: Incident, step: number): PagerDutyIncident {
  const out: PagerDutyIncident = {
    dedupKey: pagerDutyDedupKey(incident.id),
    summary: incident.title.slice(0, 1024),
    severity: incident.severity,
    source: incident.source ?? "pitwall",
    customDetails: {
      key: incident.key,
      status: incident.status,
      count: incident.count,
      first_seen: incident.firstSeen.toISOString(),
      last_seen: incident.lastSeen.toISOString(),
      labels: incident.labels,
      escalation: step,
      ...(incident.text ? { text: incident.text.slice(0, 4000) } : {}),
    },
  };
  if (incident.url) out.links = [{ href: incident.url, text: "source" }];
  return out;
}

/** Escalates every incident due now (at most `limit` per run); returns how many escalated. */
export async function runEscalations(db: Db, env: AlertsEnv, limit = 50): Promise<number> {
  return transaction(db, async (client) => {
    const now = env.now();
    const { rows } = await client.query(
      `select * from alerts where escalation_due_at <= $1
        order by escalation_due_at limit $2 for update skip locked`,
      [now, limit],
    );
    const incidents = rows.map(toIncident);
    let escalated = 0;
    for (const incident of incidents) {
      const plan = planEscalation(incident, env, now);
      if (plan.kind === "none" || !plan.due) {
        incident.escalationDueAt = plan.kind === "none" ? null : plan.dueAt;
        continue;
      }
      await escalate(client, env, incident, plan.step, plan.steps, now);
      escalated++;
      const next = planEscalation(incident, env, now);
      incident.escalationDueAt = next.kind === "scheduled" ? next.dueAt : null;
    }
    await updateIncidents(client, incidents);
    return escalated;
  });
}

async function escalate(
  client: DbClient,
  env: AlertsEnv,
  incident: Incident,
  step: number,
  steps: readonly string[],
  now: Date,
): Promise<void> {
  if (steps.includes("chat") && env.chats) {
    const rendered = renderEscalation(incident, step, env.texts);
    await enqueue(client, {
      method: "sendMessage",
      kind: "escalation",
      priority: PRIORITY.NEW_ALERT,
      chat: env.chats.escalation,
      parts: rendered.parts,
      // DESIGN.md: an escalation is a new, loud message, quiet hours or not.
      silent: false,
      messageRef: `escalation:${incident.id}:${step}`,
      ...(rendered.keyboard ? { replyMarkup: rendered.keyboard } : {}),
    });
  }
  if (steps.includes("email")) {
    const text = renderPlain(incidentParts(incident, env.texts), { maxLength: 100_000 }).text;
    await queueNotification(client, {
      alertId: incident.id,
      channel: "email",
      action: "send",
      now,
      payload: {
        subject: env.texts.t("alert-escalation-subject", {
          step,
          severity: incident.severity.toUpperCase(),
          title: incident.title.slice(0, 200),
        }),
        text: `${env.texts.t("alert-escalation-header", { step, since: env.texts.clock(incident.firstNotifiedAt ?? incident.firstSeen) })}\n\n${text}\n`,
      },
    });
  }
  if (steps.includes("pagerduty")) {
    await queueNotification(client, {
      alertId: incident.id,
      channel: "pagerduty",
      action: "trigger",
      now,
      payload: pagerDutyIncident(incident, step),
    });
    incident.pagerdutyTriggered = true;
  }
  incident.escalations += 1;
  incident.lastEscalatedAt = now;
  await insertEvents(client, [
    { alertId: incident.id, at: now, kind: "escalated", details: { step, steps } },
  ]);
  await writeAudit(client, {
    actor: { type: "system", id: "escalation", name: "escalation" },
    action: "alert.escalated",
    target: `alert:${incident.id}`,
    details: { key: incident.key, title: incident.title, severity: incident.severity, step, steps },
  });
}
