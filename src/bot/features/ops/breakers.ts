import { type BreakerSnapshot, BreakerState } from "../../../guards/circuit-breaker.ts";
import type { BotContext } from "../../context.ts";
import { b, type Part } from "../../format/index.ts";
import { clockTime, timeUntil } from "./time.ts";

export const BREAKER_ICONS: Readonly<Record<`${BreakerState}`, string>> = {
  closed: "🟢",
  half_open: "🟡",
  open: "🔴",
};

/** One line: icon, name, state, failures, and when it is probed next. */
function breakerLine(
  ctx: BotContext,
  name: string,
  snapshot: BreakerSnapshot,
  now: number,
  timeZone: string,
): Part {
  const parts: Part[] = [
    `${BREAKER_ICONS[snapshot.state]} `,
    b(name),
    ` — ${ctx.t(`ops-breaker-${snapshot.state.replace("_", "-")}`)}`,
  ];
  if (snapshot.failures > 0) parts.push(` · ${ctx.t("ops-breaker-failures", { count: snapshot.failures })}`);
  if (snapshot.held) parts.push(` · ${ctx.t("ops-breaker-held")}`);
  else if (snapshot.state === BreakerState.Open && snapshot.retry_at !== null) {
    parts.push(
      ` · ${ctx.t("ops-breaker-next-probe", {
        time: timeUntil(ctx, snapshot.retry_at - now),
        at: clockTime(snapshot.retry_at, now, timeZone),
      })}`,
    );
  } else if (snapshot.state === BreakerState.HalfOpen) {
    const lease = snapshot.probe_lease_until;
    parts.push(
      lease !== null && lease > now
        ? ` · ${ctx.t("ops-breaker-probe-in-flight", { at: clockTime(lease, now, timeZone) })}`
        : ` · ${ctx.t("ops-breaker-probe-now")}`,
    );
  }
  return parts;
}

/** `/breakers`. */
export function breakersMessage(
  ctx: BotContext,
  breakers: ReadonlyArray<{ name: string; snapshot: BreakerSnapshot }>,
  now: number,
  timeZone: string,
): Part[] {
  if (breakers.length === 0) return [ctx.t("ops-breakers-none")];
  return [
    b(ctx.t("ops-breakers-title")),
    ...breakers.map((breaker) => ["\n", breakerLine(ctx, breaker.name, breaker.snapshot, now, timeZone)]),
  ];
}
