import { localClockOrDateTime } from "../../../guards/local-time.ts";
import type { BotContext } from "../../context.ts";

/**
 * "3 h 12 min", "2 d 4 h", "less than a minute", in the operator's language. Rounds down, so a
 * reset never comes sooner than it says; two units at most.
 */
export function timeUntil(ctx: BotContext, ms: number): string {
  if (!(ms > 0)) return ctx.t("ops-time-now");
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return ctx.t("ops-time-under-minute");
  const d = Math.floor(minutes / (24 * 60));
  const h = Math.floor((minutes % (24 * 60)) / 60);
  const m = minutes % 60;
  // Numbers go in as strings: Fluent would group digits its own way.
  if (d > 0)
    return h > 0
      ? ctx.t("ops-time-days-hours", { d: String(d), h: String(h) })
      : ctx.t("ops-time-days", { d: String(d) });
  if (h > 0)
    return m > 0
      ? ctx.t("ops-time-hours-minutes", { h: String(h), m: String(m) })
      : ctx.t("ops-time-hours", { h: String(h) });
  return ctx.t("ops-time-minutes", { m: String(m) });
}

/** "14:05 UTC" today, "2030-02-01 00:00 UTC" on another day (in `timeZone`, as the config says). */
export function clockTime(epochMs: number, now: number, timeZone: string): string {
  return `${localClockOrDateTime(epochMs, now, timeZone)} ${timeZone}`;
}

/** 1234567 -> "1 234 567". */
export function grouped(value: number): string {
  return String(Math.round(value)).replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}
