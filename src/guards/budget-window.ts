/**
 * Budget windows computed from the clock: there is no reset job that could fail. A daily window
 * runs from local midnight to the next local midnight in the budget's time zone (23 or 25 hours
 * on DST days); a monthly one from 00:00 on the 1st to 00:00 on the next 1st. Where a zone skips
 * midnight (America/Santiago springs from 00:00 to 01:00), the day starts at the first instant
 * that belongs to it. Times are epoch milliseconds.
 */

export type WindowKind = "daily" | "monthly";

export interface BudgetWindow {
  /** The first instant of the window (inclusive). */
  start: number;
  /** The first instant of the next window (exclusive): when the budget resets. */
  end: number;
  /** Stable name of the window in its zone: `2024-03-31` (daily) or `2024-03` (monthly). */
  key: string;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    // Throws RangeError for a zone Intl does not know; the config schema has checked it already.
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The local calendar date and time of an instant in a time zone. */
export interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function wallClock(t: number, timeZone: string): WallClock {
  const wall: WallClock = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(timeZone).formatToParts(t)) {
    if (part.type in wall) wall[part.type as keyof WallClock] = Number(part.value);
  }
  wall.hour %= 24;
  return wall;
}

/** The wall-clock time at `t`, written as if it were UTC, in ms. */
function wallMs(t: number, timeZone: string): number {
  const w = wallClock(t, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) + (((t % 1000) + 1000) % 1000);
}

/** The zone's offset from UTC at instant `t`, in ms (Berlin in summer: +2 h). */
function offsetAt(t: number, timeZone: string): number {
  return wallMs(t, timeZone) - t;
}

/** The first instant of local day `year-month-day` (month 1-based; overflowing days roll over). */
export function startOfLocalDay(year: number, month: number, day: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  const candidates = [
    ...new Set([wall - DAY, wall, wall + DAY].map((probe) => wall - offsetAt(probe, timeZone))),
  ];
  const exact = candidates.filter((instant) => wallMs(instant, timeZone) === wall);
  // Local midnight happens twice when clocks fall back across it: the day starts at the first.
  if (exact.length > 0) return Math.min(...exact);
  // Midnight was skipped (clocks sprang forward at 00:00): the day starts at the jump.
  return Math.max(...candidates);
}

function pad(value: number): string {
  return String(value).padStart(2, "0");
}

/** The window `now` falls in. */
export function budgetWindow(now: number, window: WindowKind, timeZone = "UTC"): BudgetWindow {
  const local = wallClock(now, timeZone);
  if (window === "monthly") {
    const start = startOfLocalDay(local.year, local.month, 1, timeZone);
    const end = startOfLocalDay(local.year, local.month + 1, 1, timeZone);
    return { start, end, key: `${local.year}-${pad(local.month)}` };
  }
  const start = startOfLocalDay(local.year, local.month, local.day, timeZone);
  const end = startOfLocalDay(local.year, local.month, local.day + 1, timeZone);
  return { start, end, key: `${local.year}-${pad(local.month)}-${pad(local.day)}` };
}

/**
 * "3 h 12 min", "2 d 4 h", "45 min", "< 1 min", "now". Rounds down, so a reset never comes
 * sooner than it says; two units at most.
 */
export function formatTimeUntil(ms: number): string {
  if (!(ms > 0)) return "now";
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "< 1 min";
  const days = Math.floor(minutes / (24 * 60));
  const hours = Math.floor((minutes % (24 * 60)) / 60);
  const mins = minutes % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return mins > 0 ? `${hours} h ${mins} min` : `${hours} h`;
  return `${mins} min`;
}
