import { createBot } from "./bot/create-bot.ts";
import { startTelegram, type TelegramHandle } from "./bot/polling.ts";
import type { Config } from "./config/index.ts";
import { createCoordinator } from "./coord/index.ts";
import type { Coordinator } from "./coord/types.ts";
import { createOutboxApi, createOutboxWorker } from "./delivery/index.ts";
import type { Environment } from "./env.ts";
import { parseApiKeysEnv } from "./http/api-keys.ts";
import { listen } from "./http/listen.ts";
import { type ComponentStatus, createHttpServer } from "./http/server.ts";
import { createJobRunner } from "./jobs/runner.ts";
import type { Logger } from "./observability/logger.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";
import type { ModuleDeps, PitwallModule } from "./services/module.ts";
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
  /** Graceful shutdown: stops polling and jobs, finishes in-flight work, closes HTTP, stops Postgres. */
  stop(reason?: string): Promise<void>;
}

export interface StartOptions {
  config: Config;
  configSource: string;
  env: Environment;
  log: Logger;
  /** The clock (tests); default the system clock. */
  now?: () => Date;
}

/** How long a dead leader's lease outlives it: another instance takes over within this. */
const LEADER_TTL_MS = 15_000;

type Closer = { name: string; close: () => Promise<void> };

/**
 * The feature areas, in dependency order: later ones may use what earlier ones provide (the
 * alerts module provides the AlertSink that ops and delivery raise alerts through).
 */
const MODULE_FACTORIES: Array<
  (deps: ModuleDeps) => Promise<PitwallModule & Partial<Pick<ModuleDeps, "alerts" | "mode">>>
> = [];

/**
 * The composition root: config -> store -> coordination -> feature modules -> http, bot, delivery,
 * leader jobs. The only place that wires modules together. Every started resource registers its
 * closer, so a failure half-way through startup undoes what was started, in reverse order.
 */
export async function startPitwall({
  config,
  configSource,
  env,
  log,
  now,
}: StartOptions): Promise<RunningPitwall> {
  const closers: Closer[] = [];
  const closeAll = async () => {
    for (const { name, close } of closers.splice(0).reverse()) {
      await close().catch((err) => log.warn({ err, component: name }, "error while stopping"));
    }
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

    const moduleDeps: ModuleDeps = {
      config,
      db,
      coord,
      log,
      metrics,
      now: now ?? (() => new Date()),
      telegramEnabled: Boolean(token),
    };
    const modules: PitwallModule[] = [];
    for (const factory of MODULE_FACTORIES) {
      const module = await factory(moduleDeps);
      modules.push(module);
      if (module.close) closers.push({ name: module.name, close: () => module.close!() });
      if (module.alerts) moduleDeps.alerts = module.alerts;
      if (module.mode) moduleDeps.mode = module.mode;
    }

    let startupComplete = false;
    const componentChecks: Array<() => ComponentStatus> = [
      () => ({ name: "coordination", state: "ok", detail: coord.kind }),
    ];
    const jobs = createJobRunner({ jobs: modules.flatMap((m) => m.jobs ?? []), log });
    const telegram = token
      ? startTelegramSide({ token, config, env, db, coord, log, metrics, modules, closers, componentChecks })
      : undefined;
    if (!telegram) {
      log.warn(
        "No TELEGRAM_BOT_TOKEN and no telegram section in the config: running API-only (nothing is delivered to Telegram)",
      );
      componentChecks.push(() => ({ name: "telegram", state: "ok", detail: "disabled (API-only)" }));
    }

    // One leader runs the jobs and, in polling mode, the Telegram poller (a second poller would
    // get 409 Conflict). Leadership moves within LEADER_TTL_MS when the leader dies.
    let isLeader = false;
    const leadership = coord.campaign("leader", LEADER_TTL_MS, {
      onElected: () => {
        isLeader = true;
        log.info("this instance is the leader: running jobs" + (telegram ? " and polling Telegram" : ""));
        jobs.start();
        telegram?.startPolling();
      },
      onDeposed: async () => {
        isLeader = false;
        log.warn("leadership lost: stopping jobs and the Telegram poller");
        await Promise.all([jobs.stop(), telegram?.stopPolling()]);
      },
    });
    closers.push({
      name: "leadership",
      close: async () => {
        await leadership.stop();
        await Promise.all([jobs.stop(), telegram?.stopPolling()]);
      },
    });
    componentChecks.push(() => ({
      name: "leadership",
      state: "ok",
      detail: isLeader ? "leader" : "follower",
    }));

    const app = await createHttpServer({
      db,
      coord,
      log,
      metrics,
      apiKeys: [...parseApiKeysEnv(env.PITWALL_API_KEYS), ...config.api.keys],
      trustProxy: config.api.trust_proxy,
      failedAuthLimit: {
        count: config.api.failed_auth_limit.count,
        perMs: config.api.failed_auth_limit.per_ms,
      },
      components: () => componentChecks.map((check) => check()),
      startupComplete: () => startupComplete,
      registerRoutes: modules.flatMap((m) => m.routes ?? []),
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
  metrics: Metrics;
  modules: PitwallModule[];
  closers: Closer[];
  componentChecks: Array<() => ComponentStatus>;
}

/** Every instance delivers from the shared outbox; only the leader polls (see startPitwall). */
function startTelegramSide(deps: TelegramSideDeps) {
  const { token, config, env, db, coord, log, metrics, closers, componentChecks } = deps;
  const apiRoot = env.TELEGRAM_API_ROOT ?? config.telegram?.api_root;
  const operators = config.telegram?.operators ?? [];
  if (operators.length === 0) {
    log.warn("telegram.operators is empty: the bot will refuse everyone until operators are configured");
  }

  // The outbox owns retries of what it sends, so its Api has no auto-retry transformer.
  const worker = createOutboxWorker({
    db,
    coord,
    api: createOutboxApi({ token, apiRoot }),
    log,
    metrics,
    instanceId: coord.instanceId,
  });
  worker.start();
  closers.push({ name: "outbox", close: () => worker.stop() });

  const bot = createBot(token, {
    operators,
    db,
    coord,
    log,
    metrics,
    apiRoot,
    features: deps.modules.flatMap((m) => m.botFeatures ?? []),
  });
  let poller: TelegramHandle | undefined;

  componentChecks.push(() => {
    const delivery = worker.status();
    return {
      name: "telegram_delivery",
      state: delivery.state,
      detail: delivery.reasons.length > 0 ? delivery.reasons.join("; ") : `outbox depth ${delivery.depth}`,
    };
  });
  componentChecks.push(() => {
    if (!poller)
      return { name: "telegram_polling", state: "ok", detail: "not the leader: another instance polls" };
    const status = poller.status();
    return { name: "telegram_polling", state: status.state, detail: status.lastError };
  });

  return {
    startPolling() {
      poller ??= startTelegram(bot, { log, mode: "polling" });
    },
    async stopPolling() {
      const current = poller;
      poller = undefined;
      await current?.stop();
    },
  };
}
