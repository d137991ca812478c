import type { Api } from "grammy";
import { createPostgresCoordinator } from "../../src/coord/postgres.ts";
import type { Coordinator } from "../../src/coord/types.ts";
import { createOutboxApi } from "../../src/delivery/telegram.ts";
import {
  createOutboxWorker,
  type OutboxWorker,
  type OutboxWorkerOptions,
} from "../../src/delivery/worker.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { createMetrics, type Metrics } from "../../src/observability/metrics.ts";
import type { Db } from "../../src/store/pool.ts";
import { startFakeBotApi } from "../fake-bot-api/index.ts";
import type { FakeBotApi, FakeBotApiOptions } from "../fake-bot-api/types.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

/** Limits high enough that functional tests are not slowed by pacing, still enforced by the fake. */
export const FAST_LIMITS = {
  perChatPerSecond: 50,
  privateBurst: 10,
  perGroupPerMinute: 3000,
  globalPerSecond: 500,
} as const;

/** Worker pacing that stays inside FAST_LIMITS (burst + rate - 1 under each window). */
export const FAST_PACING = {
  private: { limit: 40, periodMs: 1000, burst: 5 },
  group: { limit: 2000, periodMs: 60_000, burst: 20 },
  global: { limit: 300, periodMs: 1000, burst: 20 },
};

/** The report's retry policy, scaled down so retries happen within a test. */
export const FAST_RETRY = {
  report: {
    max_attempts: 3,
    backoff: "exponential" as const,
    initial_delay: 50,
    max_delay: 400,
    multiplier: 2,
    jitter: false,
  },
  steadyDelayMs: 400,
  slowDelayMs: 400,
  unauthorizedPauseMs: 300,
};

export interface DeliveryBed {
  t: TestDatabase;
  db: Db;
  coord: Coordinator;
  fake: FakeBotApi;
  api: Api;
  metrics: Metrics;
  /** A worker with fast test settings; stopped by `reset()`/`close()`. */
  worker(overrides?: Partial<OutboxWorkerOptions>): OutboxWorker;
  /** Empty tables, a fresh fake, workers stopped: between tests. */
  reset(fakeOptions?: FakeBotApiOptions): Promise<void>;
  close(): Promise<void>;
}

export async function createDeliveryBed(): Promise<DeliveryBed> {
  const t = await createTestDatabase();
  const coord = await createPostgresCoordinator({
    db: t.db,
    url: t.url,
    log: silentLogger(),
    instanceId: "test",
  });
  const workers: OutboxWorker[] = [];
  const bed: DeliveryBed = {
    t,
    db: t.db,
    coord,
    fake: await startFakeBotApi({ limits: FAST_LIMITS }),
    api: undefined as unknown as Api,
    metrics: createMetrics(),
    worker(overrides = {}) {
      const worker = createOutboxWorker({
        db: t.db,
        coord,
        api: bed.api,
        log: silentLogger(),
        metrics: bed.metrics,
        instanceId: `w${workers.length + 1}`,
        pacing: FAST_PACING,
        retry: FAST_RETRY,
        leaseMs: 5_000,
        callTimeoutMs: 2_000,
        pollMs: 100,
        housekeepingMs: 100,
        ...overrides,
      });
      workers.push(worker);
      return worker;
    },
    async reset(fakeOptions) {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await bed.fake.stop();
      await t.db.query(
        "truncate outbox, telegram_messages, chat_migrations, delivery_chats, coord_rate restart identity",
      );
      bed.fake = await startFakeBotApi({ limits: FAST_LIMITS, ...fakeOptions });
      bed.api = createOutboxApi({ token: bed.fake.token, apiRoot: bed.fake.apiRoot });
      bed.metrics = createMetrics();
    },
    async close() {
      await Promise.all(workers.splice(0).map((w) => w.stop()));
      await bed.fake.stop();
      await coord.close();
      await t.drop();
    },
  };
  bed.api = createOutboxApi({ token: bed.fake.token, apiRoot: bed.fake.apiRoot });
  return bed;
}

/** Polls `probe` until it returns something other than undefined/false/null. */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface RowState {
  id: number;
  status: string;
  outcome: string | null;
  method: string;
  chat_id: string;
  attempts: number;
  last_error: string | null;
  telegram_message_id: number | null;
  superseded_by: number | null;
  as_plain: boolean;
}

export async function row(db: Db, id: number): Promise<RowState> {
  const { rows } = await db.query<RowState>(
    `select id, status, outcome, method, chat_id, attempts, last_error, telegram_message_id, superseded_by, as_plain
       from outbox where id = $1`,
    [id],
  );
  if (!rows[0]) throw new Error(`no outbox row ${id}`);
  return rows[0];
}

export async function pendingCount(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "select count(*)::int as n from outbox where status = 'pending'",
  );
  return rows[0]!.n;
}

/** Waits until no row is pending. */
export function allDelivered(db: Db, timeoutMs = 10_000): Promise<true> {
  return waitUntil(async () => (await pendingCount(db)) === 0, "every outbox row delivered", timeoutMs);
}
