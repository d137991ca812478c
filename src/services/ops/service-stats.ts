/**
 * Latency and error rate per service, from the calls agents report to breakers: what the
 * degradation triggers, the host thresholds (error_rate, latency_p99) and latency-aware routing
 * read. A service is a breaker name (usually a provider).
 */
import type { Db } from "../../store/pool.ts";

/** Below this many counted calls in the window a rate or a p99 says nothing: one failure is not 100 %. */
export const DEFAULT_MIN_SAMPLES = 20;
/** The window the measurements cover (report's "recent" p99 and error rate). */
export const DEFAULT_STATS_WINDOW_MS = 5 * 60_000;

export interface ServiceStats {
  name: string;
  /** Calls that count: successes and failures (4xx other than 408/429 are not the service's fault). */
  counted: number;
  failures: number;
  /** null with fewer than the minimum samples. */
  error_ratio: number | null;
  /** null with fewer than the minimum timed calls. */
  p99_ms: number | null;
  /** Mean latency of the timed calls (null when none): for latency-aware routing. */
  mean_ms: number | null;
}

export async function serviceStats(
  db: Db,
  range: { from: number; to: number },
  minSamples = DEFAULT_MIN_SAMPLES,
): Promise<ServiceStats[]> {
  const { rows } = await db.query<{
    name: string;
    counted: number;
    failures: number;
    timed: number;
    p99: number | null;
    mean: number | null;
  }>(
    `select name,
            count(*) filter (where outcome <> 'ignored')::int as counted,
            count(*) filter (where outcome = 'failure')::int as failures,
            count(latency_ms)::int as timed,
            percentile_cont(0.99) within group (order by latency_ms) as p99,
            avg(latency_ms)::float8 as mean
       from breaker_reports
      where at > $1 and at <= $2
      group by name
      order by name`,
    [new Date(range.from), new Date(range.to)],
  );
  return rows.map((row) => ({
    name: row.name,
    counted: row.counted,
    failures: row.failures,
    error_ratio: row.counted >= minSamples ? row.failures / row.counted : null,
    p99_ms: row.timed >= minSamples && row.p99 !== null ? row.p99 : null,
    mean_ms: row.mean,
  }));
}

/** The service with the highest value of `pick` (ignoring nulls), or null. */
export function worst(
  stats: readonly ServiceStats[],
  pick: (stats: ServiceStats) => number | null,
): { name: string; value: number } | null {
  let found: { name: string; value: number } | null = null;
  for (const entry of stats) {
    const value = pick(entry);
    if (value !== null && (found === null || value > found.value)) found = { name: entry.name, value };
  }
  return found;
}
