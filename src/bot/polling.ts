import { createConcurrentSink, createRunner, createSource, type RunnerHandle } from "@grammyjs/runner";
import { type Api, type Bot, GrammyError } from "grammy";
import type { Update } from "grammy/types";
import type { Logger } from "../observability/logger.ts";
import type { BotContext } from "./context.ts";
import type { PitwallBotExtras } from "./create-bot.ts";
import { describeError, shortError } from "./errors.ts";
import { retryAfterMs, settleWithin, sleep } from "./waiting.ts";

/**
 * grammY and the runner type signals with the `abort-controller` polyfill; Node's own AbortSignal
 * works the same at run time (both only need addEventListener and aborted).
 */
type Signal = NonNullable<Parameters<Api["getMe"]>[0]>;
const asSignal = (signal: AbortSignal): Signal => signal as unknown as Signal;

export type TelegramState = "starting" | "ok" | "degraded";

export interface TelegramStatus {
  state: TelegramState;
  /** Why it is degraded (method and Telegram's description, or the network error); never the token. */
  lastError?: string;
}

export interface TelegramHandle {
  /** Stops polling, waits for the updates being handled (up to `drainTimeoutMs`), then resolves. */
  stop(): Promise<void>;
  status(): TelegramStatus;
}

/** The update kinds pitwall reacts to; set explicitly so a previous owner of the token cannot narrow them. */
export const ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"] as const;

export interface StartTelegramOptions {
  log: Logger;
  /** Webhook mode is a later addition; polling is what runs now. */
  mode: "polling";
  /** Back-off while Telegram is unreachable: 1 s doubling to 60 s by default. */
  retry?: { initialMs?: number; maxMs?: number };
  /** How long stop() waits for handlers still running (default 5 s). */
  drainTimeoutMs?: number;
  /** Long-poll timeout in seconds (default 30). */
  pollTimeoutSeconds?: number;
  /**
   * How long the next getUpdates waits for the updates already received to be handled (default
   * 5 s). Telegram forgets updates once a later offset is asked for; waiting means an instance
   * that dies while handling a button press leaves it to the next poller instead of losing it.
   * Past this bound polling goes on (one slow handler must not stop the desk).
   */
  confirmAfterMs?: number;
  /** Updates handled at once across chats (one chat is always sequential); default 100. */
  concurrency?: number;
  /**
   * A call without an answer after this long counts as failed (default 10 s; getUpdates gets its
   * long-poll timeout on top). Without it a black-holed connection would hold startup, or the
   * poll, for grammY's 500 s default, with the status still saying all is well.
   */
  callTimeoutMs?: number;
}

/**
 * Starts receiving updates in the background and returns at once: pitwall runs even when Telegram
 * is unreachable, and the status says so until it recovers by itself.
 *
 * Order: getMe (skipped when the bot already knows itself) and deleteWebhook, each retried with
 * back-off (1 s doubling to 60 s) while Telegram is unreachable; then the command menus (in the
 * background: cosmetic, must not hold up polling); then long polling through @grammyjs/runner.
 * getUpdates is the runner's supplier here rather than the runner's built-in fetcher because that
 * one backs off without a cap and prints to the console; this one caps the back-off, honours
 * retry_after, logs one warning per outage and feeds status().
 */
