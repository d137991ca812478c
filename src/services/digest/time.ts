/** Local dates and times in the digest's time zone (digest.timezone). Pure. */

import { type WallClock, wallClock } from "../../guards/budget-window.ts";

export type LocalParts = Omit<WallClock, "second">;

export function localParts(at: number, timeZone: string): LocalParts {
  return wallClock(at, timeZone);
}

export { localDate, localDateTime } from "../../guards/local-time.ts";

const pad = (value: number) => String(value).padStart(2, "0");

export function parseDate(date: string): { year: number; month: number; day: number } {
  const [year, month, day] = date.split("-").map(Number);
  return { year: year ?? 1970, month: month ?? 1, day: day ?? 1 };
}

/** The local date `days` after `date` (negative: before). */
export function addDays(date: string, days: number): string {
  const { year, month, day } = parseDate(date);
  const shifted = new Date(Date.UTC(year, month - 1, day + days));
  return `${shifted.getUTCFullYear()}-${pad(shifted.getUTCMonth() + 1)}-${pad(shifted.getUTCDate())}`;
}
