/**
 * The channels an escalation reaches besides the chat: email (SMTP) and PagerDuty (Events API
 * v2). The alerts service defines what it needs; `src/delivery/notifiers/` implements it. A
 * channel may answer with a result value (`{ok: false, retryable}`) or throw; both count as a
 * failure, retried by the alerts' notification job (the one retry loop for these channels).
 */

/**
 * A notifier's answer. Channels return `Promise<unknown>`: a NotifierResult is read as such, any
 * other value (nothing at all, a receipt) counts as success, a throw as a retryable failure.
 */
export type NotifierResult = { ok: true } | { ok: false; retryable: boolean; error: string };

export interface EscalationEmail {
  subject: string;
  text: string;
  html?: string;
}

/** A PagerDuty Events v2 trigger, in pitwall's words; the notifier maps it onto the API. */
export interface PagerDutyIncident {
  /** PagerDuty's dedup_key: one per pitwall incident, so acknowledge/resolve find it. */
  dedupKey: string;
  summary: string;
  severity: "critical" | "error" | "warning" | "info";
  source: string;
  /** The alert's labels, count, first/last seen, status, link. */
  customDetails: Record<string, unknown>;
  links?: Array<{ href: string; text: string }>;
}

export interface EmailNotifier {
  send(message: EscalationEmail): Promise<unknown>;
}

export interface PagerDutyNotifier {
  trigger(incident: PagerDutyIncident): Promise<unknown>;
  acknowledge(dedupKey: string): Promise<unknown>;
  resolve(dedupKey: string): Promise<unknown>;
}

export interface EscalationNotifiers {
  email?: EmailNotifier;
  pagerduty?: PagerDutyNotifier;
}

/** PagerDuty's dedup_key of an incident: stable, and never shared with another incident. */
export function pagerDutyDedupKey(alertId: string): string {
  return `pitwall-${alertId}`;
}
