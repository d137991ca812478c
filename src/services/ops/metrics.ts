import { Counter, Gauge, type Registry } from "prom-client";
import type { Logger } from "../../observability/logger.ts";

/** Counted by the instance that records the usage (Prometheus sums instances). */
export interface OpsCounters {
  usageTokens: Counter<"provider" | "kind">;
  usageCost: Counter<"provider">;
}

/** Readers of the shared state in Postgres, called at scrape time (see `registerOpsGauges`). */
export interface GaugeSources {
  budgets(): Promise<Array<{ budget: string; key: string; ratio: number }>>;
  breakers(): Promise<Array<{ name: string; state: string }>>;
  mode(): Promise<string>;
  checks(): Promise<Array<{ name: string; status: string }>>;
}

export const BREAKER_STATES = ["closed", "open", "half_open"] as const;
export const CHECK_STATUSES = ["unknown", "up", "failing", "down"] as const;
export const MODE_NAMES = ["FULL", "DEGRADED", "MINIMAL", "MAINTENANCE"] as const;

export function createOpsCounters(registry: Registry): OpsCounters {
  const registers = [registry];
  return {
    usageTokens: new Counter({
      name: "pitwall_usage_tokens_total",
      help: "Tokens reported through POST /v1/usage, by provider and kind (input, output, saved by cache)",
      labelNames: ["provider", "kind"] as const,
      registers,
    }),
    usageCost: new Counter({
      name: "pitwall_usage_cost_usd_total",
      help: "Cost in USD reported or computed from prices, by provider",
      labelNames: ["provider"] as const,
      registers,
    }),
  };
}

/**
 * Gauges of shared state. Every instance reads them from Postgres when scraped, so whichever
 * instance Prometheus asks shows the same truth (a value set in memory would only be right on the
 * instance that made the change). A failed read keeps the previous values and logs.
 */
export function registerOpsGauges(registry: Registry, sources: GaugeSources, log: Logger): void {
  const registers = [registry];
  const guarded = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      log.warn({ err: { message: (err as Error).message }, gauge: what }, "could not refresh a gauge");
    }
  };

  const budgetRatio: Gauge<"budget" | "key"> = new Gauge({
    name: "pitwall_budget_ratio",
    help: "Budget used / limit in the current window (1 = exhausted)",
    labelNames: ["budget", "key"] as const,
    registers,
    collect: () =>
      guarded("budget_ratio", async () => {
        const rows = await sources.budgets();
        budgetRatio.reset();
        for (const row of rows) budgetRatio.set({ budget: row.budget, key: row.key }, row.ratio);
      }),
  });

  const breakerState: Gauge<"breaker" | "state"> = new Gauge({
    name: "pitwall_breaker_state",
    help: "Circuit breaker state: 1 for the state in effect, 0 for the others",
    labelNames: ["breaker", "state"] as const,
    registers,
    collect: () =>
      guarded("breaker_state", async () => {
        const rows = await sources.breakers();
        breakerState.reset();
        for (const row of rows) {
          for (const state of BREAKER_STATES) {
            breakerState.set({ breaker: row.name, state }, row.state === state ? 1 : 0);
          }
        }
      }),
  });

  const mode: Gauge<"mode"> = new Gauge({
    name: "pitwall_mode",
    help: "Degradation mode: 1 for the mode in effect, 0 for the others",
    labelNames: ["mode"] as const,
    registers,
    collect: () =>
      guarded("mode", async () => {
        const current = await sources.mode();
        for (const name of MODE_NAMES) mode.set({ mode: name }, current === name ? 1 : 0);
      }),
  });

  const checkStatus: Gauge<"check" | "status"> = new Gauge({
    name: "pitwall_check_status",
    help: "Health check status: 1 for the status in effect (unknown, up, failing, down), 0 for the others",
    labelNames: ["check", "status"] as const,
    registers,
    collect: () =>
      guarded("check_status", async () => {
        const rows = await sources.checks();
        checkStatus.reset();
        for (const row of rows) {
          for (const status of CHECK_STATUSES) {
            checkStatus.set({ check: row.name, status }, row.status === status ? 1 : 0);
          }
        }
      }),
  });
}
