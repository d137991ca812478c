/**
 * Health check debouncing: a check raises its alert only after `failure_threshold` failures in
 * a row, resolves it on the first success after that, and raises nothing more while it stays
 * down. A check that fails now and then, never `failure_threshold` times in a row, never
 * alerts (it shows as `failing`). Pure; times are epoch milliseconds.
 *
 * Host thresholds (`alerting.thresholds`: memory > 80 %, disk > 90 %, error_rate > 5 %,
 * latency_p99 > 10 s) are compared here; the services debounce them through `evaluateCheck`
 * like any check (result ok = not breached).
 */
import type { Comparison } from "../config/units.ts";
import { describeComparison, evaluateComparison } from "./degradation.ts";

/** unknown: no result yet; up; failing: failed, not yet `failure_threshold` times; down: alerted. */
export type CheckStatus = "unknown" | "up" | "failing" | "down";

export interface CheckState {
  status: CheckStatus;
  consecutive_failures: number;
  consecutive_successes: number;
  /** When `status` began (null before the first result). */
  since: number | null;
  last_checked_at: number | null;
  last_ok_at: number | null;
  last_failure_at: number | null;
  latency_ms: number | null;
  detail: string | null;
}

export interface CheckResult {
  ok: boolean;
  latency_ms?: number | null;
  /** "200 OK", "connect ECONNREFUSED", "disk 93 % > 90 %". */
  detail?: string | null;
}

export interface CheckEvaluation {
  state: CheckState;
  /** alert: raise (just went down); resolve: resolve (came back); null: nothing to send. */
  event: "alert" | "resolve" | null;
  changed: boolean;
}

export function initialCheckState(): CheckState {
  return {
    status: "unknown",
    consecutive_failures: 0,
    consecutive_successes: 0,
    since: null,
    last_checked_at: null,
    last_ok_at: null,
    last_failure_at: null,
    latency_ms: null,
    detail: null,
  };
}

export function evaluateCheck(
  state: CheckState,
  result: CheckResult,
  failureThreshold: number,
  now: number,
): CheckEvaluation {
  const threshold = Math.max(1, Math.floor(failureThreshold));
  const common = {
    last_checked_at: now,
    latency_ms: result.latency_ms ?? null,
    detail: result.detail ?? null,
  };
  let next: CheckState;
  let event: CheckEvaluation["event"] = null;
  if (result.ok) {
    if (state.status === "down") event = "resolve";
    next = {
      ...state,
      ...common,
      status: "up",
      consecutive_failures: 0,
      consecutive_successes: state.consecutive_successes + 1,
      last_ok_at: now,
    };
  } else {
    const failures = state.consecutive_failures + 1;
    const down = state.status === "down" || failures >= threshold;
    if (down && state.status !== "down") event = "alert";
    next = {
      ...state,
      ...common,
      status: down ? "down" : "failing",
      consecutive_failures: failures,
      consecutive_successes: 0,
      last_failure_at: now,
    };
  }
  const changed = next.status !== state.status;
  if (changed) next.since = now;
  return { state: next, event, changed };
}

/** Host readings; each threshold is compared with the reading its unit asks for. */
export interface HostMeasurements {
  /** Used memory / total, 0..1. */
  memory_ratio?: number | null;
  memory_used_bytes?: number | null;
  /** Used disk / total, 0..1. */
  disk_ratio?: number | null;
  disk_used_bytes?: number | null;
  /** Failed / all requests (from breaker reports), 0..1. */
  error_ratio?: number | null;
  latency_p99_ms?: number | null;
  /** Thresholds under other names, by name. */
  other?: Readonly<Record<string, number>>;
}

export interface ThresholdResult {
  name: string;
  value: number;
  threshold: Comparison;
  breached: boolean;
  /** "memory 85 % > 80 %". */
  text: string;
}

function reading(name: string, unit: Comparison["unit"], m: HostMeasurements): number | null {
  const pick = (value: number | null | undefined) =>
    typeof value === "number" && Number.isFinite(value) ? value : null;
  switch (name) {
    case "memory":
      return pick(unit === "bytes" ? m.memory_used_bytes : m.memory_ratio);
    case "disk":
      return pick(unit === "bytes" ? m.disk_used_bytes : m.disk_ratio);
    case "error_rate":
      return pick(m.error_ratio);
    case "latency_p99":
      return pick(m.latency_p99_ms);
    default:
      return pick(m.other?.[name]);
  }
}

const LABELS: Readonly<Record<string, string>> = {
  memory: "memory",
  disk: "disk",
  error_rate: "errors",
  latency_p99: "p99",
};

/** Every threshold that has a reading, breached or not (thresholds without one are left out). */
export function evaluateHostThresholds(
  measurements: HostMeasurements,
  thresholds: Readonly<Record<string, Comparison>>,
): ThresholdResult[] {
  const results: ThresholdResult[] = [];
  for (const [name, threshold] of Object.entries(thresholds)) {
    const value = reading(name, threshold.unit, measurements);
    if (value === null) continue;
    results.push({
      name,
      value,
      threshold,
      breached: evaluateComparison(threshold, value),
      text: describeComparison(LABELS[name] ?? name, value, threshold),
    });
  }
  return results;
}
