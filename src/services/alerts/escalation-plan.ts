/**
 * When an incident next escalates, from the escalation guard, limited to the steps pitwall can
 * take here (the chat step needs Telegram; email and PagerDuty need their notifier). Stored as
 * `escalation_due_at` after every change that can move it.
 */
import { type EscalationStep, escalationPlan } from "../../guards/alerts/index.ts";
import type { AlertsEnv } from "./env.ts";
import type { Incident } from "./types.ts";

/** The chain's steps that are configured and wired, in config order. */
export function availableSteps(env: AlertsEnv, steps: readonly EscalationStep[]): EscalationStep[] {
  return steps.filter((step) => {
    if (step === "chat") return env.chats !== null;
    if (step === "email") return env.notifiers.email !== undefined;
    return env.notifiers.pagerduty !== undefined;
  });
}

export function planEscalation(incident: Incident, env: AlertsEnv, now: Date) {
  const plan = escalationPlan(incident, env.alerting, now);
  if (plan.kind === "none") return plan;
  const steps = availableSteps(env, plan.steps);
  return steps.length === 0 ? ({ kind: "none", reason: "no-channels" } as const) : { ...plan, steps };
}

export function escalationDueAt(incident: Incident, env: AlertsEnv, now: Date): Date | null {
  const plan = planEscalation(incident, env, now);
  return plan.kind === "scheduled" ? plan.dueAt : null;
}
