/**
 * When digests are due. The digest is daily: its date is the local date (digest.timezone) of the
 * schedule's first time on that day, and a schedule that fires several times a day still makes
 * one digest (the first claims the date). The cron expression is read with node-cron's own
 * matcher, so this agrees with the job runner about which instants match.
 */
import cron from "node-cron";
import { startOfLocalDay } from "../../guards/budget-window.ts";
import { addDays, localDate, localParts, parseDate } from "./time.ts";

const MINUTE = 60_000;
/** How far back the catch-up looks for the latest scheduled run (a weekly schedule still finds one). */
const LOOKBACK_DAYS = 8;

export interface DigestSlot {
  /** Local date in the digest's time zone: `2030-01-15`. */
  date: string;
  /** The scheduled instant (epoch ms). */
  at: number;
}

export interface DigestSchedule {
  readonly expression: string;
  readonly timeZone: string;
  /** The schedule's first instant on local date `date`, or null when it does not run that day. */
  firstRunOn(date: string): number | null;
  /** The latest scheduled run at or before `now` (within the last week), or null. */
  latestSlot(now: number): DigestSlot | null;
  /** Frees the matcher. */
  close(): void;
}

export function digestSchedule(expression: string, timeZone: string): DigestSchedule {
  const fields = cron.parse(expression);
  const firstSecond = Math.min(...fields.second);
  const hours = new Set(fields.hour);
  const minutes = new Set(fields.minute);
  // A stopped task is only used for its matcher (day-of-month/-week rules, L and # tokens).
  const matcher = cron.createTask(expression, () => undefined, { timezone: timeZone });
  const cache = new Map<string, number | null>();

  const firstRunOn = (date: string): number | null => {
    const cached = cache.get(date);
    if (cached !== undefined) return cached;
    const { year, month, day } = parseDate(date);
    const start = startOfLocalDay(year, month, day, timeZone);
    const end = startOfLocalDay(year, month, day + 1, timeZone);
    let found: number | null = null;
    // Real instants minute by minute: days of 23 or 25 hours (DST) come out right by themselves.
    for (let minute = start; minute < end && found === null; minute += MINUTE) {
      const local = localParts(minute, timeZone);
      if (!hours.has(local.hour) || !minutes.has(local.minute)) continue;
      const candidate = minute + firstSecond * 1000;
      if (matcher.match(new Date(candidate))) found = candidate;
    }
    if (cache.size > 64) cache.clear();
    cache.set(date, found);
    return found;
  };

  return {
    expression,
    timeZone,
    firstRunOn,
    latestSlot(now) {
      const today = localDate(now, timeZone);
      for (let back = 0; back <= LOOKBACK_DAYS; back += 1) {
        const date = addDays(today, -back);
        const at = firstRunOn(date);
        if (at !== null && at <= now) return { date, at };
      }
      return null;
    },
    close() {
      void matcher.destroy();
    },
  };
}
