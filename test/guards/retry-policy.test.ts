import { describe, expect, it } from "vitest";
import {
  canRetry,
  DEFAULT_RETRY_POLICY,
  nextAttemptAt,
  type RetryPolicy,
  retryDelay,
} from "../../src/guards/retry-policy.ts";

const noJitter: RetryPolicy = { ...DEFAULT_RETRY_POLICY, jitter: false };
const T0 = Date.parse("2024-06-01T12:00:00Z");

describe("retryDelay", () => {
  it("backs off exponentially from 1 s, capped at 60 s", () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 20].map((attempt) => retryDelay(attempt, noJitter));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  });

  it("supports linear and constant backoff and another multiplier", () => {
    expect([1, 2, 3].map((n) => retryDelay(n, { ...noJitter, backoff: "linear" }))).toEqual([
      1_000, 2_000, 3_000,
    ]);
    expect([1, 2, 3].map((n) => retryDelay(n, { ...noJitter, backoff: "constant" }))).toEqual([
      1_000, 1_000, 1_000,
    ]);
    expect([1, 2, 3].map((n) => retryDelay(n, { ...noJitter, multiplier: 3 }))).toEqual([
      1_000, 3_000, 9_000,
    ]);
  });

  it("jitters within [d/2, d] with the injected random, never past max_delay", () => {
    const jittered: RetryPolicy = { ...DEFAULT_RETRY_POLICY, jitter: true };
    expect(retryDelay(3, jittered, () => 0)).toBe(2_000);
    expect(retryDelay(3, jittered, () => 0.5)).toBe(3_000);
    expect(retryDelay(3, jittered, () => 0.999_999)).toBe(4_000);
    expect(retryDelay(30, jittered, () => 0.999_999)).toBe(60_000);
    expect(retryDelay(30, jittered, () => 0)).toBe(30_000);
    // a misbehaving random source is clamped
    expect(retryDelay(1, jittered, () => 7)).toBe(1_000);
    expect(retryDelay(1, jittered, () => -1)).toBe(500);
  });

  it("does not read the random source without jitter", () => {
    let calls = 0;
    retryDelay(2, noJitter, () => {
      calls++;
      return 0.5;
    });
    expect(calls).toBe(0);
  });

  it("treats attempt numbers below 1 as the first and survives huge ones", () => {
    expect(retryDelay(0, noJitter)).toBe(1_000);
    expect(retryDelay(-3, noJitter)).toBe(1_000);
    expect(retryDelay(10_000, noJitter)).toBe(60_000);
  });
});

describe("nextAttemptAt", () => {
  it("schedules retries until max_attempts tries were made (the first one included)", () => {
    expect(nextAttemptAt(1, T0, noJitter)).toBe(T0 + 1_000);
    expect(nextAttemptAt(2, T0, noJitter)).toBe(T0 + 2_000);
    expect(nextAttemptAt(3, T0, noJitter)).toBeNull();
    expect(canRetry(2)).toBe(true);
    expect(canRetry(3)).toBe(false);
  });

  it("uses the jittered delay", () => {
    expect(nextAttemptAt(2, T0, DEFAULT_RETRY_POLICY, () => 0)).toBe(T0 + 1_000);
    expect(nextAttemptAt(9, T0, { ...DEFAULT_RETRY_POLICY, max_attempts: 10 }, () => 1)).toBe(T0 + 60_000);
  });
});
