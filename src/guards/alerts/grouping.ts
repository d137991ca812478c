/**
 * Grouping, as Alertmanager's dispatcher does it, in pure functions: when a group's message is
 * sent or updated, and what it shows.
 *
 * Timing: the first message goes out `group_wait` after the group's first alert (so a burst
 * arrives as one message); later changes are batched and shown at most every `group_interval`.
 * Where Alertmanager ticks on a fixed grid, pitwall flushes a change that arrives after a quiet
 * spell `group_wait` after it (a new burst is collected like a new group), never sooner than
 * `group_interval` after the previous flush.
 *
 * Loudness: edits are silent in Telegram, so a change that would have rung on its own (a new
 * incident, a re-notification) marks the pending flush loud; the notify stage then sends a new
 * message instead of an edit.
 */
import { maxSeverity } from "./severity.ts";
import type { IncidentStatus, Severity } from "./types.ts";

export const GROUP_PAGE_SIZE = 20;

export interface GroupTimingConfig {
  /** Milliseconds (config `alerting.grouping.group_wait`). */
  group_wait: number;
  /** Milliseconds (config `alerting.grouping.group_interval`). */
  group_interval: number;
}

export interface GroupState {
  /** When the group got its first alert (since its message was started). */
  firstAlertAt: Date;
  /** When its message was last sent or edited; null: not yet. */
  lastFlushAt: Date | null;
  /** The earliest change its message does not show yet; null: up to date. */
  pendingSince: Date | null;
  /** Whether a pending change should ring (new incident, re-notification). */
  pendingLoud: boolean;
}

export type FlushMode = "send" | "renotify" | "edit";

/** A change to a group (an alert joined, repeated, resolved...); null state: the group is new. */
export function groupOnChange(
  state: GroupState | null,
  now: Date,
  opts: { loud?: boolean } = {},
): GroupState {
  const loud = opts.loud ?? false;
  if (state === null) return { firstAlertAt: now, lastFlushAt: null, pendingSince: now, pendingLoud: loud };
  return { ...state, pendingSince: state.pendingSince ?? now, pendingLoud: state.pendingLoud || loud };
}

/** The state after its message was sent or edited at `now`. */
export function groupAfterFlush(state: GroupState, now: Date): GroupState {
  return { ...state, lastFlushAt: now, pendingSince: null, pendingLoud: false };
}

/** When the group's message should next be sent or edited; null when it is up to date. */
export function nextFlushAt(state: GroupState, cfg: GroupTimingConfig): Date | null {
  if (state.pendingSince === null) return null;
  if (state.lastFlushAt === null) return new Date(state.firstAlertAt.getTime() + cfg.group_wait);
  return new Date(
    Math.max(state.lastFlushAt.getTime() + cfg.group_interval, state.pendingSince.getTime() + cfg.group_wait),
  );
}

export function shouldFlush(state: GroupState, cfg: GroupTimingConfig, now: Date): boolean {
  const at = nextFlushAt(state, cfg);
  return at !== null && now.getTime() >= at.getTime();
}

/** How the flush goes out: first message, a new loud one, or a silent edit. */
export function flushMode(state: GroupState): FlushMode {
  if (state.lastFlushAt === null) return "send";
  return state.pendingLoud ? "renotify" : "edit";
}

// ---- content --------------------------------------------------------------------------------

/** What the group message needs of each incident; the service's rows pass as they are. */
export interface GroupMember {
  key: string;
  severity: Severity;
  status: IncidentStatus;
  count: number;
  lastSeen: Date;
}

export interface GroupCounts {
  incidents: number;
  /** Alerts received, repeats included (sum of counts). */
  alerts: number;
  /** Open (not resolved) incidents per severity. */
  bySeverity: Record<Severity, number>;
  byStatus: Record<IncidentStatus, number>;
}

export type GroupMessagePlan<T extends GroupMember> =
  | { kind: "empty" }
  /** A group of one shows that incident's own message (and `al:` buttons), DESIGN.md. */
  | { kind: "single"; incident: T }
  | {
      kind: "group";
      counts: GroupCounts;
      /** Worst severity among open incidents; null when all are resolved. */
      worst: Severity | null;
      /** The first page: up to 20 incidents, as `pageOf(…, 0)`. */
      top: T[];
      /** Incidents not on the first page (the `+N more` button). */
      more: number;
      pages: number;
    };

export interface Page<T> {
  items: T[];
  /** 0-based; page 0 is the list the group message itself shows. */
  page: number;
  pages: number;
  total: number;
}

/**
 * Display order: open incidents before resolved ones (an operator acts on those), then by count
 * (the noisiest first), then most recently seen, then key, so pages are stable between presses.
 */
export function compareGroupMembers(a: GroupMember, b: GroupMember): number {
  const openA = a.status === "resolved" ? 1 : 0;
  const openB = b.status === "resolved" ? 1 : 0;
  if (openA !== openB) return openA - openB;
  if (a.count !== b.count) return b.count - a.count;
  const seen = b.lastSeen.getTime() - a.lastSeen.getTime();
  if (seen !== 0) return seen;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function groupCounts(incidents: readonly GroupMember[]): GroupCounts {
  const counts: GroupCounts = {
    incidents: incidents.length,
    alerts: 0,
    bySeverity: { critical: 0, warning: 0, info: 0 },
    byStatus: { firing: 0, acknowledged: 0, silenced: 0, resolved: 0 },
  };
  for (const incident of incidents) {
    counts.alerts += incident.count;
    counts.byStatus[incident.status] += 1;
    if (incident.status !== "resolved") counts.bySeverity[incident.severity] += 1;
  }
  return counts;
}

export function planGroupMessage<T extends GroupMember>(
  incidents: readonly T[],
  opts: { pageSize?: number } = {},
): GroupMessagePlan<T> {
  const [first] = incidents;
  if (first === undefined) return { kind: "empty" };
  if (incidents.length === 1) return { kind: "single", incident: first };
  const page = pageOf(incidents, 0, opts.pageSize);
  return {
    kind: "group",
    counts: groupCounts(incidents),
    worst: maxSeverity(incidents.filter((i) => i.status !== "resolved").map((i) => i.severity)),
    top: page.items,
    more: incidents.length - page.items.length,
    pages: page.pages,
  };
}

/**
 * One page of a group's incidents in display order. A page past the end (a stale button after
 * incidents left the group) shows the last page; a negative or non-integer one the first.
 */
export function pageOf<T extends GroupMember>(
  incidents: readonly T[],
  page: number,
  pageSize: number = GROUP_PAGE_SIZE,
): Page<T> {
  const size = Math.max(1, Math.floor(pageSize));
  const pages = Math.max(1, Math.ceil(incidents.length / size));
  const wanted = Number.isInteger(page) && page > 0 ? page : 0;
  const current = Math.min(wanted, pages - 1);
  const sorted = [...incidents].sort(compareGroupMembers);
  return {
    items: sorted.slice(current * size, (current + 1) * size),
    page: current,
    pages,
    total: incidents.length,
  };
}
