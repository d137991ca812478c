import type { FastifyInstance } from "fastify";
import type { Config } from "../../../src/config/index.ts";
import { parseConfig } from "../../../src/config/index.ts";
import { createPostgresCoordinator } from "../../../src/coord/postgres.ts";
import type { Coordinator } from "../../../src/coord/types.ts";
import { createHttpServer } from "../../../src/http/server.ts";
import { silentLogger } from "../../../src/observability/logger.ts";
import { createMetrics } from "../../../src/observability/metrics.ts";
import { type AlertsModule, createAlertsModule } from "../../../src/services/alerts/module.ts";
import type { EscalationNotifiers } from "../../../src/services/alerts/notifiers.ts";
import type { AlertsService } from "../../../src/services/alerts/service.ts";
import type { Db } from "../../../src/store/pool.ts";
import { testKeys } from "../../http/support.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";

export { ADMIN_KEY, bearer, CODER_KEY, READER_KEY } from "../../http/support.ts";

/** A clock the test moves by hand: windows, group_wait and escalations without sleeping. */
export class FakeClock {
  constructor(public ms = Date.parse("2024-03-10T12:00:00Z")) {}
  now = (): Date => new Date(this.ms);
  advance(ms: number): Date {
    this.ms += ms;
    return this.now();
  }
}

export const ALERTS_CHAT = -1001234567890;
export const ESCALATION_CHAT = -1009876543210;
export const ESCALATION_THREAD = 7;

export const OPERATORS = {
  admin: { id: 1001, first_name: "Ada", language_code: "en" },
  viewer: { id: 1002, first_name: "Val", language_code: "en" },
  approver: { id: 1003, first_name: "Apu", language_code: "en" },
};

/** pitwall.yaml for the tests: Telegram with an alerts chat and an escalation forum topic. */
export function testYaml(extra = ""): string {
  return `
telegram:
  operators:
    - { id: ${OPERATORS.admin.id}, role: admin, name: Ada }
    - { id: ${OPERATORS.viewer.id}, role: viewer, name: Val }
    - { id: ${OPERATORS.approver.id}, role: approver, name: Apu }
  chats:
    alerts: ${ALERTS_CHAT}
    escalation: { id: ${ESCALATION_CHAT}, thread: ${ESCALATION_THREAD} }
${extra}`;
}

export function testConfig(yaml: string = testYaml()): Config {
  const result = parseConfig(yaml, {});
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

export interface AlertsBedOptions {
  yaml?: string;
  telegram?: boolean;
  notifiers?: EscalationNotifiers;
  clock?: FakeClock;
  /** Use this database instead of a fresh one (restart tests). */
  database?: TestDatabase;
  batch?: { maxBatch?: number; maxWaitMs?: number; maxQueued?: number };
}

export interface AlertsBed {
  t: TestDatabase;
  db: Db;
  coord: Coordinator;
  clock: FakeClock;
  config: Config;
  module: AlertsModule;
  service: AlertsService;
  app: FastifyInstance;
  post(
    payload: unknown,
    opts?: { key?: string; url?: string; headers?: Record<string, string> },
  ): Promise<{
    status: number;
    // biome-ignore lint/suspicious/noExplicitAny: tests read whichever answer shape the route gives
    body: any;
    headers: Record<string, string | string[] | number | undefined>;
  }>;
  /** Outbox rows, oldest first. */
  outbox(where?: string): Promise<OutboxRow[]>;
  close(opts?: { keepDatabase?: boolean }): Promise<void>;
}

export interface OutboxRow {
  id: number;
  kind: string;
  priority: number;
  chat_id: string;
  thread_id: number | null;
  method: string;
  payload: {
    html?: string;
    plain?: string;
    reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data: string }>> } | null;
    silent?: boolean;
  };
  message_ref: string | null;
  target_ref: string | null;
  status: string;
}

export async function createAlertsBed(opts: AlertsBedOptions = {}): Promise<AlertsBed> {
  const t = opts.database ?? (await createTestDatabase());
  const log = silentLogger();
  const coord = await createPostgresCoordinator({ db: t.db, url: t.url, log, instanceId: "alerts-test" });
  const clock = opts.clock ?? new FakeClock();
  const config = testConfig(opts.yaml);
  const metrics = createMetrics();
  const module = await createAlertsModule({
    config,
    db: t.db,
    coord,
    log,
    metrics,
    now: clock.now,
    telegramEnabled: opts.telegram ?? true,
    ...(opts.notifiers ? { notifiers: opts.notifiers } : {}),
    ...(opts.batch ? { batch: opts.batch } : {}),
  });
  const app = await createHttpServer({
    db: t.db,
    coord,
    log,
    metrics,
    apiKeys: testKeys,
    registerRoutes: module.routes ?? [],
  });
  const bed: AlertsBed = {
    t,
    db: t.db,
    coord,
    clock,
    config,
    module,
    service: module.service,
    app,
    async post(payload, o = {}) {
      const res = await app.inject({
        method: "POST",
        url: o.url ?? "/v1/alerts",
        headers: { authorization: `Bearer ${o.key ?? testKeys[0]!.key}`, ...(o.headers ?? {}) },
        payload: payload as object,
      });
      return { status: res.statusCode, body: res.body === "" ? null : res.json(), headers: res.headers };
    },
    async outbox(where = "true") {
      const { rows } = await t.db.query<OutboxRow>(`select * from outbox where ${where} order by id`);
      return rows;
    },
    async close(c = {}) {
      await app.close();
      await module.close?.();
      await coord.close();
      if (!c.keepDatabase) await t.drop();
    },
  };
  return bed;
}

/** Recording fakes of the email and PagerDuty channels. */
export function recordingNotifiers() {
  const calls: Array<{ channel: string; action: string; arg: unknown }> = [];
  let failNext = 0;
  const answer = async (channel: string, action: string, arg: unknown) => {
    calls.push({ channel, action, arg });
    if (failNext > 0) {
      failNext--;
      return { ok: false as const, retryable: true, error: "smtp 451 try later" };
    }
    return { ok: true as const };
  };
  const notifiers: EscalationNotifiers = {
    email: { send: (message) => answer("email", "send", message) },
    pagerduty: {
      trigger: (incident) => answer("pagerduty", "trigger", incident),
      acknowledge: (key) => answer("pagerduty", "acknowledge", key),
      resolve: (key) => answer("pagerduty", "resolve", key),
    },
  };
  return {
    notifiers,
    calls,
    failNext(n: number) {
      failNext = n;
    },
  };
}

/** Visible text of a queued message. */
export function textOf(row: OutboxRow): string {
  return row.payload.plain ?? "";
}

export function buttonsOf(row: OutboxRow): string[] {
  return (row.payload.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.callback_data);
}
