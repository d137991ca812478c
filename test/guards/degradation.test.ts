import { describe, expect, it } from "vitest";
import { parseComparison } from "../../src/config/units.ts";
import {
  type DegradationTriggers,
  describeComparison,
  evaluateComparison,
  evaluateMode,
  formatQuantity,
  initialModeState,
  type Measurements,
  type ModeState,
  pinMode,
  triggersHolding,
  unpinMode,
} from "../../src/guards/degradation.ts";

const MIN = 60_000;
const MB = 1024 * 1024;
const T0 = Date.parse("2024-06-01T12:00:00Z");

// The report's triggers, read by the config's own parser.
const triggers: DegradationTriggers = {
  latency: parseComparison("> 5s p99"),
  error_rate: parseComparison("> 5% errors"),
  memory: parseComparison("< 256MB memory"),
};

const healthy: Measurements = { p99_ms: 800, error_ratio: 0.01, free_memory_bytes: 2048 * MB };
const slow: Measurements = { ...healthy, p99_ms: 6_200 };
const slowAndFailing: Measurements = { ...slow, error_ratio: 0.075 };
const allBad: Measurements = { p99_ms: 6_200, error_ratio: 0.075, free_memory_bytes: 180 * MB };

/** Evaluates a sequence of [minutes after T0, measurements]; returns every evaluation. */
function run(steps: Array<[number, Measurements]>, start: ModeState = initialModeState(T0)) {
  let state = start;
  return steps.map(([minutes, measurements]) => {
    const result = evaluateMode(state, measurements, triggers, T0 + minutes * MIN);
    state = result.state;
    return result;
  });
}

describe("evaluateComparison", () => {
  it("applies each operator", () => {
    expect(evaluateComparison(parseComparison("> 5s"), 5_001)).toBe(true);
    expect(evaluateComparison(parseComparison("> 5s"), 5_000)).toBe(false);
    expect(evaluateComparison(parseComparison(">= 5s"), 5_000)).toBe(true);
    expect(evaluateComparison(parseComparison("< 256MB"), 256 * MB - 1)).toBe(true);
    expect(evaluateComparison(parseComparison("< 256MB"), 256 * MB)).toBe(false);
    expect(evaluateComparison(parseComparison("<= 256MB"), 256 * MB)).toBe(true);
    expect(evaluateComparison(parseComparison("= 3"), 3)).toBe(true);
    expect(evaluateComparison(parseComparison("= 0.3"), 0.1 + 0.2)).toBe(true);
    expect(evaluateComparison(parseComparison("> 80%"), 0.81)).toBe(true);
  });

  it("describes a comparison for people", () => {
    expect(describeComparison("p99", 6_200, triggers.latency!)).toBe("p99 6.2 s > 5 s");
    expect(describeComparison("errors", 0.075, triggers.error_rate!)).toBe("errors 7.5 % > 5 %");
    expect(describeComparison("free memory", 180 * MB, triggers.memory!)).toBe("free memory 180 MB < 256 MB");
    expect(describeComparison("disk", 0.93, parseComparison(">= 90%"))).toBe("disk 93 % ≥ 90 %");
    expect(formatQuantity(850, "ms")).toBe("850 ms");
    expect(formatQuantity(90_000, "ms")).toBe("1.5 min");
    expect(formatQuantity(1.5 * 1024 * MB, "bytes")).toBe("1.5 GB");
    expect(formatQuantity(512, "bytes")).toBe("512 B");
    expect(formatQuantity(0.123, "number")).toBe("0.12");
  });
});

