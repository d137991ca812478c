/**
 * Running health checks and the built-in thresholds, and listing their results (`GET /v1/checks`,
 * `/health`). Configured checks alert as critical (something the team declared must be up is
 * down, confirmed `failure_threshold` times); the built-in thresholds (`alerting.thresholds`:
 * host memory and disk, error rate and p99 per service) alert as warning.
 */
import type { Check } from "../../../config/index.ts";
import { type CheckState, evaluateHostThresholds } from "../../../guards/health-check.ts";
import type { OpsContext } from "../context.ts";
import type { HostReader } from "../host.ts";
import { serviceStats } from "../service-stats.ts";
import { isoOrUndefined } from "../text.ts";
import { runCheck } from "./probes.ts";
import { type CheckSpec, recordCheckResult, storedChecks } from "./store.ts";

export interface CheckView {
  name: string;
  kind: string;
  status: CheckState["status"];
  consecutive_failures: number;
  failure_threshold: number;
  since?: string;
  last_checked_at?: string;
  last_ok_at?: string;
  last_failure_at?: string;
  latency_ms: number | null;
  detail: string | null;
  /** Configured checks: how often they run. */
  interval_ms?: number;
}

export interface HostCheckOptions {
  host: HostReader;
  /** The disk the built-in `disk` threshold watches. */
  diskPath: string;
  statsWindowMs: number;
  minSamples: number;
}

const THRESHOLD_TITLES: Readonly<Record<string, string>> = {
  memory: "Host memory",
  disk: "Host disk",
  error_rate: "Error rate",
  latency_p99: "p99 latency",
};

function configuredSpec(check: Check): CheckSpec {
  return {
    name: check.name,
    kind: check.type,
    failureThreshold: check.failure_threshold,
    severity: "critical",
    title: `Health check ${check.name} (${check.type}) is down`,
  };
}

/** The built-in thresholds alert after the liveness probe's failure_threshold in a row. */
function thresholdSpec(ctx: OpsContext, name: string, kind: "host" | "service", title: string): CheckSpec {
  return {
    name,
    kind,
    failureThreshold: ctx.config.health_checks.liveness.failure_threshold,
    severity: "warning",
    title,
  };
}

export async function runConfiguredCheck(ctx: OpsContext, host: HostReader, check: Check): Promise<void> {
  const result = await runCheck(check, host);
  await recordCheckResult(ctx, configuredSpec(check), result);
}

/**
 * One pass over the built-in thresholds. A service with no recent reports reads as fine: with no
 * traffic there is no error rate to be too high (an open breaker has its own alert).
 */
