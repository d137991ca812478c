import { randomBytes } from "node:crypto";
import { createBot } from "./bot/create-bot.ts";
import { startTelegram, type TelegramHandle } from "./bot/polling.ts";
import { startWebhook, telegramWebhookRoute } from "./bot/webhook.ts";
import type { Config } from "./config/index.ts";
import {
  ConsoleConfigError,
  type ConsolePlan,
  consoleRoutes,
  demoConfig,
  LOCAL_PACING,
  type LocalTelegram,
  planLocalConsole,
  startDemo,
  startLocalTelegram,
} from "./console/index.ts";
import { createCoordinator } from "./coord/index.ts";
import type { Coordinator } from "./coord/types.ts";
import { createOutboxApi, createOutboxWorker } from "./delivery/index.ts";
import { createDeliveryAlertHandler, createNotifiers, type Notifiers } from "./delivery/notifiers/index.ts";
import type { Environment } from "./env.ts";
import { type ApiKey, parseApiKeysEnv } from "./http/api-keys.ts";
import { listen } from "./http/listen.ts";
import { type ComponentStatus, createHttpServer } from "./http/server.ts";
import { createRetentionJob } from "./jobs/retention.ts";
import { createJobRunner } from "./jobs/runner.ts";
import type { Logger } from "./observability/logger.ts";
import { createMetrics, type Metrics } from "./observability/metrics.ts";
import { createAlertsModule } from "./services/alerts/module.ts";
import { createApprovalsModule } from "./services/approvals/module.ts";
import { createDigestModule } from "./services/digest/module.ts";
import type { ModuleDeps, PitwallModule } from "./services/module.ts";
import { createOpsModule } from "./services/ops/module.ts";
import { createDatabaseClock } from "./store/db-clock.ts";
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
  /**
   * Play the demo stream through the HTTP API (`--demo` / PITWALL_DEMO=1). Only with the local
   * console: a real bot's chats never get demo traffic.
   */
  demo?: boolean;
}

/** How long a dead leader's lease outlives it: another instance takes over within this. */
const LEADER_TTL_MS = 15_000;

type Closer = { name: string; close: () => Promise<void> };

/**
 * The feature areas, in dependency order: later ones may use what earlier ones provide (the
 * alerts module provides the AlertSink that ops and delivery raise alerts through).
 */
const MODULE_FACTORIES: Array<
  (
    deps: ModuleDeps,
    extras: { notifiers: Notifiers },
  ) => Promise<PitwallModule & Partial<Pick<ModuleDeps, "alerts" | "mode">>>
