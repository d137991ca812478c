import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type Api, type Bot, BotError, GrammyError } from "grammy";
import type { Update } from "grammy/types";
import { Counter } from "prom-client";
import type { Coordinator } from "../coord/types.ts";
import { isProtectedRoute } from "../http/auth.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { BotContext } from "./context.ts";
import type { PitwallBotExtras } from "./create-bot.ts";
import { describeError, shortError } from "./errors.ts";
import { ALLOWED_UPDATES, publishCommandMenus, type TelegramHandle, type TelegramState } from "./polling.ts";
import { retryAfterMs, settleWithin, sleep } from "./waiting.ts";

// Webhook mode (DESIGN.md, Delivery; issue 7 item 3). Every instance takes updates on the route;
// only the leader tells Telegram where the webhook is (startWebhook). Nothing here ever calls
// deleteWebhook: during a rolling deploy the old instances stop while the new ones already serve
// the same URL, and a stop that deleted the webhook would leave the bot deaf.

type Signal = NonNullable<Parameters<Api["getMe"]>[0]>;
/** grammY types signals with the abort-controller polyfill; Node's AbortSignal works the same. */
const asSignal = (signal: AbortSignal): Signal => signal as unknown as Signal;

type WebhookBot = Bot<BotContext> & { pitwall?: PitwallBotExtras };

export const SECRET_HEADER = "x-telegram-bot-api-secret-token";
/** How long a delivered update id is remembered across instances (Telegram gives up well before). */
export const UPDATE_DEDUP_TTL_MS = 24 * 60 * 60 * 1000;

interface Backoff {
  initialMs?: number;
  maxMs?: number;
}

// ---- the bot's identity -------------------------------------------------------------------------

export interface EnsureBotInfoOptions {
  log: Logger;
  /** Aborting gives up (shutdown); the promise then resolves false. */
  signal?: AbortSignal;
  /** Back-off between getMe attempts: 1 s doubling to 60 s by default. */
  retry?: Backoff;
  /** One getMe without an answer after this long counts as failed (default 10 s). */
  callTimeoutMs?: number;
}

const identityLookups = new WeakMap<Bot<BotContext>, Promise<boolean>>();

/**
 * Makes the bot know itself (`bot.botInfo`), which grammY needs before `handleUpdate`: getMe,
 * retried with back-off until it succeeds or `signal` aborts. Not `bot.init()`: that retries
 * internally for about 20 minutes without saying anything, and cannot report or cap its back-off.
 * Resolves true once known. Concurrent callers for one bot share one lookup.
 */
export function ensureBotInfo(bot: Bot<BotContext>, opts: EnsureBotInfoOptions): Promise<boolean> {
  if (bot.isInited()) return Promise.resolve(true);
  const pending = identityLookups.get(bot);
  if (pending) return pending;
  const log = opts.log;
  const lookup = (async () => {
    const signal = opts.signal ?? new AbortController().signal;
    const attempts = retrying({
      what: "getMe",
      token: bot.token,
      log,
      signal,
      backoff: opts.retry,
      callTimeoutMs: opts.callTimeoutMs ?? 10_000,
    });
    try {
      const me = await attempts.run((callSignal) => bot.api.getMe(callSignal));
      if (!bot.isInited()) bot.botInfo = me;
      if (attempts.failures() > 0) log.info("Telegram is reachable again: the bot knows itself");
      return true;
    } catch (err) {
      if (signal.aborted) return false;
      throw err;
    }
  })().finally(() => identityLookups.delete(bot));
  identityLookups.set(bot, lookup);
  return lookup;
}

// ---- the route every instance serves -------------------------------------------------------------

