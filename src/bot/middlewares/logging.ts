import type { MiddlewareFn } from "grammy";
import type { Logger } from "../../observability/logger.ts";
import { newTrace, runWithTrace } from "../../observability/trace.ts";
import type { BotContext } from "../context.ts";

/** The update's kind ("message", "callback_query", ...), for logs and audit details. */
export function updateType(ctx: { update: object }): string {
  return Object.keys(ctx.update).find((key) => key !== "update_id") ?? "unknown";
}

/**
 * First middleware: a new trace per update and a child logger bound to the update id. The rest of
 * the update runs inside the trace's async context, so every log line (the logger's mixin adds
 * trace_id/span_id) and every audit row written while handling it carries the same trace id.
 */
export function updateLogging(log: Logger): MiddlewareFn<BotContext> {
  return (ctx, next) => {
    const trace = newTrace();
    ctx.trace = trace;
    ctx.log = log.child({ update_id: ctx.update.update_id });
    return runWithTrace(trace, async () => {
      const started = performance.now();
      try {
        await next();
      } finally {
        ctx.log.debug(
          { update_type: updateType(ctx), ms: Math.round(performance.now() - started) },
          "update handled",
        );
      }
    });
  };
}
