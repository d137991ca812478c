import { createBot } from "./bot/create-bot.ts";
import { startTelegram, type TelegramHandle } from "./bot/polling.ts";
import type { Config } from "./config/index.ts";
import { createCoordinator } from "./coord/index.ts";
import type { Coordinator, LeaderHandle } from "./coord/types.ts";
import { createOutboxApi, createOutboxWorker, type OutboxWorker } from "./delivery/index.ts";
import type { Environment } from "./env.ts";
import { parseApiKeysEnv } from "./http/api-keys.ts";
import { listen } from "./http/listen.ts";
import { type ComponentStatus, createHttpServer } from "./http/server.ts";
import type { Logger } from "./observability/logger.ts";
import { createMetrics } from "./observability/metrics.ts";
import { startEmbeddedPostgres } from "./store/embedded.ts";
import { migrate } from "./store/migrate.ts";
import { createPool, type Db } from "./store/pool.ts";

/** A startup problem the operator can fix; its message is printed as is, without a stack. */
export class StartupError extends Error {}

export interface RunningPitwall {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:8080 */
  url: string;
  db: Db;
  coord: Coordinator;
  /** Graceful shutdown: stops polling, finishes in-flight work, closes HTTP, stops Postgres. */
  stop(reason?: string): Promise<void>;
}

export interface StartOptions {
  config: Config;
  configSource: string;
  env: Environment;
  log: Logger;
}

const LEADER_TTL_MS = 15_000;

/**
 * The composition root: config -> store -> coordination -> http, bot, delivery. The only place
 * that wires modules together. Every started resource registers its closer, so a failure half-way
 * through startup undoes what was started, in reverse order.
 */
export async function startPitwall({
  config,
  configSource,
  env,
  log,
}: StartOptions): Promise<RunningPitwall> {
  const closers: Array<{ name: string; close: () => Promise<void> }> = [];
  const closeAll = async () => {
    for (const { name, close } of closers.reverse()) {
      await close().catch((err) => log.warn({ err, component: name }, "error while stopping"));
    }
    closers.length = 0;
  };

  const token = env.TELEGRAM_BOT_TOKEN;
  if (config.telegram && !token) {
    throw new StartupError(
      `${configSource} has a telegram section but TELEGRAM_BOT_TOKEN is not set: set it to your bot's token from @BotFather, or remove the telegram section to run without Telegram`,
    );
  }

  try {
    const metrics = createMetrics();
    let databaseUrl = env.DATABASE_URL;
    if (!databaseUrl) {
      const embedded = await startEmbeddedPostgres({ dataDir: env.dataDir, log });
      closers.push({ name: "postgres", close: () => embedded.stop() });
      databaseUrl = embedded.url;
    }
    const db = createPool({ url: databaseUrl, log });
    closers.push({ name: "database pool", close: () => db.end() });
    await migrate(db, log);

    const coord = await createCoordinator({ redisUrl: env.REDIS_URL, db, databaseUrl, log });
    closers.push({ name: "coordination", close: () => coord.close() });
    log.info({ coordination: coord.kind, instance: coord.instanceId }, "coordination ready");

    let startupComplete = false;
    const componentChecks: Array<() => ComponentStatus> = [
      () => ({ name: "coordination", state: "ok", detail: coord.kind }),
    ];

    const telegram = token
      ? startTelegramSide({ token, config, env, db, coord, log, metrics, closers, componentChecks })
      : undefined;
    if (!telegram) {
      log.warn(
        "No TELEGRAM_BOT_TOKEN and no telegram section in the config: running API-only (nothing is delivered to Telegram)",
      );
      componentChecks.push(() => ({ name: "telegram", state: "ok", detail: "disabled (API-only)" }));
    }

    const app = await createHttpServer({
      db,
      coord,
      log,
      metrics,
      apiKeys: [...parseApiKeysEnv(env.PITWALL_API_KEYS), ...(config.api?.keys ?? [])],
      trustProxy: config.api?.trust_proxy ?? false,
      failedAuthLimit: config.api?.failed_auth_limit
        ? { count: config.api.failed_auth_limit.count, perMs: config.api.failed_auth_limit.per_ms }
        : undefined,
      components: () => componentChecks.map((check) => check()),
      startupComplete: () => startupComplete,
    });
    closers.push({ name: "http", close: () => app.close() });
    const url = await listen(app, { host: env.HOST, port: env.PORT });

    startupComplete = true;
    log.info({ url, config: configSource }, "pitwall is running");

    let stopping: Promise<void> | undefined;
    return {
      url,
      db,
      coord,
      stop(reason = "stop requested") {
        stopping ??= (async () => {
          log.info({ reason }, "shutting down");
          await closeAll();
          log.info("stopped");
        })();
        return stopping;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

interface TelegramSideDeps {
  token: string;
  config: Config;
  env: Environment;
  db: Db;
  coord: Coordinator;
  log: Logger;
  metrics: ReturnType<typeof createMetrics>;
  closers: Array<{ name: string; close: () => Promise<void> }>;
  componentChecks: Array<() => ComponentStatus>;
}

/**
 * Every instance delivers from the shared outbox; only the leader polls Telegram (a second
 * poller would get 409 Conflict). Leadership moves when the leader dies.
 */
function startTelegramSide(deps: TelegramSideDeps): { poller: () => TelegramHandle | undefined } {
  const { token, config, env, db, coord, log, metrics, closers, componentChecks } = deps;
  const apiRoot = env.TELEGRAM_API_ROOT ?? config.telegram?.api_root;
  const operators = config.telegram?.operators ?? [];
  if (operators.length === 0) {
    log.warn("telegram.operators is empty: the bot will refuse everyone until operators are configured");
  }

  // The outbox owns retries of what it sends, so its Api has no auto-retry transformer.
  const outboxApi = createOutboxApi({ token, apiRoot });
  const worker: OutboxWorker = createOutboxWorker({
    db,
    coord,
    api: outboxApi,
    log,
    metrics,
    instanceId: coord.instanceId,
  });
  worker.start();
  closers.push({ name: "outbox", close: () => worker.stop() });

  const bot = createBot(token, { operators, db, coord, log, metrics, apiRoot });
  let poller: TelegramHandle | undefined;
  const leadership: LeaderHandle = coord.campaign("telegram-poller", LEADER_TTL_MS, {
    onElected: () => {
      log.info("this instance is the leader: polling Telegram");
      poller = startTelegram(bot, { log, mode: "polling" });
    },
    onDeposed: async () => {
      log.warn("leadership lost: stopping the Telegram poller");
      const current = poller;
      poller = undefined;
      await current?.stop();
    },
  });
  closers.push({
    name: "telegram",
    close: async () => {
      await leadership.stop();
      await poller?.stop();
    },
  });

  componentChecks.push(() => {
    const delivery = worker.status();
    return {
      name: "telegram_delivery",
      state: delivery.state,
      detail: delivery.reasons.length > 0 ? delivery.reasons.join("; ") : `outbox depth ${delivery.depth}`,
    };
  });
  componentChecks.push(() => {
    if (!leadership.isLeader())
      return { name: "telegram_polling", state: "ok", detail: "follower (another instance polls)" };
    const status = poller?.status();
    return { name: "telegram_polling", state: status?.state ?? "starting", detail: status?.lastError };
  });
  return { poller: () => poller };
}
