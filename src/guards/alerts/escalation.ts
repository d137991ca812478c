/**
 * Escalation timing: an unacknowledged incident at or above `escalation.min_severity` escalates
 * `suppression.escalation_delay` after its first notification, then again every
 * `escalation.repeat` after the previous escalation, until acknowledged or resolved.
 *
 * - Each escalation fires the whole chain in config order (escalation chat as a new loud message,
 *   email, PagerDuty trigger). PagerDuty deduplicates repeated triggers on the dedup_key, so
 *   repeats only re-assert the incident there; chat and email are the reminders. Steps whose
 *   channel is not configured (`alerting.email` / `alerting.pagerduty` null) are left out.
 * - Repeats count from the previous escalation actually sent, not from a fixed grid: a leader
 *   that was down for an hour sends one overdue escalation, not a burst of catch-ups.
 * - Acknowledged or resolved: never. Silenced: nothing before the silence ends, and then not
 *   before `escalation_delay` after its end, so the chat gets its chance first, as after a first
 *   notification. A silence without a known end (status silenced, no silencedUntil): never.
 * - Never notified (inhibited, or waiting for group_wait): nothing to escalate yet.
 */
import { isAtLeast } from "./severity.ts";
import type { IncidentStatus, Severity } from "./types.ts";

export type EscalationStep = "chat" | "email" | "pagerduty";

export interface EscalationIncident {
  severity: Severity;
  status: IncidentStatus;
  /** When it was first shown in chat (its own message or its group's); null: not yet. */
  firstNotifiedAt: Date | null;
  /** When it last escalated; null: never. */
  lastEscalatedAt: Date | null;
  /** Escalations sent so far. */
  escalations: number;
  silencedUntil?: Date | null | undefined;
}

/** The parts of config `alerting` escalation reads. */
export interface EscalationConfig {
  suppression: { escalation_delay: number };
  escalation: { min_severity: Severity; chain: readonly EscalationStep[]; repeat: number };
  /** null: email not configured, its step is skipped. */
  email: object | null;
  /** null: PagerDuty not configured, its step is skipped. */
  pagerduty: object | null;
}

export type NoEscalationReason =
  | "resolved"
  | "acknowledged"
  | "silenced"
  | "below-min-severity"
  | "not-notified"
  | "no-channels";

export type EscalationPlan =
  | { kind: "none"; reason: NoEscalationReason }
  | {
      kind: "scheduled";
      /** When the next escalation is due (store it; the leader's job claims due rows). */
      dueAt: Date;
      /** Whether it is due at `now`. */
      due: boolean;
      /** 1 for the first escalation, 2 for the first repeat, ... */
      step: number;
      steps: EscalationStep[];
    };

/** The chain's steps that have a configured channel, in config order. */
export function escalationSteps(cfg: EscalationConfig): EscalationStep[] {
  return cfg.escalation.chain.filter(
    (step) => (step !== "email" || cfg.email !== null) && (step !== "pagerduty" || cfg.pagerduty !== null),
  );
}

export function escalationPlan(
  incident: EscalationIncident,
  cfg: EscalationConfig,
  now: Date,
): EscalationPlan {
  if (incident.status === "resolved") return { kind: "none", reason: "resolved" };
  if (incident.status === "acknowledged") return { kind: "none", reason: "acknowledged" };
  if (!isAtLeast(incident.severity, cfg.escalation.min_severity)) {
    return { kind: "none", reason: "below-min-severity" };
  }
  if (incident.firstNotifiedAt === null) return { kind: "none", reason: "not-notified" };
  const silencedUntil = incident.silencedUntil ?? null;
  if (incident.status === "silenced" && silencedUntil === null) return { kind: "none", reason: "silenced" };
  const steps = escalationSteps(cfg);
  if (steps.length === 0) return { kind: "none", reason: "no-channels" };

  const delay = cfg.suppression.escalation_delay;
  let dueAt =
    incident.lastEscalatedAt === null
      ? incident.firstNotifiedAt.getTime() + delay
      : incident.lastEscalatedAt.getTime() + cfg.escalation.repeat;
  // A silence that has ended still pushes the next escalation to escalation_delay after its end.
  if (silencedUntil !== null) dueAt = Math.max(dueAt, silencedUntil.getTime() + delay);
  return {
    kind: "scheduled",
    dueAt: new Date(dueAt),
    due: now.getTime() >= dueAt,
    step: incident.escalations + 1,
    steps,
  };
}
