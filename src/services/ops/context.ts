import type { Config } from "../../config/index.ts";
import type { Logger } from "../../observability/logger.ts";
import type { Actor } from "../../store/audit.ts";
import type { Db } from "../../store/pool.ts";
import type { AlertEmitter } from "./alerts.ts";
import type { OpsCounters } from "./metrics.ts";

/** What every ops service works with; built once by the module from ModuleDeps. */
export interface OpsContext {
  config: Config;
  db: Db;
  log: Logger;
  /** The clock in epoch milliseconds (guards speak ms). */
  now: () => number;
  alerts: AlertEmitter;
  counters: OpsCounters;
  /** True when chat messages may be enqueued (a bot is configured). */
  telegramEnabled: boolean;
}

/** The actor of changes pitwall makes by itself (jobs, probes). */
export const SYSTEM_ACTOR: Actor = { type: "system", id: "pitwall", name: "pitwall" };

/** The time zone windows and chat times follow (DESIGN: daily windows follow digest.timezone). */
export function opsTimeZone(config: Config): string {
  return config.digest.timezone;
}
