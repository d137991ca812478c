/**
 * The report's retry policy (`retry:` in pitwall.yaml): 3 attempts, 1 s .. 60 s exponential,
 * optional jitter. Pure: the random source is injected; times are epoch milliseconds.
 *
 * `max_attempts` counts every try, the first one included (3 = the call and two retries), as
 * the word reads. Jitter is "equal jitter": a delay d becomes a value in [d/2, d], so a retry
 * never comes sooner than half the planned backoff and never later than `max_delay`.
 */
import type { Config } from "../config/schema.ts";

export type RetryPolicy = Config["retry"];

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  max_attempts: 3,
  backoff: "exponential",
  initial_delay: 1_000,
  max_delay: 60_000,
  multiplier: 2,
  jitter: true,
};

/**
 * The wait before the next try, after try number `attempt` (1-based) failed:
 * exponential `initial_delay × multiplier^(attempt-1)`, linear `initial_delay × attempt`,
 * constant `initial_delay`; capped at `max_delay`, then jittered when `jitter` is on.
 * `random` returns [0, 1) (default Math.random); only read when jitter is on.
 */
export function retryDelay(
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(attempt));
  let planned: number;
  switch (policy.backoff) {
    case "exponential":
      planned = policy.initial_delay * policy.multiplier ** (n - 1);
      break;
    case "linear":
      planned = policy.initial_delay * n;
      break;
    case "constant":
      planned = policy.initial_delay;
      break;
  }
  const capped = Math.min(policy.max_delay, Number.isFinite(planned) ? planned : policy.max_delay);
  if (!policy.jitter) return Math.round(capped);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.round(capped / 2 + (capped / 2) * r);
}

/** Whether another try is allowed after `failedAttempts` tries failed. */
export function canRetry(failedAttempts: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): boolean {
  return failedAttempts < policy.max_attempts;
}

/**
 * When to try again after the `failedAttempts`-th try failed at `failedAt`;
 * null when the attempts are used up.
 */
export function nextAttemptAt(
  failedAttempts: number,
  failedAt: number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  random: () => number = Math.random,
): number | null {
  if (!canRetry(failedAttempts, policy)) return null;
  return failedAt + retryDelay(failedAttempts, policy, random);
}
