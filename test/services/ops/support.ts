import type { FastifyInstance } from "fastify";
import { type Config, formatIssues, parseConfig } from "../../../src/config/index.ts";
import { createMetrics, type Metrics } from "../../../src/observability/metrics.ts";
import type { AlertSink, SystemAlert } from "../../../src/services/contracts.ts";
import type { HostReader } from "../../../src/services/ops/host.ts";
import { createOpsModule, type OpsModule, type OpsModuleOptions } from "../../../src/services/ops/module.ts";
import type { Db } from "../../../src/store/pool.ts";
import { buildApp, captureLogs, memoryCoordinator } from "../../http/support.ts";

export { ADMIN_KEY, bearer, CODER_KEY, READER_KEY } from "../../http/support.ts";

/** A parsed JSON answer, read by tests field by field. */
// biome-ignore lint/suspicious/noExplicitAny: answers are asserted with expect(), not typed
export type Json = Record<string, any>;

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;

/** Every fire and resolve, in order: what the alert pipeline would have been asked to do. */
export interface RecordingAlerts extends AlertSink {
  events: Array<{ type: "fire"; alert: SystemAlert } | { type: "resolve"; key: string; note?: string }>;
  fired(keyPrefix?: string): SystemAlert[];
  resolved(keyPrefix?: string): string[];
}

export function recordingAlerts(): RecordingAlerts {
  const events: RecordingAlerts["events"] = [];
  return {
    events,
    async fire(alert) {
      events.push({ type: "fire", alert });
    },
    async resolve(key, note) {
      events.push({ type: "resolve", key, ...(note === undefined ? {} : { note }) });
    },
    fired: (prefix = "") =>
      events.flatMap((event) =>
        event.type === "fire" && event.alert.key.startsWith(prefix) ? [event.alert] : [],
      ),
    resolved: (prefix = "") =>
      events.flatMap((event) =>
        event.type === "resolve" && event.key.startsWith(prefix) ? [event.key] : [],
      ),
  };
}

/** A clock the test moves; every time-dependent decision in ops reads it. */
export interface FakeClock {
  now: () => Date;
  ms(): number;
  set(at: number | string): void;
  advance(ms: number): void;
}

export function fakeClock(start: number | string): FakeClock {
  let current = typeof start === "string" ? Date.parse(start) : start;
  return {
    now: () => new Date(current),
    ms: () => current,
    set(at) {
      current = typeof at === "string" ? Date.parse(at) : at;
    },
    advance(ms) {
      current += ms;
    },
  };
}

export function config(yaml: string): Config {
  const result = parseConfig(yaml, {});
  if (!result.ok) throw new Error(`test config rejected:\n${formatIssues(result.errors)}`);
  return result.config;
}

/** A host with plenty of free memory and disk, changeable by the test. */
export function fakeHost(): HostReader & { memoryAvailable: number; memoryTotal: number; diskRatio: number } {
  const host = {
    memoryTotal: 8 * 1024 ** 3,
    memoryAvailable: 6 * 1024 ** 3,
    diskRatio: 0.4,
    async memory() {
      return {
        total_bytes: host.memoryTotal,
        available_bytes: host.memoryAvailable,
        process_rss_bytes: 100 * 1024 ** 2,
      };
    },
    async disk() {
      return {
        ratio: host.diskRatio,
        used_bytes: host.diskRatio * 100 * 1024 ** 3,
        total_bytes: 100 * 1024 ** 3,
      };
    },
  };
  return host;
}

export interface OpsHarness {
  module: OpsModule;
  app: FastifyInstance;
  alerts: RecordingAlerts;
  metrics: Metrics;
  logs: ReturnType<typeof captureLogs>["logs"];
  close(): Promise<void>;
  /** Runs a job of the module by name, as the leader's runner would. */
  runJob(name: string): Promise<void>;
}

export async function opsHarness(opts: {
  db: Db;
  config: Config;
  clock: FakeClock;
  alerts?: RecordingAlerts;
  telegramEnabled?: boolean;
  options?: OpsModuleOptions;
}): Promise<OpsHarness> {
  const { log, logs } = captureLogs();
  const metrics = createMetrics();
  const alerts = opts.alerts ?? recordingAlerts();
  const module = await createOpsModule(
    {
      config: opts.config,
      db: opts.db,
      coord: memoryCoordinator(),
      log,
      metrics,
      now: opts.clock.now,
      telegramEnabled: opts.telegramEnabled ?? false,
      alerts,
    },
    { host: fakeHost(), ...opts.options },
  );
  const { app } = await buildApp(opts.db, { registerRoutes: module.routes ?? [], metrics });
  return {
    module,
    app,
    alerts,
    metrics,
    logs,
    async close() {
      await app.close();
      await module.close?.();
    },
    async runJob(name) {
      const job = module.jobs?.find((entry) => entry.name === name);
      if (!job)
        throw new Error(`no job ${name}; jobs: ${module.jobs?.map((entry) => entry.name).join(", ")}`);
      await job.run({ log, signal: new AbortController().signal });
    },
  };
}

/** Empties every ops table between tests. */
export async function truncateOps(db: Db): Promise<void> {
  await db.query(
    `truncate usage_events, usage_hourly, usage_spike_buckets, budget_alerts, spike_alerts, breakers,
              breaker_reports, check_states, mode_state, mode_history, audit_log, outbox`,
  );
}
