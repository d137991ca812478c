/**
 * Loudness follows severity (DESIGN.md, Telegram): critical notifies; warning notifies outside
 * quiet hours; info, resolved edits, approvals' outcomes and the digest are sent silently
 * (`disable_notification`). Pure: the clock is an argument.
 */

export type Severity = "critical" | "warning" | "info";

/**
 * What a message is for. Kinds that never ring: `resolved`, `approval_outcome`, `digest`.
 * `escalation` always rings (DESIGN: "a new, loud message"). `approval_prompt` rings like a
 * warning: a human is waiting for it, but quiet hours still hold (only critical is loud then).
 */
export type MessageKind =
  | "alert"
  | "alert_update"
  | "resolved"
  | "escalation"
  | "approval_prompt"
  | "approval_outcome"
  | "digest"
  | "mode_change"
  | "budget"
  | "reply";

/** `from`/`to` are "HH:MM" in `timezone` (IANA name, default UTC); a window may cross midnight. */
export interface QuietHours {
  from: string;
  to: string;
  timezone?: string;
}

export interface LoudnessInput {
  severity: Severity | "resolved";
  kind?: MessageKind;
  now: Date;
  quietHours?: QuietHours | null;
}

const ALWAYS_SILENT: ReadonlySet<MessageKind> = new Set(["resolved", "approval_outcome", "digest"]);

/** True when the message must go out with `disable_notification`. */
export function isSilent(input: LoudnessInput): boolean {
  if (input.kind === "escalation") return false;
  if (input.severity === "resolved" || (input.kind !== undefined && ALWAYS_SILENT.has(input.kind)))
    return true;
  if (input.severity === "critical") return false;
  if (input.severity === "info") return true;
  // warning (and approval prompts, which callers send as warning)
  return input.quietHours ? inQuietHours(input.now, input.quietHours) : false;
}

/** Minutes after midnight of an "HH:MM" (00:00 .. 23:59; "24:00" means the end of the day). */
export function parseClock(value: string): number {
  const match = /^([01]?\d|2[0-4]):([0-5]\d)$/.exec(value.trim());
  if (!match) throw new RangeError(`quiet hours time ${JSON.stringify(value)} is not HH:MM (e.g. "23:00")`);
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  if (minutes > 24 * 60) throw new RangeError(`quiet hours time ${JSON.stringify(value)} is past 24:00`);
  return minutes;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (!formatter) {
    // Throws RangeError for an unknown zone; config validation calls inQuietHours once to surface it.
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

/** Minutes after local midnight of `now` in `timezone`. */
export function localMinutes(now: Date, timezone = "UTC"): number {
  let hour = 0;
  let minute = 0;
  for (const part of formatterFor(timezone).formatToParts(now)) {
    if (part.type === "hour") hour = Number(part.value) % 24;
    else if (part.type === "minute") minute = Number(part.value);
  }
  return hour * 60 + minute;
}

/**
 * Whether `now` falls in the window: `from` inclusive, `to` exclusive. A window whose end is
 * not after its start crosses midnight (23:00-07:00); equal ends mean no quiet hours at all.
 */
export function inQuietHours(now: Date, quiet: QuietHours): boolean {
  const from = parseClock(quiet.from);
  const to = parseClock(quiet.to);
  if (from === to) return false;
  const t = localMinutes(now, quiet.timezone ?? "UTC");
  return from < to ? t >= from && t < to : t >= from || t < to;
}
