/**
 * Spend spikes: tokens in the current window (5 minutes) over `factor` × (10) the trailing
 * hour's average per window, the current window excluded. Input: usage buckets (the services'
 * aggregates), each `window` long; times are epoch milliseconds, windows aligned to the epoch.
 *
 * A baseline needs history, so the first request after a quiet spell cannot alert:
 * - at least `min_active_buckets` (3) of the trailing hour's windows had usage, else no baseline;
 * - the average counts every window of the hour, empty ones as 0, and is floored at
 *   `min_baseline_tokens` (1 000 per window): a mostly idle agent must still burn
 *   factor × floor (10 000 tokens in 5 minutes by default) before it alerts.
 * The current window is still filling: it is compared as it grows, so a spike is seen as soon
 * as it passes the line, not five minutes later. The services alert once per `window_start`.
 */
import type { Config } from "../config/schema.ts";

export interface UsageBucket {
  /** The bucket's start (any instant inside it is rounded down to the window). */
  start: number;
  tokens: number;
}

export type SpikeConfig = Config["cost_management"]["spike"];

export interface SpikeOptions extends Partial<SpikeConfig> {
  /** How far back the baseline reaches. Default 1 hour. */
  lookback_ms?: number;
  /** Windows of the lookback that must have usage for a baseline. Default 3. */
  min_active_buckets?: number;
  /** Floor of the baseline average, in tokens per window. Default 1 000. */
  min_baseline_tokens?: number;
}

export const DEFAULT_SPIKE_OPTIONS = {
  enabled: true,
  window: 5 * 60_000,
  factor: 10,
  lookback_ms: 60 * 60_000,
  min_active_buckets: 3,
  min_baseline_tokens: 1_000,
} as const satisfies Required<SpikeOptions>;

export interface SpikeResult {
  spike: boolean;
  /** spike; normal: under the line; no_baseline: too little history; disabled. */
  status: "spike" | "normal" | "no_baseline" | "disabled";
  window_start: number;
  current_tokens: number;
  /** Average tokens per window over the lookback, before the floor. */
  baseline_avg: number;
  active_buckets: number;
  /** Tokens the current window must exceed to be a spike; null without a baseline. */
  threshold_tokens: number | null;
  /** current / baseline (floored); null without a baseline. */
  ratio: number | null;
  /** For people: "42 000 tokens in 5 min, 14× the last hour's average of 3 000". */
  detail: string;
}

function group(value: number): string {
  return Math.round(value)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

export function detectSpike(
  buckets: readonly UsageBucket[],
  now: number,
  options: SpikeOptions = {},
): SpikeResult {
  const opts = { ...DEFAULT_SPIKE_OPTIONS, ...options };
  const window = opts.window > 0 ? opts.window : DEFAULT_SPIKE_OPTIONS.window;
  const windowStart = Math.floor(now / window) * window;
  const slots = Math.max(1, Math.round(opts.lookback_ms / window));
  const baselineStart = windowStart - slots * window;
  const minutes = `${Math.round(window / 60_000)} min`;

  let current = 0;
  const perSlot = new Map<number, number>();
  for (const bucket of buckets) {
    const slot = Math.floor(bucket.start / window) * window;
    if (slot === windowStart) current += bucket.tokens;
    else if (slot >= baselineStart && slot < windowStart) {
      perSlot.set(slot, (perSlot.get(slot) ?? 0) + bucket.tokens);
    }
  }
  let total = 0;
  let active = 0;
  for (const tokens of perSlot.values()) {
    total += tokens;
    if (tokens > 0) active++;
  }
  const baselineAvg = total / slots;
  const base = {
    window_start: windowStart,
    current_tokens: current,
    baseline_avg: baselineAvg,
    active_buckets: active,
  };

  if (!opts.enabled) {
    return {
      ...base,
      spike: false,
      status: "disabled",
      threshold_tokens: null,
      ratio: null,
      detail: "spike detection is off",
    };
  }
  if (active < Math.min(opts.min_active_buckets, slots)) {
    return {
      ...base,
      spike: false,
      status: "no_baseline",
      threshold_tokens: null,
      ratio: null,
      detail: `too little history: usage in ${active} of the last ${slots} windows (needs ${opts.min_active_buckets})`,
    };
  }
  const reference = Math.max(baselineAvg, opts.min_baseline_tokens);
  const threshold = opts.factor * reference;
  const ratio = current / reference;
  const spike = current > threshold;
  const lookback =
    opts.lookback_ms % 3_600_000 === 0
      ? `${opts.lookback_ms / 3_600_000 === 1 ? "hour" : `${opts.lookback_ms / 3_600_000} h`}`
      : `${Math.round(opts.lookback_ms / 60_000)} min`;
  const times = ratio >= 10 ? Math.round(ratio) : Math.round(ratio * 10) / 10;
  const floor = reference > baselineAvg ? " (the floor)" : "";
  const detail = `${group(current)} tokens in ${minutes}, ${times}× the last ${lookback}'s average of ${group(reference)}${floor}`;
  return {
    ...base,
    spike,
    status: spike ? "spike" : "normal",
    threshold_tokens: threshold,
    ratio,
    detail,
  };
}
