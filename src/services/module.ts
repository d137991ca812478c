import type { FastifyInstance } from "fastify";
import type { BotFeature } from "../bot/create-bot.ts";
import type { Config } from "../config/index.ts";
import type { Coordinator } from "../coord/types.ts";
import type { Job } from "../jobs/runner.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Db } from "../store/pool.ts";
import type { AlertSink, ModeReader } from "./contracts.ts";

/**
 * What every feature area (alerts, approvals, ops, digest) receives from main. Nothing here is
 * global: tests build the same deps against their own database, coordinator and clock.
 */
export interface ModuleDeps {
  config: Config;
  db: Db;
  coord: Coordinator;
  log: Logger;
  metrics: Metrics;
  /** The clock; every time-dependent decision uses it (tests pass a fake). */
  now: () => Date;
  /**
   * True when a Telegram bot is configured. Without one, nothing is enqueued for Telegram
   * (there is no one to deliver it); the HTTP API works the same.
   */
  telegramEnabled: boolean;
  /** Raising and resolving alerts (from the alerts module; ops and delivery use it). */
  alerts?: AlertSink;
  /** The current mode (from the ops module; approvals use it for MAINTENANCE). */
  mode?: ModeReader;
}

/**
 * A feature area's parts, which main wires: HTTP routes (under /v1, authenticated), bot features,
 * leader-only jobs, and a closer for anything it started.
 */
export interface PitwallModule {
  name: string;
  routes?: Array<(app: FastifyInstance) => Promise<void>>;
  botFeatures?: BotFeature[];
  jobs?: Job[];
  close?(): Promise<void>;
}
