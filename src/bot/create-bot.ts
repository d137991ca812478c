import { autoRetry } from "@grammyjs/auto-retry";
import type { I18n } from "@grammyjs/i18n";
import { sequentialize } from "@grammyjs/runner";
import { Bot, type BotError, GrammyError, HttpError, type Transformer } from "grammy";
import type { Coordinator } from "../coord/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { newTrace, runWithTrace } from "../observability/trace.ts";
import type { Db } from "../store/pool.ts";
import { COMMANDS, type CommandSpec, registerCommands } from "./commands.ts";
import type { BotContext } from "./context.ts";
import { describeError } from "./errors.ts";
import { fallbackFeature } from "./features/fallback.ts";
import { languageFeature } from "./features/language.ts";
import { startFeature } from "./features/start.ts";
import { createI18n, type Language } from "./i18n.ts";
import { auth, type OperatorConfig } from "./middlewares/auth.ts";
import { updateLogging } from "./middlewares/logging.ts";
import { commandRateLimit } from "./middlewares/rate-limit.ts";

export interface BotDeps {
  operators: OperatorConfig[];
  db: Db;
  coord: Coordinator;
  log: Logger;
  metrics?: Metrics;
  /** A local Bot API server or an emulator (TELEGRAM_API_ROOT); default Telegram's. */
  apiRoot?: string;
  /** Typed commands per user (admins exempt); default the report's 100 per hour. */
  commandRateLimit?: { count: number; perMs: number };
  defaultLanguage?: Language;
  /** Folder of Fluent files; default the repository's `locales/`. */
  localesDir?: string;
  /** Clock for time shown to users ("try again in N minutes"); default Date.now. */
  now?: () => number;
  /** The command registry behind /help and the menus; default COMMANDS (tests pass their own). */
  commands?: readonly CommandSpec[];
  /** Feature areas (alerts, approvals, status, ...), installed in order before the fallback. */
  features?: readonly BotFeature[];
}

/**
 * A feature area's part of the bot: its middleware (a Composer, plus any plugin it needs such as
 * conversations) and the commands it serves, which join the registry behind /help and the menus.
 */
export interface BotFeature {
  name: string;
  commands?: readonly CommandSpec[];
  install(bot: Bot<BotContext>): void;
}

/** What the poller needs from the bot besides grammY's own API. */
export interface PitwallBotExtras {
  readonly i18n: I18n<BotContext>;
  /** Publishes the command menus (setMyCommands) for every language and operator. */
  registerCommands(): Promise<void>;
}

export type PitwallBot = Bot<BotContext> & { readonly pitwall: PitwallBotExtras };

/**
 * The interactive calls' retry policy (DESIGN.md, Delivery): one retry at most, and only after a
 * short wait, so an operator's answer is late by seconds, never by minutes.
 * `rethrowHttpErrors`: auto-retry otherwise repeats network failures without counting them against
 * maxRetryAttempts (backing off up to an hour), which would hang handlers while Telegram is down.
 * The poller's own calls are left alone: it retries them with its back-off and reports them in its
 * status (one place per path).
 */
const POLLER_METHODS = new Set(["getUpdates", "getMe", "deleteWebhook", "setWebhook", "getWebhookInfo"]);

function interactiveRetry(): Transformer {
  const retry = autoRetry({ maxRetryAttempts: 1, maxDelaySeconds: 3, rethrowHttpErrors: true });
  return (prev, method, payload, signal) =>
    POLLER_METHODS.has(method) ? prev(method, payload, signal) : retry(prev, method, payload, signal);
}

/** Counts every failed Bot API call (each attempt) by method and error code. */
function countErrors(metrics: Metrics): Transformer {
  return async (prev, method, payload, signal) => {
    try {
      const result = await prev(method, payload, signal);
      if (!result.ok) metrics.telegramErrors.inc({ method, code: String(result.error_code) });
      return result;
    } catch (err) {
      // An aborted long poll at shutdown is not an error worth counting.
      if (!signal?.aborted) metrics.telegramErrors.inc({ method, code: "network" });
      throw err;
    }
  };
}