> = [
  (deps, { notifiers }) => createAlertsModule({ ...deps, notifiers }),
  (deps) => createOpsModule(deps),
  (deps) => createApprovalsModule(deps),
  (deps, { notifiers }) => createDigestModule({ ...deps, notifiers }),
];

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
  demo,
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
  // No token and no telegram section (a newcomer's first run): a local Telegram in this process
  // and the web console at /console, unless console.enabled is false or HOST is not loopback.
  let consolePlan: ConsolePlan | undefined;
  try {
    consolePlan = token ? undefined : planLocalConsole(config, env.HOST);
  } catch (err) {
    if (err instanceof ConsoleConfigError) throw new StartupError(`${configSource}: ${err.message}`);
    throw err;
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
    // Every instance keeps the database's time (db-clock.ts); tests bring their own clock.
    let clockNow = now;
    if (!clockNow) {
      const clock = await createDatabaseClock(db, log);
      closers.push({ name: "database clock", close: async () => clock.close() });
      clockNow = clock.now;
    }

    const coord = await createCoordinator({ redisUrl: env.REDIS_URL, db, databaseUrl, log });
    closers.push({ name: "coordination", close: () => coord.close() });
    log.info({ coordination: coord.kind, instance: coord.instanceId }, "coordination ready");

    let local: LocalTelegram | undefined;
    if (consolePlan?.kind === "console") {
      const started = await startLocalTelegram({ log });
      local = started;
      closers.push({ name: "local Bot API", close: () => started.stop() });
    }
    const runDemo = demo === true && local !== undefined;
    // The local run behaves as if it had a telegram section: its operators and chats.
    const effectiveConfig: Config = local
      ? { ...(runDemo ? demoConfig(config) : config), telegram: local.telegram }
      : config;

    const notifiers = createNotifiers(effectiveConfig, log);
    if (notifiers.email) {
      const email = notifiers.email;
      closers.push({ name: "email", close: async () => email.close() });
    }
    const moduleDeps: ModuleDeps = {
      config: effectiveConfig,
      db,
      coord,
      log,
      metrics,
      now: clockNow,
      telegramEnabled: Boolean(token) || local !== undefined,
    };
    const modules: PitwallModule[] = [];
    for (const factory of MODULE_FACTORIES) {
      const module = await factory(moduleDeps, { notifiers });
      modules.push(module);
      if (module.close) closers.push({ name: module.name, close: () => module.close!() });
      if (module.alerts) moduleDeps.alerts = module.alerts;
      if (module.mode) moduleDeps.mode = module.mode;
    }

    let startupComplete = false;
    const componentChecks: Array<() => ComponentStatus> = [
      () => ({ name: "coordination", ...(coord.health?.() ?? { state: "ok", detail: coord.kind }) }),
    ];
    const jobs = createJobRunner({
      jobs: [
        ...modules.flatMap((m) => m.jobs ?? []),
        createRetentionJob({ db, config: effectiveConfig, log, now: moduleDeps.now }),
      ],
      log,
    });
    const botToken = token ?? local?.token;
    const telegram = botToken
      ? startTelegramSide({
          token: botToken,
          config: effectiveConfig,
          env,
          db,
          coord,
          log,
          metrics,
          modules,
          closers,
          componentChecks,
          local,
          notifiers,
        })
      : undefined;
    if (local) {
      componentChecks.push(() => ({ name: "telegram", state: "ok", detail: "local console (no bot token)" }));
    } else if (!telegram) {
      if (consolePlan?.kind === "api-only") log.warn(consolePlan.reason);
      componentChecks.push(() => ({ name: "telegram", state: "ok", detail: "disabled (API-only)" }));
    }
    if (demo && !runDemo) {
      log.warn(
        "--demo plays only into the local console (no TELEGRAM_BOT_TOKEN, no telegram section): ignored",
      );
    }
    // The demo's agent acts through the public API with a key that lives as long as this process.
    const demoKey: ApiKey | undefined = runDemo
      ? { name: "pitwall-demo", key: randomBytes(24).toString("base64url"), scopes: ["all"] }
      : undefined;
    const consoleSide =
      local && consolePlan?.kind === "console"
        ? consoleRoutes({
            emulator: local.api.emulator,
            log,
            coord,
            password: consolePlan.password,
            allowRemote: consolePlan.allowRemote,
            failedAuthLimit: {
              count: config.api.failed_auth_limit.count,
              perMs: config.api.failed_auth_limit.per_ms,
            },
            demo: runDemo,
          })
        : undefined;

    // One leader runs the jobs and, in polling mode, the Telegram poller (a second poller would
    // get 409 Conflict). Leadership moves within LEADER_TTL_MS when the leader dies.
    let isLeader = false;
    const leadership = coord.campaign("leader", LEADER_TTL_MS, {
      onElected: () => {
        isLeader = true;
        log.info(`this instance is the leader: running jobs${telegram ? ` and ${telegram.leaderDuty}` : ""}`);
        jobs.start();
        telegram?.startPolling();
      },
      onDeposed: async () => {
        isLeader = false;
        log.info("not the leader any more (lost, or shutting down): stopping jobs and the Telegram poller");
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
      apiKeys: [...parseApiKeysEnv(env.PITWALL_API_KEYS), ...config.api.keys, ...(demoKey ? [demoKey] : [])],
      trustProxy: config.api.trust_proxy,
      failedAuthLimit: {
        count: config.api.failed_auth_limit.count,
        perMs: config.api.failed_auth_limit.per_ms,
      },
      keyRateLimit: config.api.key_rate_limit
        ? { count: config.api.key_rate_limit.count, perMs: config.api.key_rate_limit.per_ms }
        : null,
      components: () => componentChecks.map((check) => check()),
      startupComplete: () => startupComplete,
      registerRoutes: [
        ...modules.flatMap((m) => m.routes ?? []),
        ...(telegram?.routes ?? []),
        ...(consoleSide ? [consoleSide.register] : []),
      ],
    });
    closers.push({ name: "http", close: () => closeHttp(app) });
    // Open console pages are cut before the HTTP server waits for its requests to finish.
    if (consoleSide) closers.push({ name: "console", close: async () => consoleSide.stream.close() });
    const url = await listen(app, { host: env.HOST, port: env.PORT });
    if (local) log.warn(`No TELEGRAM_BOT_TOKEN: open ${url}/console to use pitwall in a local chat`);
    if (demoKey) {
      const demoRun = startDemo({ baseUrl: url, apiKey: demoKey.key, log });
      closers.push({ name: "demo", close: () => demoRun.stop() });
    }

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
  /** The local Bot API of a console run: the bot and the outbox talk to it instead of Telegram. */
  local?: LocalTelegram;
  notifiers: Notifiers;
}

/** Every instance delivers from the shared outbox; only the leader polls (see startPitwall). */
function startTelegramSide(deps: TelegramSideDeps) {
  const { token, config, env, db, coord, log, metrics, closers, componentChecks } = deps;
  const apiRoot = deps.local?.apiRoot ?? env.TELEGRAM_API_ROOT ?? config.telegram?.api_root;
  const operators = config.telegram?.operators ?? [];
  if (operators.length === 0) {
    log.warn("telegram.operators is empty: the bot will refuse everyone until operators are configured");
  }

  // The outbox owns retries of what it sends, so its Api has no auto-retry transformer.
  // A row undelivered for 2 minutes raises a delivery alert by email/PagerDuty when configured
  // (Telegram itself is what is failing, so it cannot carry that alert).
  const deliveryAlert =
    deps.notifiers.email || deps.notifiers.pagerduty
      ? createDeliveryAlertHandler({ notifiers: deps.notifiers, log })
      : undefined;
  const worker = createOutboxWorker({
    db,
    coord,
    api: createOutboxApi({ token, apiRoot }),
    log,
    metrics,
    instanceId: coord.instanceId,
    ...(deliveryAlert
      ? { onStuck: (rows) => deliveryAlert.onStuck(rows), onRecovered: () => deliveryAlert.onRecovered() }
      : {}),
    // Telegram's limits do not apply to the local Bot API (see LOCAL_PACING).
    ...(deps.local ? { pacing: LOCAL_PACING } : {}),
  });
  worker.start();
  closers.push({ name: "outbox", close: () => worker.stop() });
  // Pushed after the worker so it runs first at shutdown: it cuts a delivery alert's retry wait
  // short, which would otherwise hold worker.stop() past the shutdown deadline.
  if (deliveryAlert) closers.push({ name: "delivery alerts", close: async () => deliveryAlert.close() });

  const bot = createBot(token, {
    operators,
    db,
    coord,
    log,
    metrics,
    apiRoot,
    features: deps.modules.flatMap((m) => m.botFeatures ?? []),
    // The report's per-user limit on typed commands (approval requests per key use it too).
    commandRateLimit: {
      count: config.safety.output.rate_limit_per_user.count,
      perMs: config.safety.output.rate_limit_per_user.per_ms,
    },
  });
  let poller: TelegramHandle | undefined;

  // Webhook mode: every instance takes updates on this route, which createHttpServer registers
  // later (startTelegramSide runs before it); only the leader sets the webhook (startPolling).
  // A console run always polls its in-process Bot API.
  const webhook = !deps.local && config.telegram?.mode === "webhook" ? config.telegram.webhook : null;
  const webhookRoute = webhook
    ? telegramWebhookRoute(bot, {
        path: new URL(webhook.url).pathname,
        secretToken: webhook.secret_token,
        coord,
        log,
        metrics,
      })
    : undefined;
  // Closers run in reverse: this runs after the HTTP server closed, so updates whose handling
  // outlived their request (answered 200 after 8 s) finish before the pool closes.
  if (webhookRoute) {
    closers.push({
      name: "telegram webhook",
      close: async () => {
        await webhookRoute.drain();
      },
    });
  }

  componentChecks.push(() => {
    const delivery = worker.status();
    return {
      name: "telegram_delivery",
      state: delivery.state,
      detail: delivery.reasons.length > 0 ? delivery.reasons.join("; ") : `outbox depth ${delivery.depth}`,
    };
  });
  componentChecks.push(() => {
    const name = webhook ? "telegram_webhook" : "telegram_polling";
    if (webhookRoute && webhookRoute.status().state !== "ok")
      return { name, state: "starting", detail: "waiting for getMe: webhook requests get 503 until then" };
    if (!poller) {
      const detail = webhook
        ? "taking webhook updates; the leader keeps the webhook set"
        : "not the leader: another instance polls";
      return { name, state: "ok", detail };
    }
    const status = poller.status();
    return { name, state: status.state, detail: status.lastError };
  });

  return {
    /** The webhook route for createHttpServer's registerRoutes (empty in polling mode). */
    routes: webhookRoute ? [webhookRoute] : [],
    leaderDuty: webhook ? "keeping the Telegram webhook set" : "polling Telegram",
    /** On the leader: polling mode polls; webhook mode sets the webhook (never deletes it on stop). */
    startPolling() {
      poller ??= webhook
        ? startWebhook(bot, { url: webhook.url, secretToken: webhook.secret_token, log })
        : startTelegram(bot, { log, mode: "polling" });
    },
    async stopPolling() {
      const current = poller;
      poller = undefined;
      await current?.stop();
    },
  };
}

/**
 * Closes the HTTP server without waiting out keep-alive timers: a client that just got its
 * answer keeps its connection open (idle) for up to 72 s, past the 10 s shutdown budget; idle
 * connections are closed as they appear while in-flight requests finish.
 */
async function closeHttp(app: Awaited<ReturnType<typeof createHttpServer>>): Promise<void> {
  const sweep = setInterval(() => app.server.closeIdleConnections(), 200);
  try {
    await app.close();
  } finally {
    clearInterval(sweep);
  }
}