export interface WebhookRouteOptions {
  /** The pathname of `telegram.webhook.url` (`/telegram`); outside `/v1`, so no API key applies. */
  path: string;
  /** `telegram.webhook.secret_token`; Telegram sends it in X-Telegram-Bot-Api-Secret-Token. */
  secretToken: string;
  /** Shared with the other instances: a redelivered update is handled once across all of them. */
  coord: Coordinator;
  log: Logger;
  metrics?: Metrics;
  /**
   * How long a request waits for its update to be handled before answering 200 anyway and letting
   * the handling finish in the background (default 8 s, under grammY's own 10 s webhook timeout).
   */
  answerWithinMs?: number;
  /** Back-off of the getMe the route starts when the bot does not know itself yet. */
  identityRetry?: Backoff;
}

export interface WebhookRouteStatus {
  /** "starting" until the bot knows itself (the route answers 503 until then), else "ok". */
  state: Extract<TelegramState, "starting" | "ok">;
  /** Updates still being handled after their request was answered. */
  inFlight: number;
}

export type TelegramWebhookRoute = ((app: FastifyInstance) => Promise<void>) & {
  status(): WebhookRouteStatus;
  /** Waits (up to `timeoutMs`, default 5 s) for updates still being handled; true when all finished. */
  drain(timeoutMs?: number): Promise<boolean>;
};

type Outcome =
  | "handled"
  | "late"
  | "duplicate"
  | "unauthorized"
  | "not_ready"
  | "unavailable"
  | "bad_request";

/**
 * The webhook route, for `createHttpServer({ registerRoutes })`. Per request, in this order:
 *
 * 1. The secret token, compared in constant time, before the body is read: missing or wrong is 401
 *    and one log line that never holds the token.
 * 2. Until the bot knows itself (getMe, started on registration), 503: Telegram retries later.
 * 3. Dedup by update_id across instances (`coord.setOnce("tg:update:<bot id>:<update id>", 24 h)`;
 *    the bot id because update ids are per bot, and a new token must not inherit markers): Telegram
 *    redelivers an update it got no 2xx for in time, and behind a load balancer the retry may land
 *    on another instance; the second delivery is answered 200 and does nothing. Coordination down:
 *    503, so Telegram keeps the update.
 * 4. The update is handled, and the answer waits for it up to `answerWithinMs`: a 200 then means
 *    "handled". A handler that runs longer gets its 200 at that deadline and keeps running (it
 *    must not make Telegram time out and send the update again). A handler that fails goes to the
 *    bot's error handler (as under polling) and the answer is still 200: redelivering would fail
 *    the same way and hold up every later update.
 *
 * Delivery is therefore at least once up to the handler and at most once past the dedup marker:
 * a process that dies while handling loses that one update (the marker is already set, and the
 * coordinator has no way to take it back). The window is the handling time of an update, a graceful
 * stop drains it first (`drain`), and Telegram's own retries cover everything before the marker.
 */