export function startTelegram(
  bot: Bot<BotContext> & { pitwall?: PitwallBotExtras },
  opts: StartTelegramOptions,
): TelegramHandle {
  const log = opts.log.child({ component: "telegram" });
  const initialMs = opts.retry?.initialMs ?? 1_000;
  const maxMs = opts.retry?.maxMs ?? 60_000;
  const drainTimeoutMs = opts.drainTimeoutMs ?? 5_000;
  const callTimeoutMs = opts.callTimeoutMs ?? 10_000;
  const pollTimeoutSeconds = opts.pollTimeoutSeconds ?? 30;
  const confirmAfterMs = opts.confirmAfterMs ?? 5_000;
  const token = bot.token;
  const stopSignal = new AbortController();

  let state: TelegramState = "starting";
  let lastError: string | undefined;
  let runner: RunnerHandle | undefined;
  /** Next update id to ask for; everything below it was received (confirmed to Telegram on the next call). */
  let offset = 0;
  const inFlight = new Set<Promise<void>>();
  /** The command menus being published; stop() lets them finish rather than cut them off half-way. */
  let menus: Promise<void> = Promise.resolve();

  const reachable = () => {
    if (state === "degraded") log.info("Telegram is reachable again");
    state = "ok";
    lastError = undefined;
  };
  const unreachable = (err: unknown, method: string) => {
    lastError = shortError(err, token);
    const unauthorized = err instanceof GrammyError && err.error_code === 401;
    if (state !== "degraded") {
      // One warning per outage, not one per attempt.
      log[unauthorized ? "error" : "warn"](
        { method, err: describeError(err, token) },
        unauthorized
          ? "Telegram rejects the bot token (401): check TELEGRAM_BOT_TOKEN; retrying"
          : "Telegram is unreachable; pitwall keeps running and retries",
      );
    } else {
      log.debug({ method, err: describeError(err, token) }, "Telegram still unreachable");
    }
    state = "degraded";
  };

  /** Calls `call` until it succeeds or stop() is called (then it rejects). */
  async function untilSuccess<T>(method: string, call: (signal: Signal) => Promise<T>): Promise<T> {
    let delayMs = initialMs;
    for (;;) {
      try {
        const deadline = withTimeout(asSignal(stopSignal.signal), callTimeoutMs);
        try {
          return await call(deadline.signal);
        } finally {
          deadline.dispose();
        }
      } catch (err) {
        if (stopSignal.signal.aborted) throw err;
        unreachable(err, method);
        await sleep(retryAfterMs(err) ?? delayMs, asSignal(stopSignal.signal));
        delayMs = Math.min(delayMs * 2, maxMs);
      }
    }
  }

  /** Whether the updates being handled finished within confirmAfterMs; stop() ends the wait. */
  async function handledOrStopped(signal: Signal): Promise<boolean> {
    if (inFlight.size === 0) return true;
    let onAbort = () => {};
    const stopped = new Promise<boolean>((resolve) => {
      onAbort = () => resolve(false);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort);
    });
    try {
      return await Promise.race([settleWithin([...inFlight], confirmAfterMs), stopped]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  const supplier = {
    async supply(batchSize: number, signal: Signal): Promise<Update[]> {
      // The next call confirms everything received so far: let it be handled first (bounded).
      const handled = await handledOrStopped(signal);
      if (signal.aborted) return [];
      if (!handled) {
        log.warn(
          { still_running: inFlight.size, waited_ms: confirmAfterMs },
          "updates still being handled; polling on (they are lost if this instance dies now)",
        );
      }
      let delayMs = initialMs;
      for (;;) {
        const deadline = withTimeout(signal, pollTimeoutSeconds * 1000 + callTimeoutMs);
        try {
          const updates = await bot.api.getUpdates(
            {
              offset,
              limit: Math.max(1, Math.min(batchSize, 100)),
              timeout: pollTimeoutSeconds,
              allowed_updates: [...ALLOWED_UPDATES],
            },
            deadline.signal,
          );
          reachable();
          const last = updates.at(-1);
          if (last) offset = last.update_id + 1;
          return updates;
        } catch (err) {
          if (signal.aborted) throw err;
          unreachable(err, "getUpdates");
          await sleep(retryAfterMs(err) ?? delayMs, signal);
          delayMs = Math.min(delayMs * 2, maxMs);
        } finally {
          deadline.dispose();
        }
      }
    },
  };

  const consumer = {
    consume(update: Update): Promise<void> {
      const handling = bot.handleUpdate(update);
      const tracked = handling.catch(() => undefined).finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      return handling;
    },
  };

  const started = (async () => {
    try {
      if (!bot.isInited()) bot.botInfo = await untilSuccess("getMe", (signal) => bot.api.getMe(signal));
      // A webhook left set (by a webhook deployment or another tool) makes getUpdates fail with 409.
      await untilSuccess("deleteWebhook", (signal) =>
        bot.api.deleteWebhook({ drop_pending_updates: false }, signal),
      );
      reachable();
      menus = publishCommandMenus(bot, log);
      const sink = createConcurrentSink<Update, unknown>(
        consumer,
        async (error) => {
          try {
            await bot.errorHandler(error as Parameters<typeof bot.errorHandler>[0]);
          } catch (err) {
            log.error({ err: describeError(err, token) }, "the bot's error handler failed");
          }
        },
        { concurrency: opts.concurrency ?? 100 },
      );
      runner = createRunner(createSource(supplier), sink);
      runner.start();
      log.info({ bot: bot.botInfo.username }, "polling Telegram");
      runner.task()?.catch((err: unknown) => {
        // The supplier retries everything but a stop, so this is a bug; say so loudly.
        state = "degraded";
        lastError = shortError(err, token);
        log.error({ err: describeError(err, token, { stack: true }) }, "polling stopped unexpectedly");
      });
    } catch (err) {
      if (!stopSignal.signal.aborted)
        log.error({ err: describeError(err, token, { stack: true }) }, "could not start polling");
    }
  })();

  let stopping: Promise<void> | undefined;
  return {
    status: () => (lastError === undefined ? { state } : { state, lastError }),
    stop() {
      stopping ??= (async () => {
        stopSignal.abort();
        await started;
        if (!runner) return;
        // Aborts the pending long poll; updates already received keep being handled.
        await runner.stop();
        if (inFlight.size > 0)
          log.debug({ in_flight: inFlight.size }, "stopping: waiting for updates being handled");
        const drained = await settleWithin([...inFlight, menus], drainTimeoutMs);
        if (!drained)
          log.warn({ still_running: inFlight.size }, "stopped polling with updates still being handled");
        await confirmOffset();
        log.info("stopped polling Telegram");
      })();
      return stopping;
    },
  };

  /**
   * Telegram forgets updates only when asked for later ones; without this, the last batch would
   * be delivered again to the next poller (grammY's own bot.stop does the same).
   */
  async function confirmOffset(): Promise<void> {
    if (offset === 0) return;
    try {
      await bot.api.getUpdates({ offset, limit: 1, timeout: 0 }, asSignal(AbortSignal.timeout(2_000)));
    } catch (err) {
      log.debug(
        { err: describeError(err, token) },
        "could not confirm the last updates; they may be delivered again",
      );
    }
  }
}

/**
 * `signal` (aborted by stop) combined with a deadline for one call. By hand rather than with
 * AbortSignal.any, which refuses the runner's polyfilled signals.
 */
function withTimeout(signal: Signal, ms: number): { signal: Signal; dispose: () => void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  const timer = setTimeout(abort, ms);
  if (signal.aborted) abort();
  else signal.addEventListener("abort", abort);
  return {
    signal: asSignal(controller.signal),
    dispose() {
      clearTimeout(timer);
      signal.removeEventListener("abort", abort);
    },
  };
}

/**
 * Publishes the command menus (setMyCommands) in the background of polling or webhook start:
 * cosmetic, so a failure is logged and retried at the next start, never fatal.
 */
export async function publishCommandMenus(
  bot: Bot<BotContext> & { pitwall?: PitwallBotExtras },
  log: Logger,
): Promise<void> {
  if (!bot.pitwall) return;
  try {
    await bot.pitwall.registerCommands();
  } catch (err) {
    log.warn(
      { err: describeError(err, bot.token) },
      "could not publish the command menus; they will be set on the next start",
    );
  }
}
