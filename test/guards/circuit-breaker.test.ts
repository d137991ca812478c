import { describe, expect, it } from "vitest";
import {
  type BreakerSnapshot,
  BreakerState,
  circuitBreaker,
  classifyOutcome,
  failureKind,
  type Outcome,
} from "../../src/guards/circuit-breaker.ts";

const MIN = 60_000;
const T0 = Date.parse("2024-06-01T12:00:00Z");

const breaker = circuitBreaker();

function feed(state: BreakerSnapshot, outcomes: Outcome[], now = T0): BreakerSnapshot {
  let current = state;
  for (const outcome of outcomes) current = breaker.report(current, outcome, now).state;
  return current;
}

/** An open breaker after its `trips`-th consecutive trip, opened at `at`. */
function openedAt(at: number): BreakerSnapshot {
  return feed(breaker.initial(), ["failure", "failure", "failure"], at);
}

describe("classifyOutcome", () => {
  it("counts 5xx, 408, 429, timeouts and network errors as failures", () => {
    expect(classifyOutcome({ ok: false, status_code: 500 })).toBe("failure");
    expect(classifyOutcome({ ok: false, status_code: 503 })).toBe("failure");
    expect(classifyOutcome({ ok: false, status_code: 599 })).toBe("failure");
    expect(classifyOutcome({ ok: false, status_code: 408 })).toBe("failure");
    expect(classifyOutcome({ ok: false, status_code: 429 })).toBe("failure");
    expect(classifyOutcome({ ok: false, error: "timeout after 30s" })).toBe("failure");
    expect(classifyOutcome({ ok: false, error: "connect ECONNREFUSED 10.0.0.1:443" })).toBe("failure");
  });

  it("ignores other 4xx: they prove the service answers but say nothing of its health", () => {
    for (const status of [400, 401, 403, 404, 409, 413, 422]) {
      expect(classifyOutcome({ ok: false, status_code: status })).toBe("ignored");
    }
  });

  it("reads success from ok, and a status code over ok when they disagree", () => {
    expect(classifyOutcome({ ok: true })).toBe("success");
    expect(classifyOutcome({ ok: true, status_code: 200 })).toBe("success");
    expect(classifyOutcome({ ok: true, status_code: 502 })).toBe("failure");
    expect(classifyOutcome({ ok: false, status_code: 200, error: "bad body" })).toBe("failure");
  });

  it("tells timeouts and rate limits apart for failover", () => {
    expect(failureKind({ ok: false, status_code: 429 })).toBe("rate_limit");
    expect(failureKind({ ok: false, status_code: 408 })).toBe("timeout");
    expect(failureKind({ ok: false, status_code: 504 })).toBe("timeout");
    expect(failureKind({ ok: false, error: "ETIMEDOUT" })).toBe("timeout");
    expect(failureKind({ ok: false, error: "request timed out" })).toBe("timeout");
    expect(failureKind({ ok: false, status_code: 500 })).toBe("error");
    expect(failureKind({ ok: false, error: "ECONNRESET" })).toBe("error");
    expect(failureKind({ ok: false, status_code: 404 })).toBeNull();
    expect(failureKind({ ok: true })).toBeNull();
  });
});