export async function runHostThresholds(ctx: OpsContext, options: HostCheckOptions): Promise<void> {
  const thresholds = ctx.config.alerting.thresholds;
  const describe = (name: string, comparison: (typeof thresholds)[string]) =>
    `${THRESHOLD_TITLES[name] ?? name} ${comparison.op} ${comparisonText(comparison)}`;

  if (thresholds.memory) {
    const memory = await options.host.memory();
    const used = memory.total_bytes - memory.available_bytes;
    const ratio = memory.total_bytes > 0 ? used / memory.total_bytes : 0;
    const [result] = evaluateHostThresholds(
      { memory_ratio: ratio, memory_used_bytes: used },
      { memory: thresholds.memory },
    );
    if (result) {
      await recordCheckResult(
        ctx,
        thresholdSpec(ctx, "host:memory", "host", describe("memory", thresholds.memory)),
        {
          ok: !result.breached,
          detail: result.breached ? result.text : `memory ${percent(ratio)} used`,
        },
      );
    }
  }
  if (thresholds.disk) {
    const disk = await options.host.disk(options.diskPath);
    const [result] = evaluateHostThresholds(
      { disk_ratio: disk.ratio, disk_used_bytes: disk.used_bytes },
      { disk: thresholds.disk },
    );
    if (result) {
      await recordCheckResult(
        ctx,
        thresholdSpec(ctx, "host:disk", "host", describe("disk", thresholds.disk)),
        {
          ok: !result.breached,
          detail: result.breached ? result.text : `disk ${percent(disk.ratio)} used`,
        },
      );
    }
  }

  const now = ctx.now();
  const stats = await serviceStats(
    ctx.db,
    { from: now - options.statsWindowMs, to: now },
    options.minSamples,
  );
  const seen = new Set<string>();
  for (const entry of stats) {
    for (const name of ["error_rate", "latency_p99"] as const) {
      const threshold = thresholds[name];
      if (!threshold) continue;
      const [result] = evaluateHostThresholds(
        { error_ratio: entry.error_ratio, latency_p99_ms: entry.p99_ms },
        { [name]: threshold },
      );
      if (!result) continue; // too few calls to judge
      const checkName = `service:${entry.name}:${name}`;
      seen.add(checkName);
      await recordCheckResult(
        ctx,
        thresholdSpec(ctx, checkName, "service", `${entry.name}: ${describe(name, threshold)}`),
        { ok: !result.breached, detail: `${entry.name}: ${result.text}` },
      );
    }
  }
  // Services that went quiet: their last threshold check is resolved instead of staying down.
  for (const stored of await storedChecks(ctx)) {
    if (stored.kind !== "service" || seen.has(stored.name) || stored.state.status === "up") continue;
    const [, service = stored.name, name = ""] = stored.name.split(":");
    await recordCheckResult(
      ctx,
      thresholdSpec(ctx, stored.name, "service", `${service}: ${THRESHOLD_TITLES[name] ?? name}`),
      {
        ok: true,
        detail: `${service}: too few reports in the last ${Math.round(options.statsWindowMs / 60_000)} min to judge`,
      },
    );
  }
}

function percent(ratio: number): string {
  return `${Math.round(ratio * 1000) / 10} %`;
}

function comparisonText(comparison: { value: number; unit: string }): string {
  switch (comparison.unit) {
    case "ratio":
      return percent(comparison.value);
    case "ms":
      return comparison.value >= 1000 ? `${comparison.value / 1000} s` : `${comparison.value} ms`;
    case "bytes":
      return `${Math.round(comparison.value / 1024 / 1024)} MB`;
    default:
      return String(comparison.value);
  }
}

export async function listChecks(ctx: OpsContext): Promise<CheckView[]> {
  const stored = new Map((await storedChecks(ctx)).map((entry) => [entry.name, entry]));
  const views: CheckView[] = [];
  const liveness = ctx.config.health_checks.liveness.failure_threshold;
  for (const check of ctx.config.checks) {
    const entry = stored.get(check.name);
    stored.delete(check.name);
    views.push(view(check.name, check.type, entry?.state, check.failure_threshold, check.interval));
  }
  for (const entry of stored.values()) {
    // Checks removed from the config keep their last row; only the built-in ones are still run.
    if (entry.kind !== "host" && entry.kind !== "service") continue;
    views.push(view(entry.name, entry.kind, entry.state, liveness));
  }
  return views;
}

function view(
  name: string,
  kind: string,
  state: CheckState | undefined,
  failureThreshold: number,
  intervalMs?: number,
): CheckView {
  const result: CheckView = {
    name,
    kind,
    status: state?.status ?? "unknown",
    consecutive_failures: state?.consecutive_failures ?? 0,
    failure_threshold: failureThreshold,
    latency_ms: state?.latency_ms ?? null,
    detail: state?.detail ?? null,
  };
  const times = {
    since: isoOrUndefined(state?.since),
    last_checked_at: isoOrUndefined(state?.last_checked_at),
    last_ok_at: isoOrUndefined(state?.last_ok_at),
    last_failure_at: isoOrUndefined(state?.last_failure_at),
  };
  for (const [key, value] of Object.entries(times)) {
    if (value !== undefined) (result as unknown as Record<string, string>)[key] = value;
  }
  if (intervalMs !== undefined) result.interval_ms = intervalMs;
  return result;
}
