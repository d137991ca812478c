/**
 * Dedup: what an incoming alert does to the incident already open under its key.
 *
 * - No incident, or only a resolved one: open a new incident (a firing after resolve is a new
 *   incident with a new id, DESIGN.md).
 * - An open incident: count + 1. Within `deduplication_window` of the LAST NOTIFICATION SENT the
 *   message is edited in place (silently); once the window has passed, a new loud message goes
 *   out, which restarts the window. The window is half-open: at exactly `window` after the last
 *   notification it has ended (Alertmanager's repeat_interval waits one tick longer; at
 *   millisecond resolution nobody can tell, and half-open matches pitwall's other windows).
 * - Acknowledged incidents never re-notify (PagerDuty's rule: someone is on it until it
 *   resolves); repeats only raise the count shown by an edit.
 * - A repeat with a higher severity than the incident's re-notifies at once, even inside the
 *   window: a warning that turns critical must ring. The latest severity wins either way.
 * - Silences are the next stage's business: a silenced incident gets the same decision, and the
 *   silence stage turns any notification into none.
 * - Resolve of an open incident resolves it; of an unknown or already resolved key it changes
 *   nothing (the sender still hears `resolved`: resolves are idempotent).
 */
import { severityRank } from "./severity.ts";
import type { AlertInputStatus, IncidentStatus, Severity } from "./types.ts";

export interface DedupIncident {
  status: IncidentStatus;
  count: number;
  severity: Severity;
  /** When its last new message (first or re-notification) was sent; null: never (yet). */
  lastNotifiedAt: Date | null;
}

export interface DedupAlert {
  status: AlertInputStatus;
  severity: Severity;
}

export interface DedupConfig {
  /** Milliseconds (config `alerting.suppression.deduplication_window`). */
  deduplication_window: number;
}

export type RepeatReason =
  | "within-window"
  | "window-elapsed"
  | "never-notified"
  | "severity-raised"
  | "acknowledged";

export type DedupDecision =
  | { action: "open"; count: 1 }
  | {
      action: "repeat";
      /** edit: update the existing message silently; renotify: send a new, loud message. */
      notify: "edit" | "renotify";
      reason: RepeatReason;
      count: number;
      severity: Severity;
    }
  /** notify none: nothing was ever sent for it (silenced, inhibited), so there is nothing to edit. */
  | { action: "resolve"; notify: "edit" | "none" }
  | { action: "ignore-resolved" };

/** What the ingest answer says (`status` of `202 {id, key, status, count}`). */
export type IngestStatus = "new" | "deduplicated" | "resolved" | "silenced";

export function dedupDecision(
  incident: DedupIncident | null,
  alert: DedupAlert,
  now: Date,
  cfg: DedupConfig,
): DedupDecision {
  const open = incident !== null && incident.status !== "resolved";
  if (alert.status === "resolved") {
    if (!open) return { action: "ignore-resolved" };
    return { action: "resolve", notify: incident.lastNotifiedAt === null ? "none" : "edit" };
  }
  if (!open) return { action: "open", count: 1 };
  const repeat = { action: "repeat", count: incident.count + 1, severity: alert.severity } as const;
  if (incident.status === "acknowledged") return { ...repeat, notify: "edit", reason: "acknowledged" };
  // Never notified yet: silenced or inhibited at open, or still in group_wait. Ask for a message;
  // the silence stage or the group's pending flush absorbs it.
  if (incident.lastNotifiedAt === null) return { ...repeat, notify: "renotify", reason: "never-notified" };
  if (severityRank(alert.severity) > severityRank(incident.severity)) {
    return { ...repeat, notify: "renotify", reason: "severity-raised" };
  }
  const sinceNotified = now.getTime() - incident.lastNotifiedAt.getTime();
  return sinceNotified < cfg.deduplication_window
    ? { ...repeat, notify: "edit", reason: "within-window" }
    : { ...repeat, notify: "renotify", reason: "window-elapsed" };
}

/** When a repeat would re-notify (the dedup window's end), or null when none would. */
export function dedupWindowEndsAt(incident: DedupIncident, cfg: DedupConfig): Date | null {
  if (incident.status === "resolved" || incident.status === "acknowledged") return null;
  if (incident.lastNotifiedAt === null) return null;
  return new Date(incident.lastNotifiedAt.getTime() + cfg.deduplication_window);
}

/** The status the sender is answered with; `silenced` when the silence stage matched the alert. */
export function ingestStatus(decision: DedupDecision, silenced: boolean): IngestStatus {
  switch (decision.action) {
    case "resolve":
    case "ignore-resolved":
      return "resolved";
    case "open":
      return silenced ? "silenced" : "new";
    case "repeat":
      return silenced ? "silenced" : "deduplicated";
  }
}
