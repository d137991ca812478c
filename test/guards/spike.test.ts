import { describe, expect, it } from "vitest";
import { detectSpike, type UsageBucket } from "../../src/guards/spike.ts";

const MIN = 60_000;
const WINDOW = 5 * MIN;
// 12:02:30, inside the window that starts at 12:00
const NOW = Date.parse("2024-06-01T12:02:30Z");
const CURRENT = Date.parse("2024-06-01T12:00:00Z");

/** Buckets for the trailing hour: `tokens[i]` is the window starting (i+1) windows before the current one. */
function history(tokens: number[]): UsageBucket[] {
  return tokens.map((amount, i) => ({ start: CURRENT - (i + 1) * WINDOW, tokens: amount }));
}

const steady = history(Array.from({ length: 12 }, () => 3_000));

describe("detectSpike", () => {
  it("alerts when the current window passes 10× the trailing hour's average", () => {
    const result = detectSpike([...steady, { start: CURRENT, tokens: 30_001 }], NOW);
    expect(result).toMatchObject({
      spike: true,
      status: "spike",
      window_start: CURRENT,
      current_tokens: 30_001,
      baseline_avg: 3_000,
      active_buckets: 12,
      threshold_tokens: 30_000,
    });
    expect(result.detail).toBe("30 001 tokens in 5 min, 10× the last hour's average of 3 000");
  });

  it("does not alert at exactly 10×, nor below", () => {
    expect(detectSpike([...steady, { start: CURRENT, tokens: 30_000 }], NOW)).toMatchObject({
      spike: false,
      status: "normal",
    });
    expect(detectSpike([...steady, { start: CURRENT, tokens: 5_000 }], NOW).spike).toBe(false);
  });

  it("sums several buckets in one window and leaves out the current one from the baseline", () => {
    const split = [
      ...steady,
      { start: CURRENT, tokens: 20_000 },
      { start: CURRENT + 2 * MIN, tokens: 20_000 },
      // too old for the hour and in the future: ignored
      { start: CURRENT - 13 * WINDOW, tokens: 10_000_000 },
      { start: CURRENT + WINDOW, tokens: 10_000_000 },
    ];
    const result = detectSpike(split, NOW);
    expect(result.current_tokens).toBe(40_000);
    expect(result.baseline_avg).toBe(3_000);
    expect(result.spike).toBe(true);
  });

  it("needs a baseline: the first request after a quiet spell does not alert", () => {
    const afterSilence = detectSpike([{ start: CURRENT, tokens: 500_000 }], NOW);
    expect(afterSilence).toMatchObject({
      spike: false,
      status: "no_baseline",
      threshold_tokens: null,
      ratio: null,
    });
    const twoWindows = detectSpike(
      [...history([1_000, 0, 0, 2_000]), { start: CURRENT, tokens: 500_000 }],
      NOW,
    );
    expect(twoWindows).toMatchObject({ spike: false, status: "no_baseline", active_buckets: 2 });
    expect(twoWindows.detail).toContain("usage in 2 of the last 12 windows");
  });

  it("floors a tiny baseline: idle agents alert only past factor × 1 000 tokens", () => {
    const trickle = history([100, 100, 100, 100]);
    expect(detectSpike([...trickle, { start: CURRENT, tokens: 9_000 }], NOW)).toMatchObject({
      spike: false,
      baseline_avg: 400 / 12,
      threshold_tokens: 10_000,
    });
    const burst = detectSpike([...trickle, { start: CURRENT, tokens: 50_000 }], NOW);
    expect(burst.spike).toBe(true);
    expect(burst.detail).toContain("(the floor)");
  });

  it("averages over the whole hour, empty windows as 0", () => {
    const half = history([6_000, 0, 6_000, 0, 6_000, 0, 6_000, 0, 6_000, 0, 6_000, 0]);
    const result = detectSpike([...half, { start: CURRENT, tokens: 30_001 }], NOW);
    expect(result.baseline_avg).toBe(3_000);
    expect(result.spike).toBe(true);
  });

  it("follows the configured factor and window, and can be turned off", () => {
    const current = { start: CURRENT, tokens: 9_100 };
    expect(detectSpike([...steady, current], NOW, { factor: 3 }).spike).toBe(true);
    expect(detectSpike([...steady, current], NOW, { enabled: false })).toMatchObject({
      spike: false,
      status: "disabled",
    });
    // 10-minute windows: 6 in the hour
    const tenMin = 10 * MIN;
    const buckets = Array.from({ length: 6 }, (_, i) => ({
      start: CURRENT - (i + 1) * tenMin,
      tokens: 2_000,
    }));
    const result = detectSpike([...buckets, { start: CURRENT, tokens: 20_001 }], NOW, { window: tenMin });
    expect(result).toMatchObject({ spike: true, baseline_avg: 2_000, window_start: CURRENT });
  });
});