export function telegramWebhookRoute(bot: WebhookBot, opts: WebhookRouteOptions): TelegramWebhookRoute {
  const path = opts.path === "" ? "/" : opts.path;
  if (!path.startsWith("/")) throw new Error(`webhook path must start with "/": ${path}`);
  if (isProtectedRoute(path)) {
    throw new Error(
      `the webhook path ${path} is under /v1, where every request needs an API key: use another path in telegram.webhook.url`,
    );
  }
  const log = opts.log.child({ component: "telegram_webhook" });
  const token = bot.token;
  const expected = digest(opts.secretToken);
  const answerWithinMs = opts.answerWithinMs ?? 8_000;
  const requests = opts.metrics ? webhookCounter(opts.metrics) : undefined;
  const count = (outcome: Outcome) => requests?.inc({ outcome });
  const inFlight = new Set<Promise<void>>();

  const refuse = (request: FastifyRequest, reply: FastifyReply) => {
    const presented = request.headers[SECRET_HEADER];
    const reason = presented === undefined ? "missing" : "wrong";
    count("unauthorized");
    log.warn(
      { client: request.ip, reason },
      `refused a webhook request with a ${reason} ${SECRET_HEADER} header (not from Telegram, or the secret_token changed)`,
    );
    return reply.code(401).send({ error: "unauthorized", message: `${reason} secret token` });
  };

  const handle = (update: Update): Promise<void> =>
    bot.handleUpdate(update).catch(async (err: unknown) => {
      try {
        if (err instanceof BotError) await bot.errorHandler(err);
        else log.error({ err: describeError(err, token, { stack: true }) }, "could not handle an update");
      } catch (inner) {
        log.error({ err: describeError(inner, token) }, "the bot's error handler failed");
      }
    });

  const register = async (app: FastifyInstance) => {
    const stopIdentity = new AbortController();
    app.addHook("onClose", async () => stopIdentity.abort());
    if (!bot.isInited()) {
      ensureBotInfo(bot, { log, signal: stopIdentity.signal, retry: opts.identityRetry }).catch((err) =>
        log.error({ err: describeError(err, token, { stack: true }) }, "could not learn the bot's identity"),
      );
    }

    app.post(path, {
      // Before the body is read: an unauthenticated client cannot make the server parse anything.
      onRequest: async (request, reply) => {
        if (!secretMatches(request.headers[SECRET_HEADER], expected)) return refuse(request, reply);
      },
      handler: async (request, reply) => {
        if (!bot.isInited()) {
          count("not_ready");
          return reply
            .code(503)
            .header("retry-after", "5")
            .send({ error: "unavailable", message: "the bot is starting (getMe has not succeeded yet)" });
        }
        const update = request.body as Partial<Update> | null;
        const updateId = update?.update_id;
        if (typeof update !== "object" || update === null || !Number.isSafeInteger(updateId)) {
          count("bad_request");
          return reply.code(400).send({ error: "bad_request", message: "expected a Telegram Update object" });
        }
        let first: boolean;
        try {
          first = await opts.coord.setOnce(`tg:update:${bot.botInfo.id}:${updateId}`, UPDATE_DEDUP_TTL_MS);
        } catch (err) {
          count("unavailable");
          log.warn(
            { update_id: updateId, err: describeError(err) },
            "coordination unavailable: asking Telegram to deliver the update again",
          );
          return reply.code(503).header("retry-after", "5").send({
            error: "unavailable",
            message: "coordination is unavailable; retry later",
          });
        }
        if (!first) {
          count("duplicate");
          log.debug({ update_id: updateId }, "update delivered again: already handled here or elsewhere");
          return reply.code(200).send({ ok: true });
        }
        const handling = handle(update as Update);
        const tracked = handling.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        const inTime = await settleWithin([handling], answerWithinMs);
        if (inTime) count("handled");
        else {
          count("late");
          log.warn(
            { update_id: updateId, answer_within_ms: answerWithinMs },
            "update still being handled: answered Telegram and kept handling it",
          );
        }
        return reply.code(200).send({ ok: true });
      },
    });
  };

  return Object.assign(register, {
    status: (): WebhookRouteStatus => ({
      state: bot.isInited() ? "ok" : "starting",
      inFlight: inFlight.size,
    }),
    drain: (timeoutMs = 5_000) => settleWithin([...inFlight], timeoutMs),
  });
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Constant time in the secret: both sides are hashed to 32 bytes first, so neither the content
 * nor the length of the expected token leaks through timing.
 */
function secretMatches(presented: string | string[] | undefined, expected: Buffer): boolean {
  if (typeof presented !== "string") return false;
  return timingSafeEqual(digest(presented), expected);
}

const WEBHOOK_COUNTER = "pitwall_telegram_webhook_requests_total";

/** Requests to the webhook route by outcome; registered once per metrics registry. */
function webhookCounter(metrics: Metrics): Counter<"outcome"> {
  const existing = metrics.registry.getSingleMetric(WEBHOOK_COUNTER);
  if (existing) return existing as Counter<"outcome">;
  return new Counter({
    name: WEBHOOK_COUNTER,
    help: "Telegram webhook requests by outcome (handled, late, duplicate, unauthorized, not_ready, unavailable, bad_request)",
    labelNames: ["outcome"] as const,
    registers: [metrics.registry],
  });
}

// ---- the leader's side: telling Telegram where to deliver ------------------------------------

export interface StartWebhookOptions {
  /** `telegram.webhook.url`: the public HTTPS address of the load balancer in front of every instance. */
  url: string;
  secretToken: string;
  log: Logger;
  /** Back-off while Telegram is unreachable: 1 s doubling to 60 s by default. */
  retry?: Backoff;
  /** A call without an answer after this long counts as failed (default 10 s). */
  callTimeoutMs?: number;
  /**
   * How often the leader reads getWebhookInfo (default 60 s; 0: never): a webhook changed or
   * removed by someone else is set again, and delivery errors Telegram reports show in status().
   */
  checkEveryMs?: number;
  /** How long stop() waits for the command menus being published (default 5 s). */
  drainTimeoutMs?: number;
}

/**
 * On the leader: setWebhook (url, secret, ALLOWED_UPDATES, pending updates kept), retried with
 * back-off while Telegram is unreachable, then the command menus (in the background), then a
 * watch on getWebhookInfo. Returns at once; status() says "starting" until the webhook is set and
 * "degraded" while Telegram is unreachable or reports that it cannot deliver. stop() ends the
 * watch and never calls deleteWebhook (rolling deploys; see the top of this file).
 */
export function startWebhook(bot: WebhookBot, opts: StartWebhookOptions): TelegramHandle {
  const log = opts.log.child({ component: "telegram" });
  const token = bot.token;
  const checkEveryMs = opts.checkEveryMs ?? 60_000;
  const drainTimeoutMs = opts.drainTimeoutMs ?? 5_000;
  const stopSignal = new AbortController();
  const shownUrl = loggableWebhookUrl(opts.url);

  let state: TelegramState = "starting";
  let lastError: string | undefined;
  let menus: Promise<void> = Promise.resolve();
  /** Telegram's last_error_date (seconds) already accounted for: only newer errors degrade. */
  let errorsSeenUntil = 0;

  const reachable = () => {
    if (state === "degraded") log.info("Telegram is reachable again");
    state = "ok";
    lastError = undefined;
  };
  const calls = retrying({
    what: "setWebhook",
    token,
    log,
    signal: stopSignal.signal,
    backoff: opts.retry,
    callTimeoutMs: opts.callTimeoutMs ?? 10_000,
    onFailure: (err) => {
      state = "degraded";
      lastError = shortError(err, token);
    },
  });

  const setWebhook = async () => {
    await calls.run((signal) =>
      bot.api.setWebhook(
        opts.url,
        {
          secret_token: opts.secretToken,
          allowed_updates: [...ALLOWED_UPDATES],
          drop_pending_updates: false,
        },
        signal,
      ),
    );
    errorsSeenUntil = Math.floor(Date.now() / 1000);
    reachable();
  };

  const started = (async () => {
    try {
      await setWebhook();
      log.info({ url: shownUrl }, "webhook set: Telegram delivers updates to every instance behind it");
      menus = publishCommandMenus(bot, log);
      if (checkEveryMs > 0) await watch();
    } catch (err) {
      if (!stopSignal.signal.aborted)
        log.error({ err: describeError(err, token, { stack: true }) }, "could not set the webhook");
    }
  })();

  /** Until stop(): getWebhookInfo every checkEveryMs; re-set a webhook that is not ours. */
  async function watch(): Promise<void> {
    for (;;) {
      await sleep(checkEveryMs, stopSignal.signal);
      let info: Awaited<ReturnType<Api["getWebhookInfo"]>>;
      try {
        info = await withDeadline(stopSignal.signal, opts.callTimeoutMs ?? 10_000, (signal) =>
          bot.api.getWebhookInfo(signal),
        );
      } catch (err) {
        if (stopSignal.signal.aborted) throw err;
        if (state !== "degraded")
          log.warn(
            { err: describeError(err, token) },
            "Telegram is unreachable; pitwall keeps running and retries",
          );
        state = "degraded";
        lastError = shortError(err, token);
        continue;
      }
      const current = info.url ?? "";
      if (current !== opts.url) {
        log.warn(
          { expected: shownUrl, found: current === "" ? "(none)" : loggableWebhookUrl(current) },
          "the webhook was changed or removed outside this deployment: setting it again",
        );
        await setWebhook();
        continue;
      }
      const errorDate = info.last_error_date ?? 0;
      if (errorDate > errorsSeenUntil) {
        errorsSeenUntil = errorDate;
        const message = info.last_error_message ?? "unknown error";
        if (state !== "degraded")
          log.warn(
            { last_error: message, pending_updates: info.pending_update_count },
            "Telegram reports it could not deliver to the webhook",
          );
        state = "degraded";
        lastError = `Telegram could not deliver to the webhook: ${message} (${info.pending_update_count} pending)`;
      } else {
        reachable();
      }
    }
  }

  let stopping: Promise<void> | undefined;
  return {
    status: () => (lastError === undefined ? { state } : { state, lastError }),
    stop() {
      stopping ??= (async () => {
        stopSignal.abort();
        await started;
        await settleWithin([menus], drainTimeoutMs);
        // Deliberately no deleteWebhook: the other instances keep serving the same URL.
        log.info("stopped managing the webhook (it stays set)");
      })();
      return stopping;
    },
  };
}

/** Origin and path only: a query string could carry something secret. */
function loggableWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "(not a URL)";
  }
}