describe("circuitBreaker: closed", () => {
  it("opens on exactly the failure_threshold-th consecutive failure", () => {
    let state = breaker.initial();
    let result = breaker.report(state, "failure", T0);
    expect(result.state.state).toBe(BreakerState.Closed);
    expect(result.state.failures).toBe(1);
    expect(result.transition).toBeUndefined();
    state = breaker.report(result.state, "failure", T0).state;
    expect(state.state).toBe(BreakerState.Closed);
    expect(state.failures).toBe(2);
    result = breaker.report(state, "failure", T0 + 1000);
    expect(result.state).toMatchObject({
      state: BreakerState.Open,
      failures: 3,
      trips: 1,
      opened_at: T0 + 1000,
      retry_at: T0 + 1000 + 15 * MIN,
    });
    expect(result.transition).toMatchObject({
      from: BreakerState.Closed,
      to: BreakerState.Open,
      reason: "failure_threshold",
      detail: "3 consecutive failures; next probe in 15 min",
      at: T0 + 1000,
    });
  });

  it("honours a configured threshold", () => {
    const five = circuitBreaker({ failure_threshold: 5 });
    let state = five.initial();
    for (let i = 0; i < 4; i++) state = five.report(state, "failure", T0).state;
    expect(state.state).toBe(BreakerState.Closed);
    expect(five.report(state, "failure", T0).state.state).toBe(BreakerState.Open);
  });

  it("a success resets the consecutive count", () => {
    const state = feed(breaker.initial(), ["failure", "failure", "success", "failure", "failure"]);
    expect(state.state).toBe(BreakerState.Closed);
    expect(state.failures).toBe(2);
  });

  it("other 4xx neither count nor reset the consecutive count", () => {
    let state = feed(breaker.initial(), ["failure", "failure"]);
    const ignored = breaker.report(state, classifyOutcome({ ok: false, status_code: 404 }), T0);
    expect(ignored.state).toEqual(state);
    expect(ignored.transition).toBeUndefined();
    state = breaker.report(ignored.state, "failure", T0).state;
    expect(state.state).toBe(BreakerState.Open);

    // and a run of 4xx alone never opens it
    let quiet = breaker.initial();
    for (let i = 0; i < 10; i++) quiet = breaker.report(quiet, "ignored", T0).state;
    expect(quiet).toEqual(breaker.initial());
  });

  it("grants every caller while closed, without a lease", () => {
    const result = breaker.permit(breaker.initial(), T0);
    expect(result).toMatchObject({ allowed: true, lease_until: null });
    expect(result.state).toEqual(breaker.initial());
  });
});

