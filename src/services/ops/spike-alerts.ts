/**
 * Spend spikes: tokens spent in the current spike window (5 min) over `factor` (10) times the
 * trailing hour's average (src/guards/spike.ts), all agents together. One alert per window (a
 * row in `spike_alerts`); the bookkeeping job resolves it once a later window is back to normal.
 */
import { DEFAULT_SPIKE_OPTIONS, detectSpike, type SpikeResult } from "../../guards/spike.ts";
import type { OpsContext } from "./context.ts";

export const SPIKE_ALERT_KEY = "usage:spike";

async function detect(ctx: OpsContext, now: number): Promise<SpikeResult> {
  const spike = ctx.config.cost_management.spike;
  const since = now - DEFAULT_SPIKE_OPTIONS.lookback_ms - 2 * spike.window;
  const { rows } = await ctx.db.query<{ bucket_start: Date; tokens: number }>(
    "select bucket_start, tokens from usage_spike_buckets where bucket_start > $1",
    [new Date(since)],
  );
  return detectSpike(
    rows.map((row) => ({ start: row.bucket_start.getTime(), tokens: row.tokens })),
    now,
    { enabled: spike.enabled, window: spike.window, factor: spike.factor },
  );
}

/** After a usage that spent tokens: raises the spike alert once per window. */
export async function checkSpike(ctx: OpsContext): Promise<SpikeResult | null> {
  if (!ctx.config.cost_management.spike.enabled) return null;
  const now = ctx.now();
  const result = await detect(ctx, now);
  if (!result.spike) return result;
  const claimed = await ctx.db.query(
    `insert into spike_alerts (window_start, alerted_at, detail) values ($1, $2, $3)
     on conflict (window_start) do nothing returning window_start`,
    [new Date(result.window_start), new Date(now), result.detail],
  );
  if (claimed.rowCount === 0) return result;
  const fired = await ctx.alerts.fire({
    key: SPIKE_ALERT_KEY,
    severity: "warning",
    title: "Token spend spike",
    text: result.detail,
    source: "budget",
    labels: { alertname: "UsageSpike" },
  });
  if (!fired) {
    await ctx.db.query("delete from spike_alerts where window_start = $1", [new Date(result.window_start)]);
  }
  return result;
}

/** Bookkeeping: once the spike's window is over and the current one is normal, resolve it. */
export async function resolveSpikeIfCalm(ctx: OpsContext): Promise<boolean> {
  const now = ctx.now();
  const window = ctx.config.cost_management.spike.window;
  const { rows } = await ctx.db.query<{ window_start: Date }>(
    "select window_start from spike_alerts where resolved_at is null and window_start <= $1",
    [new Date(now - window)],
  );
  if (rows.length === 0) return false;
  const current = await detect(ctx, now);
  if (current.spike) return false;
  const { rowCount } = await ctx.db.query(
    "update spike_alerts set resolved_at = $1 where resolved_at is null and window_start <= $2",
    [new Date(now), new Date(now - window)],
  );
  if (rowCount === 0) return false;
  await ctx.alerts.resolve(SPIKE_ALERT_KEY, `spend back to normal: ${current.detail}`);
  return true;
}
