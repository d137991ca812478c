/**
 * The ops jobs the leader runs: each configured check on its interval, the built-in thresholds,
 * mode evaluation, active breaker probes and budget-window bookkeeping. The ops tables are pruned
 * by the leader's retention job (src/jobs/retention.ts), in batches, with everything else.
 */
import type { Job } from "../../jobs/runner.ts";
import { probeBreaker } from "./breaker-probe.ts";
import type { BreakerService } from "./breakers.ts";
import { resolvePastWindows } from "./budget-alerts.ts";
import { type HostCheckOptions, runConfiguredCheck, runHostThresholds } from "./checks/service.ts";
import type { OpsContext } from "./context.ts";
import type { ModeService } from "./mode.ts";
import { resolveSpikeIfCalm } from "./spike-alerts.ts";

const MINUTE = 60_000;

export interface OpsJobDeps {
  breakers: BreakerService;
  mode: ModeService;
  hostChecks: HostCheckOptions;
  modeEvaluationMs: number;
}

export function opsJobs(ctx: OpsContext, deps: OpsJobDeps): Job[] {
  const { config } = ctx;
  const jobs: Job[] = [];

  for (const check of config.checks) {
    jobs.push({
      name: `ops.check.${check.name}`,
      everyMs: check.interval,
      run: () => runConfiguredCheck(ctx, deps.hostChecks.host, check),
    });
  }

  jobs.push({
    name: "ops.thresholds",
    everyMs: config.health_checks.liveness.interval,
    run: () => runHostThresholds(ctx, deps.hostChecks),
  });

  jobs.push({
    name: "ops.mode",
    everyMs: deps.modeEvaluationMs,
    run: async () => {
      await deps.mode.evaluate();
    },
  });

  for (const breaker of config.circuit_breaker.breakers) {
    const url = breaker.probe_url;
    if (url === null) continue;
    jobs.push({
      name: `ops.breaker-probe.${breaker.name}`,
      everyMs: breaker.probe_interval,
      run: async () => {
        await probeBreaker(
          deps.breakers,
          { name: breaker.name, probe_url: url },
          config.health_checks.liveness.timeout,
        );
      },
    });
  }

  // Windows are computed from the clock, so nothing needs resetting; this only resolves the
  // threshold alerts of windows that ended (and a spike that is over), so they do not stay open.
  jobs.push({
    name: "ops.budget-windows",
    everyMs: MINUTE,
    run: async () => {
      await resolvePastWindows(ctx);
      await resolveSpikeIfCalm(ctx);
    },
  });

  return jobs;
}