describe("circuitBreaker: open and half-open", () => {
  it("refuses while open and tells when to ask again", () => {
    const open = openedAt(T0);
    const result = breaker.permit(open, T0 + 14 * MIN);
    expect(result).toMatchObject({
      allowed: false,
      refusal: "open",
      retry_at: T0 + 15 * MIN,
      lease_until: null,
    });
    expect(result.transition).toBeUndefined();
  });

  it("ignores reports that arrive while open, before the cooldown ends", () => {
    const open = openedAt(T0);
    for (const outcome of ["success", "failure", "ignored"] as const) {
      const result = breaker.report(open, outcome, T0 + 5 * MIN);
      expect(result.state).toEqual(open);
      expect(result.transition).toBeUndefined();
    }
  });

  it("becomes half-open once now ≥ retry_at, exactly", () => {
    const open = openedAt(T0);
    expect(breaker.advance(open, T0 + 15 * MIN - 1).state.state).toBe(BreakerState.Open);
    const advanced = breaker.advance(open, T0 + 15 * MIN);
    expect(advanced.state.state).toBe(BreakerState.HalfOpen);
    expect(advanced.transition).toMatchObject({
      from: BreakerState.Open,
      to: BreakerState.HalfOpen,
      reason: "cooldown_elapsed",
    });
  });

  it("grants one 30 s probe lease across two callers", () => {
    const open = openedAt(T0);
    const at = T0 + 15 * MIN;
    const first = breaker.permit(open, at);
    expect(first).toMatchObject({ allowed: true, lease_until: at + 30_000 });
    expect(first.state).toMatchObject({ state: BreakerState.HalfOpen, probe_lease_until: at + 30_000 });
    expect(first.transition?.reason).toBe("cooldown_elapsed");

    // The second instance reads the stored state the first one wrote.
    const second = breaker.permit(first.state, at + 10_000);
    expect(second).toMatchObject({
      allowed: false,
      refusal: "probe_in_flight",
      retry_at: at + 30_000,
      lease_until: null,
    });
    expect(second.state).toEqual(first.state);
    expect(breaker.permit(first.state, at + 29_999).allowed).toBe(false);
  });

  it("re-grants an expired lease (the prober died)", () => {
    const at = T0 + 15 * MIN;
    const first = breaker.permit(openedAt(T0), at);
    const again = breaker.permit(first.state, at + 30_000);
    expect(again).toMatchObject({ allowed: true, lease_until: at + 60_000 });
    expect(again.transition).toBeUndefined();
  });

  it("closes on a successful probe and forgets trips", () => {
    const at = T0 + 15 * MIN;
    const leased = breaker.permit(openedAt(T0), at).state;
    const result = breaker.report(leased, "success", at + 2_000);
    expect(result.state).toEqual(breaker.initial());
    expect(result.transition).toMatchObject({
      from: BreakerState.HalfOpen,
      to: BreakerState.Closed,
      reason: "probe_succeeded",
    });
    // next opening starts again at 15 min
    const reopened = feed(result.state, ["failure", "failure", "failure"], at + 5 * MIN);
    expect(reopened.retry_at).toBe(at + 5 * MIN + 15 * MIN);
  });

  it("a 4xx probe answer closes it: the service answers (cockatiel's rule)", () => {
    const at = T0 + 15 * MIN;
    const leased = breaker.permit(openedAt(T0), at).state;
    expect(breaker.report(leased, "ignored", at + 1_000).state.state).toBe(BreakerState.Closed);
  });

  it("reopens on a failed probe with a longer cooldown", () => {
    const at = T0 + 15 * MIN;
    const leased = breaker.permit(openedAt(T0), at).state;
    const result = breaker.report(leased, "failure", at + 3_000);
    expect(result.state).toMatchObject({
      state: BreakerState.Open,
      trips: 2,
      opened_at: at + 3_000,
      retry_at: at + 3_000 + 30 * MIN,
      probe_lease_until: null,
    });
    expect(result.transition).toMatchObject({
      from: BreakerState.HalfOpen,
      to: BreakerState.Open,
      reason: "probe_failed",
      detail: "probe failed; next probe in 30 min",
    });
  });

  it("doubles the cooldown per consecutive trip: 15 -> 30 -> 60 -> 60 min", () => {
    let state = openedAt(T0);
    const cooldowns: number[] = [(state.retry_at ?? 0) - (state.opened_at ?? 0)];
    for (let i = 0; i < 3; i++) {
      const probeAt = state.retry_at ?? 0;
      const leased = breaker.permit(state, probeAt).state;
      state = breaker.report(leased, "failure", probeAt + 1_000).state;
      cooldowns.push((state.retry_at ?? 0) - (state.opened_at ?? 0));
    }
    expect(cooldowns.map((ms) => ms / MIN)).toEqual([15, 30, 60, 60]);
    expect(state.trips).toBe(4);
    expect([1, 2, 3, 4, 10, 100].map((trips) => breaker.cooldownMs(trips) / MIN)).toEqual([
      15, 30, 60, 60, 60, 60,
    ]);
  });

  it("a report after the cooldown without a permit acts as the probe", () => {
    const open = openedAt(T0);
    const success = breaker.report(open, "success", T0 + 16 * MIN);
    expect(success.state.state).toBe(BreakerState.Closed);
    expect(success.transition).toMatchObject({ from: BreakerState.HalfOpen, to: BreakerState.Closed });

    const failure = breaker.report(open, "failure", T0 + 16 * MIN);
    expect(failure.state).toMatchObject({ state: BreakerState.Open, trips: 2 });
    expect(failure.transition).toMatchObject({ from: BreakerState.HalfOpen, reason: "probe_failed" });
  });

  it("needs half_open_requests successful probes, one lease at a time", () => {
    const strict = circuitBreaker({ half_open_requests: 2 });
    let state = strict.initial();
    for (let i = 0; i < 3; i++) state = strict.report(state, "failure", T0).state;
    const at = T0 + 15 * MIN;
    const first = strict.permit(state, at);
    expect(strict.permit(first.state, at + 1).allowed).toBe(false);
    const afterOne = strict.report(first.state, "success", at + 1_000);
    expect(afterOne.state).toMatchObject({
      state: BreakerState.HalfOpen,
      probe_successes: 1,
      probe_lease_until: null,
    });
    expect(afterOne.transition).toBeUndefined();
    const second = strict.permit(afterOne.state, at + 2_000);
    expect(second.allowed).toBe(true);
    const closed = strict.report(second.state, "success", at + 3_000);
    expect(closed.state.state).toBe(BreakerState.Closed);
    expect(closed.transition?.reason).toBe("probe_succeeded");
  });
});

