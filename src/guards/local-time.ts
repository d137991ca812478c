/**
 * An instant written in a time zone, the one way pitwall writes local times everywhere (alert
 * and approval cards, ops replies, the digest): `2030-01-15 09:05`, 24-hour, zero-padded. Built
 * on the budget windows' wall clock (one cached Intl formatter per zone). Pure.
 */
import { type WallClock, wallClock } from "./budget-window.ts";

const pad = (value: number) => String(value).padStart(2, "0");

const dateOf = (w: WallClock) => `${w.year}-${pad(w.month)}-${pad(w.day)}`;
const clockOf = (w: WallClock) => `${pad(w.hour)}:${pad(w.minute)}`;

/** `2030-01-15`. */
export function localDate(at: number | Date, timeZone: string): string {
  return dateOf(wallClock(+at, timeZone));
}

/** `09:05`. */
export function localClock(at: number | Date, timeZone: string): string {
  return clockOf(wallClock(+at, timeZone));
}

/** `2030-01-15 09:05`. */
export function localDateTime(at: number | Date, timeZone: string): string {
  const w = wallClock(+at, timeZone);
  return `${dateOf(w)} ${clockOf(w)}`;
}

/** `2030-01-15 09:05:07`. */
export function localStamp(at: number | Date, timeZone: string): string {
  const w = wallClock(+at, timeZone);
  return `${dateOf(w)} ${clockOf(w)}:${pad(w.second)}`;
}

/** `09:05` when `at` falls on the same local day as `now`, else `2030-01-15 09:05`. */
export function localClockOrDateTime(at: number | Date, now: number | Date, timeZone: string): string {
  const w = wallClock(+at, timeZone);
  return dateOf(w) === localDate(now, timeZone) ? clockOf(w) : `${dateOf(w)} ${clockOf(w)}`;
}
