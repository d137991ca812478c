import type { FastifyInstance } from "fastify";
import { createBot, type PitwallBot } from "../../src/bot/create-bot.ts";
import { startTelegram, type TelegramHandle } from "../../src/bot/polling.ts";
import type { Config } from "../../src/config/index.ts";
import { createPostgresCoordinator } from "../../src/coord/postgres.ts";
import type { Coordinator } from "../../src/coord/types.ts";
import { createOutboxApi, createOutboxWorker, type OutboxWorker } from "../../src/delivery/index.ts";
import { createHttpServer } from "../../src/http/server.ts";
import { createLogger, type Logger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { type ApprovalsModule, createApprovalsModule } from "../../src/services/approvals/module.ts";
import type { Db } from "../../src/store/pool.ts";
import { FAST_LIMITS, FAST_PACING, FAST_RETRY } from "../delivery/support.ts";
import { startFakeBotApi } from "../fake-bot-api/index.ts";
import type { FakeBotApi, StoredMessage } from "../fake-bot-api/types.ts";
import { ADMIN_KEY, bearer, testKeys } from "../http/support.ts";
import { APPROVALS_CHAT, type FakeClock, until } from "../services/approvals/support.ts";

/** pitwall's approvals end to end: HTTP app, outbox worker, bot polling the fake Bot API. */
export interface TelegramBed {
  fake: FakeBotApi;
  module: ApprovalsModule;
  app: FastifyInstance;
  bot: PitwallBot;
  coord: Coordinator;
  worker: OutboxWorker;
  logs: string[];
  post(body: object): Promise<{ status: number; body: Record<string, unknown> }>;
  get(url: string): Promise<Record<string, unknown>>;
  /** The card of approval `id` in the approvals chat, once delivered. */
  card(ref: string): Promise<StoredMessage>;
  /** Messages the bot sent to the approvals chat. */
  chatMessages(): StoredMessage[];
  close(): Promise<void>;
}

export async function startTelegramBed(opts: {
  db: Db;
  url: string;
  config: Config;
  clock: FakeClock;
}): Promise<TelegramBed> {
  const logs: string[] = [];
  const log: Logger = createLogger({
    level: "debug",
    destination: {
      write(line: string) {
        logs.push(line);
        if (process.env.APPROVALS_TEST_LOG) process.stderr.write(line);
      },
    },
  });
  const fake = await startFakeBotApi({ limits: FAST_LIMITS, longPollMaxMs: 300 });
  const coord = await createPostgresCoordinator({ db: opts.db, url: opts.url, log, instanceId: "bed" });
  const metrics = createMetrics();
  const module = await createApprovalsModule({
    config: opts.config,
    db: opts.db,
    coord,
    log,
    metrics,
    now: opts.clock.now,
    telegramEnabled: true,
  });
  const worker = createOutboxWorker({
    db: opts.db,
    coord,
    api: createOutboxApi({ token: fake.token, apiRoot: fake.apiRoot }),
    log,
    metrics,
    instanceId: "bed",
    pacing: FAST_PACING,
    retry: FAST_RETRY,
    leaseMs: 5_000,
    callTimeoutMs: 2_000,
    pollMs: 100,
    housekeepingMs: 1_000,
  });
  worker.start();
  const bot = createBot(fake.token, {
    operators: opts.config.telegram?.operators ?? [],
    db: opts.db,
    coord,
    log,
    apiRoot: fake.apiRoot,
    features: module.botFeatures ?? [],
  });
  const handle: TelegramHandle = startTelegram(bot, {
    log,
    mode: "polling",
    retry: { initialMs: 20, maxMs: 200 },
    pollTimeoutSeconds: 1,
  });
  const app = await createHttpServer({
    db: opts.db,
    coord,
    log,
    metrics,
    apiKeys: testKeys,
    registerRoutes: module.routes ?? [],
  });

  const chatMessages = () => fake.messages(APPROVALS_CHAT).filter((message) => message.outgoing);
  return {
    fake,
    module,
    app,
    bot,
    coord,
    worker,
    logs,
    async post(body) {
      const res = await app.inject({
        method: "POST",
        url: "/v1/approvals",
        headers: bearer(ADMIN_KEY),
        payload: body,
      });
      return { status: res.statusCode, body: res.json() };
    },
    async get(url) {
      const res = await app.inject({ method: "GET", url, headers: bearer(ADMIN_KEY) });
      return res.json();
    },
    async card(ref) {
      const row = await until(async () => {
        const { rows } = await opts.db.query<{ message_id: number }>(
          "select message_id from telegram_messages where ref = $1",
          [ref],
        );
        return rows[0];
      }, `the card ${ref}`);
      return fake.messages(APPROVALS_CHAT).find((message) => message.message_id === row.message_id)!;
    },
    chatMessages,
    async close() {
      await handle.stop();
      await worker.stop();
      await app.close();
      await module.close?.();
      await coord.close();
      await fake.stop();
    },
  };
}

/** Polls a condition no event signals (rows, the chat): the approvals tests' own helper. */
export { until };

/** Button texts of a message's inline keyboard, row by row. */
export function buttonTexts(message: StoredMessage | undefined): string[][] {
  const markup = message?.reply_markup as { inline_keyboard?: Array<Array<{ text: string }>> } | undefined;
  return (markup?.inline_keyboard ?? []).map((row) => row.map((button) => button.text));
}