describe("triggersHolding", () => {
  it("names each trigger that holds, and ignores missing measurements", () => {
    expect(triggersHolding(allBad, triggers).map((hit) => hit.text)).toEqual([
      "p99 6.2 s > 5 s",
      "errors 7.5 % > 5 %",
      "free memory 180 MB < 256 MB",
    ]);
    expect(triggersHolding({}, triggers)).toEqual([]);
    expect(triggersHolding({ p99_ms: null, error_ratio: Number.NaN }, triggers)).toEqual([]);
  });

  it("skips triggers the config turned off", () => {
    expect(
      triggersHolding(allBad, { ...triggers, latency: null, memory: null }).map((hit) => hit.trigger),
    ).toEqual(["error_rate"]);
  });

  it("reads percentage memory triggers as free (<) or used (>) memory", () => {
    const total = 8 * 1024 * MB;
    const lowFree = { free_memory_bytes: 0.05 * total, total_memory_bytes: total };
    expect(triggersHolding(lowFree, { ...triggers, memory: parseComparison("< 10% memory") })[0]?.text).toBe(
      "free memory 5 % < 10 %",
    );
    expect(triggersHolding(lowFree, { ...triggers, memory: parseComparison("> 90% memory") })[0]?.text).toBe(
      "memory used 95 % > 90 %",
    );
    // without the total a percentage cannot be judged
    expect(
      triggersHolding({ free_memory_bytes: 1 }, { ...triggers, memory: parseComparison("< 10%") }),
    ).toEqual([]);
  });
});

describe("evaluateMode", () => {
  it("stays FULL while nothing holds", () => {
    const [result] = run([[1, healthy]]);
    expect(result).toMatchObject({ mode: "FULL", changed: false, reasons: [], holding: [] });
  });

  it("goes DEGRADED at once when one trigger holds, MINIMAL when two or more", () => {
    const [one, two, three] = run([
      [1, slow],
      [2, slowAndFailing],
      [3, allBad],
    ]);
    expect(one).toMatchObject({
      mode: "DEGRADED",
      previous: "FULL",
      changed: true,
      reasons: ["p99 6.2 s > 5 s"],
    });
    expect(one?.state.since).toBe(T0 + MIN);
    expect(two).toMatchObject({ mode: "MINIMAL", changed: true, holding: ["latency", "error_rate"] });
    expect(three).toMatchObject({ mode: "MINIMAL", changed: false });
    expect(three?.reasons).toHaveLength(3);
    // FULL straight to MINIMAL
    expect(run([[1, allBad]])[0]).toMatchObject({ mode: "MINIMAL", previous: "FULL", changed: true });
  });

  it("returns to FULL only after no trigger held for 5 minutes", () => {
    const results = run([
      [0, slow],
      [1, healthy],
      [3, healthy],
      [5.99, healthy],
      [6, healthy],
    ]);
    expect(results.map((r) => r.mode)).toEqual(["DEGRADED", "DEGRADED", "DEGRADED", "DEGRADED", "FULL"]);
    expect(results[2]?.reasons).toEqual(["recovering: no trigger for 2 min; FULL after 5 min"]);
    expect(results[4]).toMatchObject({ changed: true, previous: "DEGRADED", reasons: [] });
  });

  it("restarts the recovery clock when a trigger comes back", () => {
    const results = run([
      [0, slow],
      [1, healthy],
      [4, slow],
      [5, healthy],
      [9, healthy],
      [10, healthy],
    ]);
    expect(results.map((r) => r.mode)).toEqual([
      "DEGRADED",
      "DEGRADED",
      "DEGRADED",
      "DEGRADED",
      "DEGRADED",
      "FULL",
    ]);
  });

  it("steps MINIMAL -> DEGRADED after 5 minutes with at most one trigger, then -> FULL", () => {
    const results = run([
      [0, allBad],
      [1, slow],
      [5, slow],
      [6, slow],
      [7, healthy],
      [12, healthy],
    ]);
    expect(results.map((r) => r.mode)).toEqual([
      "MINIMAL",
      "MINIMAL",
      "MINIMAL",
      "DEGRADED",
      "DEGRADED",
      "FULL",
    ]);
    expect(results[2]?.reasons).toEqual([
      "p99 6.2 s > 5 s",
      "recovering: at most one trigger for 4 min; DEGRADED after 5 min",
    ]);
  });

  it("goes MINIMAL -> FULL directly when everything cleared for 5 minutes", () => {
    const results = run([
      [0, allBad],
      [1, healthy],
      [6, healthy],
    ]);
    expect(results.map((r) => r.mode)).toEqual(["MINIMAL", "MINIMAL", "FULL"]);
    expect(results[2]).toMatchObject({ previous: "MINIMAL", changed: true });
  });

  it("worsens from DEGRADED to MINIMAL at once, even while recovering", () => {
    const results = run([
      [0, slow],
      [1, healthy],
      [4, allBad],
    ]);
    expect(results.map((r) => r.mode)).toEqual(["DEGRADED", "DEGRADED", "MINIMAL"]);
  });

  it("uses the configured recovery", () => {
    let state = evaluateMode(initialModeState(T0), slow, triggers, T0).state;
    state = evaluateMode(state, healthy, triggers, T0 + MIN, { recovery_ms: MIN }).state;
    expect(evaluateMode(state, healthy, triggers, T0 + 2 * MIN, { recovery_ms: MIN }).mode).toBe("FULL");
  });

  it("maps a mode the config leaves out to its nearest neighbour", () => {
    const noMinimal = { modes: ["FULL", "DEGRADED", "MAINTENANCE"] as const };
    expect(evaluateMode(initialModeState(T0), allBad, triggers, T0, noMinimal).mode).toBe("DEGRADED");
    const noDegraded = { modes: ["FULL", "MINIMAL", "MAINTENANCE"] as const };
    expect(evaluateMode(initialModeState(T0), slow, triggers, T0, noDegraded).mode).toBe("MINIMAL");
  });
});