describe("circuitBreaker: admin actions", () => {
  it("trip holds the breaker open, without probes, until reset", () => {
    const tripped = breaker.trip(breaker.initial(), T0);
    expect(tripped.state).toMatchObject({
      state: BreakerState.Open,
      held: true,
      retry_at: null,
      opened_at: T0,
    });
    expect(tripped.transition).toMatchObject({
      from: BreakerState.Closed,
      to: BreakerState.Open,
      reason: "manual_trip",
    });
    const days = T0 + 3 * 24 * 60 * MIN;
    expect(breaker.advance(tripped.state, days).state.state).toBe(BreakerState.Open);
    expect(breaker.permit(tripped.state, days)).toMatchObject({
      allowed: false,
      refusal: "held",
      retry_at: null,
    });
    expect(breaker.report(tripped.state, "success", days).state).toEqual(tripped.state);
    // tripping again changes nothing and is not a transition
    const again = breaker.trip(tripped.state, days);
    expect(again.state).toEqual(tripped.state);
    expect(again.transition).toBeUndefined();
  });

  it("reset closes from any state and forgets everything", () => {
    const fromOpen = breaker.reset(openedAt(T0), T0 + MIN);
    expect(fromOpen.state).toEqual(breaker.initial());
    expect(fromOpen.transition).toMatchObject({
      from: BreakerState.Open,
      to: BreakerState.Closed,
      reason: "manual_reset",
    });

    const halfOpen = breaker.permit(openedAt(T0), T0 + 15 * MIN).state;
    expect(breaker.reset(halfOpen, T0 + 15 * MIN).transition?.from).toBe(BreakerState.HalfOpen);

    const held = breaker.trip(breaker.initial(), T0).state;
    expect(breaker.reset(held, T0 + MIN).state).toEqual(breaker.initial());

    // a closed breaker with failures: counters cleared, no transition
    const closed = breaker.reset(feed(breaker.initial(), ["failure", "failure"]), T0);
    expect(closed.state).toEqual(breaker.initial());
    expect(closed.transition).toBeUndefined();
  });
});

describe("circuitBreaker: persistence", () => {
  it("round-trips through JSON", () => {
    const leased = breaker.permit(openedAt(T0), T0 + 15 * MIN).state;
    const restored = breaker.fromJSON(JSON.parse(JSON.stringify(breaker.toJSON(leased))));
    expect(restored).toEqual(leased);
    // and the restored state keeps refusing a second prober
    expect(breaker.permit(restored, T0 + 15 * MIN + 1).allowed).toBe(false);
  });

  it("fills missing fields, accepts ISO times, refuses an unknown state", () => {
    expect(breaker.fromJSON({})).toEqual(breaker.initial());
    const restored = breaker.fromJSON({
      state: "open",
      failures: 3,
      trips: 1,
      opened_at: "2024-06-01T12:00:00.000Z",
      retry_at: "2024-06-01T12:15:00.000Z",
    });
    expect(restored).toMatchObject({ state: BreakerState.Open, opened_at: T0, retry_at: T0 + 15 * MIN });
    // open with no probe time and not held: probe at once rather than stay open forever
    expect(breaker.fromJSON({ state: "open", opened_at: T0 }).retry_at).toBe(T0);
    expect(() => breaker.fromJSON({ state: "ajar" })).toThrow(TypeError);
    expect(() => breaker.fromJSON(null)).toThrow(TypeError);
  });

  it("refuses nonsense options", () => {
    expect(() => circuitBreaker({ failure_threshold: 0 })).toThrow(RangeError);
    expect(() => circuitBreaker({ timeout: { initialMs: 60 * MIN, maxMs: 15 * MIN } })).toThrow(RangeError);
  });

  it("takes a breaker entry from the config as its options", () => {
    const fromConfig = circuitBreaker({
      failure_threshold: 2,
      timeout: { initialMs: MIN, maxMs: 4 * MIN },
      half_open_requests: 1,
    });
    const open = fromConfig.report(
      fromConfig.report(fromConfig.initial(), "failure", T0).state,
      "failure",
      T0,
    );
    expect(open.state.retry_at).toBe(T0 + MIN);
    expect([1, 2, 3, 4].map((trips) => fromConfig.cooldownMs(trips) / MIN)).toEqual([1, 2, 4, 4]);
  });
});
