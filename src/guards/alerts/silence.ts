/**
 * Silences: the stage after grouping that keeps matching alerts quiet until an end time. A
 * silence names one incident key (the Silence… button), or label matchers (`/silence
 * alertname="X" 4h`), or both (both must hold). Active from `startsAt` (default: always) until
 * `endsAt`, excluded, as in Alertmanager. Silenced alerts are still recorded and counted.
 */
import { type Matcher, matchesAll, parseSilenceMatchers } from "./matchers.ts";
import type { Labels } from "./types.ts";

export {
  checkMatcherRegex,
  formatMatchers,
  type Matcher,
  type MatchOp,
  matchesAll,
  parseMatchers,
  parseSilenceMatchers,
} from "./matchers.ts";

export interface Silence {
  id: string;
  /** Silences the incident with this key; null or absent: by matchers only. */
  key?: string | null;
  matchers?: readonly Matcher[] | null;
  startsAt?: Date | null;
  endsAt: Date;
}

export interface SilenceSubject {
  key: string;
  labels: Labels;
}

export type SilenceTarget =
  | { ok: true; kind: "key"; key: string }
  | { ok: true; kind: "matchers"; matchers: Matcher[] }
  | { ok: false; error: string };

export function isSilenceActive(silence: Silence, now: Date): boolean {
  const t = now.getTime();
  if (silence.startsAt && silence.startsAt.getTime() > t) return false;
  return t < silence.endsAt.getTime();
}

/** Whether this silence covers the alert; one with neither key nor matchers covers nothing. */
export function silenceCovers(silence: Silence, alert: SilenceSubject): boolean {
  const hasKey = silence.key !== undefined && silence.key !== null;
  const hasMatchers =
    silence.matchers !== undefined && silence.matchers !== null && silence.matchers.length > 0;
  if (!hasKey && !hasMatchers) return false;
  if (hasKey && silence.key !== alert.key) return false;
  return !hasMatchers || matchesAll(alert.labels, silence.matchers ?? []);
}

/**
 * The active silence covering the alert, or null. When several do, the one ending last, so the
 * incident shows how long it will really stay quiet (`silenced_until`).
 */
export function matchingSilence(
  alert: SilenceSubject,
  silences: readonly Silence[],
  now: Date,
): Silence | null {
  let best: Silence | null = null;
  for (const silence of silences) {
    if (!isSilenceActive(silence, now) || !silenceCovers(silence, alert)) continue;
    if (best === null || silence.endsAt.getTime() > best.endsAt.getTime()) best = silence;
  }
  return best;
}

/** The id of the active silence covering the alert (see matchingSilence), or null. */
export function isSilenced(alert: SilenceSubject, silences: readonly Silence[], now: Date): string | null {
  return matchingSilence(alert, silences, now)?.id ?? null;
}

const LOOKS_LIKE_MATCHER = /^\s*(\{|[a-zA-Z_][a-zA-Z0-9_]*\s*(=|!=|=~|!~))/;

/**
 * What `/silence <target>` names: label matchers when the text starts like one (`{` or
 * `name=`, `name!=`, `name=~`, `name!~`), else an incident key. A key that itself looks like a
 * matcher is silenced with the message's Silence… button instead.
 */
export function parseSilenceTarget(text: string): SilenceTarget {
  if (LOOKS_LIKE_MATCHER.test(text)) {
    const parsed = parseSilenceMatchers(text);
    return parsed.ok ? { ok: true, kind: "matchers", matchers: parsed.matchers } : parsed;
  }
  const key = text.trim();
  if (key === "") {
    return { ok: false, error: 'name an alert key or label matchers like alertname="HighLatency"' };
  }
  return { ok: true, kind: "key", key };
}

/** Null when a silence may be created with these times, else why not. */
export function checkSilenceWindow(startsAt: Date | null, endsAt: Date, now: Date): string | null {
  if (Number.isNaN(endsAt.getTime())) return "the end time is not a valid time";
  if (endsAt.getTime() <= now.getTime()) return "the end time is in the past; give a duration like 1h";
  if (startsAt !== null) {
    if (Number.isNaN(startsAt.getTime())) return "the start time is not a valid time";
    if (startsAt.getTime() >= endsAt.getTime()) return "the silence would end before it starts";
  }
  return null;
}
