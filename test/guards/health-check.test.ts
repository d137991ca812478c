import { describe, expect, it } from "vitest";
import { DEFAULT_ALERT_THRESHOLDS } from "../../src/config/schema.ts";
import { parseComparison } from "../../src/config/units.ts";
import {
  type CheckEvaluation,
  type CheckResult,
  type CheckState,
  evaluateCheck,
  evaluateHostThresholds,
  initialCheckState,
} from "../../src/guards/health-check.ts";

const T0 = Date.parse("2024-06-01T12:00:00Z");
const ok: CheckResult = { ok: true, latency_ms: 42, detail: "200 OK" };
const fail: CheckResult = { ok: false, latency_ms: 10_000, detail: "timeout after 10 s" };

/** Feeds results 30 s apart; returns each evaluation. */
function run(
  results: CheckResult[],
  threshold = 3,
  start: CheckState = initialCheckState(),
): CheckEvaluation[] {
  let state = start;
  return results.map((result, i) => {
    const evaluation = evaluateCheck(state, result, threshold, T0 + i * 30_000);
    state = evaluation.state;
    return evaluation;
  });
}

describe("evaluateCheck", () => {
  it("alerts on exactly the failure_threshold-th failure in a row", () => {
    const results = run([fail, fail, fail]);
    expect(results.map((r) => r.event)).toEqual([null, null, "alert"]);
    expect(results.map((r) => r.state.status)).toEqual(["failing", "failing", "down"]);
    expect(results[2]?.state).toMatchObject({
      consecutive_failures: 3,
      consecutive_successes: 0,
      since: T0 + 60_000,
      last_failure_at: T0 + 60_000,
      detail: "timeout after 10 s",
      latency_ms: 10_000,
    });
  });

  it("does not alert again while it stays down", () => {
    const results = run([fail, fail, fail, fail, fail, fail]);
    expect(results.filter((r) => r.event === "alert")).toHaveLength(1);
    expect(results[5]?.state).toMatchObject({ status: "down", consecutive_failures: 6, since: T0 + 60_000 });
    expect(results[5]?.changed).toBe(false);
  });

  it("resolves on the first success after being down", () => {
    const results = run([fail, fail, fail, ok, ok]);
    expect(results.map((r) => r.event)).toEqual([null, null, "alert", "resolve", null]);
    expect(results[3]?.state).toMatchObject({
      status: "up",
      consecutive_failures: 0,
      consecutive_successes: 1,
      last_ok_at: T0 + 90_000,
    });
  });

  it("never alerts for a flapping check that never fails threshold times in a row", () => {
    const results = run([fail, fail, ok, fail, fail, ok, fail, ok, fail, fail]);
    expect(results.every((r) => r.event === null)).toBe(true);
    expect(results.at(-1)?.state.status).toBe("failing");
  });

  it("alerts again after a real recovery and a new outage", () => {
    const results = run([fail, fail, fail, ok, fail, fail, fail]);
    expect(results.map((r) => r.event)).toEqual([null, null, "alert", "resolve", null, null, "alert"]);
  });

  it("moves from unknown to up on a first success, with no event", () => {
    const [first] = run([ok]);
    expect(first).toMatchObject({ event: null, changed: true });
    expect(first?.state).toMatchObject({ status: "up", since: T0, last_checked_at: T0, latency_ms: 42 });
  });

  it("a failing check that recovers before the threshold resolves nothing", () => {
    const results = run([fail, ok]);
    expect(results.map((r) => [r.state.status, r.event])).toEqual([
      ["failing", null],
      ["up", null],
    ]);
  });

  it("threshold 1 alerts on the first failure; nonsense thresholds read as 1", () => {
    expect(run([fail], 1)[0]?.event).toBe("alert");
    expect(run([fail], 0)[0]?.event).toBe("alert");
  });
});

describe("evaluateHostThresholds", () => {
  it("compares the report's defaults: memory > 80 %, disk > 90 %, errors > 5 %, p99 > 10 s", () => {
    const results = evaluateHostThresholds(
      { memory_ratio: 0.85, disk_ratio: 0.5, error_ratio: 0.06, latency_p99_ms: 9_000 },
      DEFAULT_ALERT_THRESHOLDS,
    );
    expect(results.map((r) => [r.name, r.breached, r.text])).toEqual([
      ["error_rate", true, "errors 6 % > 5 %"],
      ["latency_p99", false, "p99 9 s > 10 s"],
      ["memory", true, "memory 85 % > 80 %"],
      ["disk", false, "disk 50 % > 90 %"],
    ]);
  });

  it("leaves out thresholds without a reading", () => {
    expect(evaluateHostThresholds({ disk_ratio: 0.95 }, DEFAULT_ALERT_THRESHOLDS).map((r) => r.name)).toEqual(
      ["disk"],
    );
    expect(evaluateHostThresholds({}, DEFAULT_ALERT_THRESHOLDS)).toEqual([]);
  });

  it("reads byte thresholds against used bytes, and custom names from `other`", () => {
    const GB = 1024 ** 3;
    const results = evaluateHostThresholds(
      { memory_used_bytes: 7 * GB, other: { queue_depth: 1_200 } },
      { memory: parseComparison("> 6GB"), queue_depth: parseComparison("> 1000") },
    );
    expect(results.map((r) => [r.name, r.breached, r.text])).toEqual([
      ["memory", true, "memory 7 GB > 6 GB"],
      ["queue_depth", true, "queue_depth 1200 > 1000"],
    ]);
  });
});
