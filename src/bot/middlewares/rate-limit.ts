import type { MiddlewareFn } from "grammy";
import type { Coordinator } from "../../coord/types.ts";
import type { BotContext } from "../context.ts";
import { describeError } from "../errors.ts";
import { HOUR_MS } from "./auth.ts";

export interface CommandRateLimitOptions {
  coord: Coordinator;
  /** Typed commands allowed per user per window (the report's 100 requests/hour). */
  count?: number;
  perMs?: number;
  /** Clock for the "try again in" estimate. */
  now?: () => number;
}

/**
 * The report's per-user limit (safety.output.rate_limit_per_user), on typed commands only: a
 * message whose text starts with "/" counts in a fixed window shared by all instances. The first
 * command over the limit gets one short answer saying when to come back; later ones in the same
 * window are dropped silently, so the limit cannot be turned into a way to make the bot spam.
 * Admins are exempt (they may need the bot most during an incident), and so are button presses:
 * they answer the bot's own messages and must always be answered.
 * Runs after auth, so only operators get here. When the coordinator fails, commands pass.
 */
export function commandRateLimit(opts: CommandRateLimitOptions): MiddlewareFn<BotContext> {
  const limit = opts.count ?? 100;
  const windowMs = opts.perMs ?? HOUR_MS;
  const now = opts.now ?? Date.now;
  return async (ctx, next) => {
    const text = ctx.message?.text;
    const userId = ctx.from?.id;
    if (!text?.startsWith("/") || userId === undefined || ctx.operator?.role === "admin") return next();
    let used: number;
    try {
      used = await opts.coord.increment(`cmd:${userId}`, windowMs);
    } catch (err) {
      // Fail open: while coordination is down, operators keep their bot (a flood guard must not
      // take the desk away in an incident); the outage itself is reported by the coordinator.
      ctx.log.warn(
        { err: describeError(err) },
        "command rate limit unavailable; letting the command through",
      );
      return next();
    }
    if (used <= limit) return next();
    if (used > limit + 1) {
      ctx.log.debug({ user: userId, used }, "command dropped: over the rate limit");
      return;
    }
    // Fixed windows start at multiples of the window length (epoch-aligned).
    const waitMs = windowMs - (now() % windowMs);
    const minutes = Math.max(1, Math.ceil(waitMs / 60_000));
    ctx.log.warn({ user: userId, limit, window_ms: windowMs }, "operator over the command rate limit");
    await ctx.reply(ctx.t("rate-limited", { limit, minutes }));
  };
}
