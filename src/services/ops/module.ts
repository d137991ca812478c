/**
 * The ops feature area (issue 6): usage and budgets, circuit breakers, routing, health checks and
 * the degradation mode. Guards decide; these services keep the state in Postgres, raise alerts
 * through the alert pipeline (or the log, without one) and answer agents and operators.
 */
import { opsFeature } from "../../bot/features/ops/index.ts";
import type { ModeReader } from "../contracts.ts";
import type { ModuleDeps, PitwallModule } from "../module.ts";
import { alertEmitter } from "./alerts.ts";
import { createBreakerService } from "./breakers.ts";
import { budgetStatuses } from "./budgets.ts";
import { listChecks } from "./checks/service.ts";
import type { OpsContext } from "./context.ts";
import { type HostReader, systemHost } from "./host.ts";
import { opsJobs } from "./jobs.ts";
import { createOpsCounters, registerOpsGauges } from "./metrics.ts";
import { createModeService } from "./mode.ts";
import { breakerRoutes } from "./routes/breakers.ts";
import { statusRoutes } from "./routes/status.ts";
import { usageRoutes } from "./routes/usage.ts";
import { createRoutingService } from "./routing.ts";
import { DEFAULT_MIN_SAMPLES, DEFAULT_STATS_WINDOW_MS } from "./service-stats.ts";
import type { OpsServices } from "./services.ts";

export interface OpsModuleOptions {
  /** Memory and disk readings (tests pass their own). */
  host?: HostReader;
  /** The disk the built-in `disk` threshold watches; default the working directory (where .pitwall lives). */
  diskPath?: string;
  /** How often the leader evaluates the mode. Default 10 s. */
  modeEvaluationMs?: number;
  /** Window of the p99 and error-rate measurements. Default 5 min. */
  statsWindowMs?: number;
  /** Calls a service needs in that window before its rate or p99 counts. Default 20. */
  minSamples?: number;
}

export interface OpsModule extends PitwallModule {
  mode: ModeReader;
  services: OpsServices;
}

export async function createOpsModule(deps: ModuleDeps, options: OpsModuleOptions = {}): Promise<OpsModule> {
  const log = deps.log.child({ module: "ops" });
  const ctx: OpsContext = {
    config: deps.config,
    db: deps.db,
    log,
    now: () => deps.now().getTime(),
    alerts: alertEmitter(deps.alerts, log),
    counters: createOpsCounters(deps.metrics.registry),
    telegramEnabled: deps.telegramEnabled,
  };
  const host = options.host ?? systemHost;
  const statsWindowMs = options.statsWindowMs ?? DEFAULT_STATS_WINDOW_MS;
  const minSamples = options.minSamples ?? DEFAULT_MIN_SAMPLES;

  const breakers = createBreakerService(ctx);
  const routing = createRoutingService(ctx, breakers);
  const mode = createModeService(ctx, { host, statsWindowMs, minSamples });
  const services: OpsServices = {
    ctx,
    breakers,
    routing,
    mode,
    budgets: () => budgetStatuses(ctx, ctx.now()),
    checks: () => listChecks(ctx),
    databaseOk: () =>
      deps.db.query("select 1").then(
        () => true,
        () => false,
      ),
  };

  registerOpsGauges(
    deps.metrics.registry,
    {
      budgets: async () =>
        (await services.budgets()).map((status) => ({
          budget: status.budget.name,
          key: status.key,
          ratio: status.evaluation.ratio,
        })),
      breakers: async () =>
        (await breakers.list()).map((entry) => ({ name: entry.name, state: entry.snapshot.state })),
      mode: async () => (await mode.current()).mode,
      checks: async () =>
        (await services.checks()).map((check) => ({ name: check.name, status: check.status })),
    },
    log,
  );

  return {
    name: "ops",
    mode,
    services,
    routes: [usageRoutes(ctx, routing), breakerRoutes(ctx, breakers), statusRoutes(ctx, routing, mode)],
    botFeatures: [opsFeature(services)],
    jobs: opsJobs(ctx, {
      breakers,
      mode,
      hostChecks: { host, diskPath: options.diskPath ?? process.cwd(), statsWindowMs, minSamples },
      modeEvaluationMs: options.modeEvaluationMs ?? 10_000,
    }),
  };
}