describe("maintenance pin", () => {
  it("wins over everything while pinned, and is the reason given", () => {
    const pinned = pinMode(
      initialModeState(T0),
      { mode: "MAINTENANCE", reason: "db upgrade", by: "alice" },
      T0,
    );
    expect(pinned).toMatchObject({ mode: "MAINTENANCE", previous: "FULL", changed: true });
    const during = evaluateMode(pinned.state, allBad, triggers, T0 + MIN);
    expect(during).toMatchObject({ mode: "MAINTENANCE", changed: false });
    expect(during.reasons[0]).toBe("pinned by alice: db upgrade");
    expect(during.state.auto).toBe("MINIMAL");
    expect(evaluateMode(pinned.state, healthy, triggers, T0 + MIN).mode).toBe("MAINTENANCE");
  });

  it("unpins onto the automatic mode tracked meanwhile", () => {
    let state = pinMode(initialModeState(T0), { mode: "MAINTENANCE", reason: "" }, T0).state;
    state = evaluateMode(state, slow, triggers, T0 + MIN).state;
    const unpinned = unpinMode(state, T0 + 2 * MIN);
    expect(unpinned).toMatchObject({ mode: "DEGRADED", previous: "MAINTENANCE", changed: true });
    expect(unpinned.state.since).toBe(T0 + 2 * MIN);

    // recovery ran on while pinned: unpinning after a long calm lands on FULL
    let calm = pinMode(
      evaluateMode(initialModeState(T0), slow, triggers, T0).state,
      {
        mode: "MAINTENANCE",
        reason: "deploy",
      },
      T0,
    ).state;
    calm = evaluateMode(calm, healthy, triggers, T0 + MIN).state;
    calm = evaluateMode(calm, healthy, triggers, T0 + 7 * MIN).state;
    expect(calm.auto).toBe("FULL");
    expect(unpinMode(calm, T0 + 8 * MIN).mode).toBe("FULL");
  });

  it("names the admin generically when none is given, and can pin other modes", () => {
    const pinned = pinMode(initialModeState(T0), { mode: "MAINTENANCE", reason: "  " }, T0);
    expect(evaluateMode(pinned.state, healthy, triggers, T0).reasons).toEqual(["pinned by an admin"]);
    const minimal = pinMode(initialModeState(T0), { mode: "MINIMAL", reason: "shed load", by: "bob" }, T0);
    expect(evaluateMode(minimal.state, healthy, triggers, T0 + 10 * MIN).mode).toBe("MINIMAL");
    // pinning the mode already in effect is not a change
    expect(pinMode(initialModeState(T0), { mode: "FULL", reason: "hold" }, T0).changed).toBe(false);
  });

  it("state survives JSON", () => {
    const state = pinMode(initialModeState(T0), { mode: "MAINTENANCE", reason: "x", by: "alice" }, T0).state;
    expect(JSON.parse(JSON.stringify(state))).toEqual(state);
  });
});