/**
 * Builds the bot with everything it needs passed in: nothing here reads the environment or opens a
 * connection (Telegram is first called by the poller). Middleware order matters: trace + logger
 * first (everything after logs and audits under the update's trace), per-chat ordering, i18n (the
 * refusal is in the stranger's language), auth, the command rate limit (only operators reach it),
 * the features, and last the fallback that answers whatever no feature handled.
 */
export function createBot(token: string, deps: BotDeps): PitwallBot {
  const operators = new Map(deps.operators.map((operator) => [operator.id, operator]));
  const features = deps.features ?? [];
  const commands = [...(deps.commands ?? COMMANDS), ...features.flatMap((feature) => feature.commands ?? [])];
  const bot = new Bot<BotContext>(token, deps.apiRoot ? { client: { apiRoot: deps.apiRoot } } : {});
  if (deps.metrics) bot.api.config.use(countErrors(deps.metrics));
  bot.api.config.use(interactiveRetry());

  const i18n = createI18n({
    db: deps.db,
    operators,
    log: deps.log,
    defaultLanguage: deps.defaultLanguage,
    localesDir: deps.localesDir,
  });

  bot.use(updateLogging(deps.log));
  // Updates of one chat are handled in order (a command and the button pressed right after it);
  // different chats run concurrently under the runner.
  bot.use(sequentialize((ctx: BotContext) => ctx.chat?.id.toString()));
  bot.use(i18n.middleware());
  bot.use(auth({ operators, db: deps.db, coord: deps.coord }));
  bot.use(
    commandRateLimit({
      coord: deps.coord,
      count: deps.commandRateLimit?.count,
      perMs: deps.commandRateLimit?.perMs,
      now: deps.now,
    }),
  );

  bot.use(startFeature({ commands }));
  bot.use(languageFeature({ db: deps.db }));
  for (const feature of features) feature.install(bot);
  bot.use(fallbackFeature);

  bot.catch((err) => handleBotError(err, token, deps.log));

  const extras: PitwallBotExtras = {
    i18n,
    registerCommands: () =>
      registerCommands(bot.api, {
        operators: deps.operators,
        translate: (language, key) => i18n.t(language, key),
        log: deps.log,
        commands,
        token,
      }),
  };
  return Object.assign(bot, { pitwall: extras });
}

/**
 * The error boundary: log with the update's trace (stack in the log only, token scrubbed), tell the
 * operator briefly with the trace id so the log line can be found, never rethrow: one bad update
 * must not stop the poller.
 */
async function handleBotError(err: BotError<BotContext>, token: string, fallbackLog: Logger): Promise<void> {
  const ctx = err.ctx;
  const trace = ctx.trace ?? newTrace();
  await runWithTrace(trace, async () => {
    const log = ctx.log ?? fallbackLog.child({ update_id: ctx.update.update_id });
    const error = err.error;
    try {
      if (error instanceof GrammyError) {
        log.error({ err: describeError(error, token) }, "Telegram refused a call while handling an update");
      } else if (error instanceof HttpError) {
        log.error({ err: describeError(error, token) }, "could not reach Telegram while handling an update");
        return; // answering would need Telegram too
      } else {
        log.error({ err: describeError(error, token, { stack: true }) }, "update handler failed");
      }
      if (typeof ctx.t !== "function") return;
      const text = ctx.t("error-generic", { traceId: trace.traceId });
      if (ctx.callbackQuery) {
        // Might already be answered; the toast is best effort.
        await ctx.answerCallbackQuery({ text: text.slice(0, 200) }).catch(() => undefined);
      } else if (ctx.operator && ctx.message && ctx.chat) {
        await ctx.reply(text).catch(() => undefined);
      }
    } catch (inner) {
      log.error({ err: describeError(inner, token) }, "error handler failed");
    }
  });
}