// ---- shared helpers ---------------------------------------------------------------------------

interface RetryingOptions {
  what: string;
  token: string;
  log: Logger;
  signal: AbortSignal;
  backoff?: Backoff;
  callTimeoutMs: number;
  onFailure?: (err: unknown) => void;
}

/**
 * Runs a Bot API call until it succeeds or `signal` aborts (then it rejects): back-off doubling
 * from initialMs to maxMs, Telegram's retry_after honoured, one warning per outage.
 */
function retrying(opts: RetryingOptions) {
  const initialMs = opts.backoff?.initialMs ?? 1_000;
  const maxMs = opts.backoff?.maxMs ?? 60_000;
  let failures = 0;
  return {
    failures: () => failures,
    async run<T>(call: (signal: Signal) => Promise<T>): Promise<T> {
      let delayMs = initialMs;
      let warned = false;
      for (;;) {
        try {
          return await withDeadline(opts.signal, opts.callTimeoutMs, call);
        } catch (err) {
          if (opts.signal.aborted) throw err;
          failures += 1;
          opts.onFailure?.(err);
          const unauthorized = err instanceof GrammyError && err.error_code === 401;
          if (!warned) {
            warned = true;
            opts.log[unauthorized ? "error" : "warn"](
              { method: opts.what, err: describeError(err, opts.token) },
              unauthorized
                ? "Telegram rejects the bot token (401): check TELEGRAM_BOT_TOKEN; retrying"
                : "Telegram is unreachable; pitwall keeps running and retries",
            );
          } else {
            opts.log.debug(
              { method: opts.what, err: describeError(err, opts.token) },
              "Telegram still unreachable",
            );
          }
          await sleep(retryAfterMs(err) ?? delayMs, opts.signal);
          delayMs = Math.min(delayMs * 2, maxMs);
        }
      }
    },
  };
}

/** One call bounded by `ms` and by `signal`. */
function withDeadline<T>(signal: AbortSignal, ms: number, call: (signal: Signal) => Promise<T>): Promise<T> {
  return call(asSignal(AbortSignal.any([signal, AbortSignal.timeout(ms)])));
}
