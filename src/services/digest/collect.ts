/**
 * Every query of the digest, in one place: what happened in a window of 24 hours, read from the
 * tables the other feature areas write (alerts with their events and firings, approvals, usage,
 * the audit log's breaker transitions, mode history), and the budgets as ops computes them. The
 * result is plain data; rendering it (text, caption, chart, email) is pure and lives in render.ts
 * and chart.ts.
 *
 * Everything is computed as of the window's end, so a digest sent late says what the on-time one
 * would have said.
 */
import type { Budget, Config } from "../../config/index.ts";
import type { Db, DbClient } from "../../store/pool.ts";
import type { AlertSeverity } from "../contracts.ts";

export const HOUR_MS = 3_600_000;
/** Bars per chart and hours per digest. */
export const DIGEST_HOURS = 24;
/** Noisiest keys listed. */
export const NOISY_KEYS = 5;

export interface DigestWindow {
  /** First instant (epoch ms, inclusive). */
  start: number;
  /** End (epoch ms, exclusive). */
  end: number;
}

export interface NoisyKey {
  key: string;
  /** Title of its latest incident. */
  title: string;
  /** Highest severity it fired with. */
  severity: AlertSeverity;
  /** Alerts received for it in the window (openings and repeats). */
  firings: number;
  /** Incidents of it that saw a firing in the window. */
  incidents: number;
}

export interface IncidentStats {
  /** Incidents opened in the window, by severity. */
  fired: Record<AlertSeverity, number>;
  /** Incidents open at the window's end, by severity. */
  open: Record<AlertSeverity, number>;
  /** Alerts received (openings and repeats). */
  firings: number;
  noisiest: NoisyKey[];
  /** For each incident acknowledged in the window: ms from its first alert to the acknowledgement. */
  acknowledgeMs: number[];
  /** For each incident resolved in the window: ms from its first alert to the resolve (so its length is the count). */
  resolveMs: number[];
}

export interface ApprovalStats {
  approved: number;
  approvedByPolicy: number;
  denied: number;
  deniedByPolicy: number;
  /** Expired in the window (a pending request past its expiry counts, as the API reads it). */
  expired: number;
  /** For each request a human decided in the window: ms from the request to the decision. */
  humanDecisionMs: number[];
}

/** Usage of one provider and model in the window. */
export interface UsageRow {
  provider: string;
  /** '' when the agent did not say. */
  model: string;
  requests: number;
  cachedRequests: number;
  inputTokens: number;
  outputTokens: number;
  /** What counts against token budgets (cached answers spend nothing). */
  tokensSpent: number;
  tokensSaved: number;
  costUsd: number;
}

/**
 * One budget for one key, as of the window's end, in its own window (today or this month in the
 * ops time zone, which need not be digest.timezone): what /budgets said at that instant.
 */
export interface BudgetLine {
  name: string;
  scope: Budget["scope"];
  /** A provider, agent or model, or "*" for a global budget. */
  key: string;
  unit: "tokens" | "usd";
  used: number;
  limit: number;
  /** 0-100, rounded down to 0.1. */
  pct: number;
  exhausted: boolean;
  window: "daily" | "monthly";
}

export interface ModeChange {
  at: number;
  mode: string;
  previous: string;
  reasons: string[];
  /** 'auto', or the admin who pinned or unpinned. */
  changedBy: string;
}

export interface NamedCount {
  name: string;
  count: number;
}

export interface DigestData {
  window: DigestWindow;
  incidents: IncidentStats;
  approvals: ApprovalStats;
  usage: UsageRow[];
  budgets: BudgetLine[];
  /** Times each circuit breaker opened (by itself or by an admin's trip). */
  breakerTrips: NamedCount[];
  /** Times each health check went down (its alert fired). */
  checkFailures: NamedCount[];
  /** Checks still down at the window's end. */
  checksDown: string[];
  modeChanges: ModeChange[];
  /** The mode in effect at the window's end. */
  modeAtEnd: string;
  /** Per hour of the window (bar i covers [start + i h, start + (i + 1) h)). */
  hourly: { alerts: number[]; tokens: number[] };
}

const SEVERITIES: readonly AlertSeverity[] = ["critical", "warning", "info"];

function bySeverity(rows: ReadonlyArray<{ severity: string; n: number }>): Record<AlertSeverity, number> {
  const out: Record<AlertSeverity, number> = { critical: 0, warning: 0, info: 0 };
  for (const row of rows) {
    if ((SEVERITIES as readonly string[]).includes(row.severity)) out[row.severity as AlertSeverity] += row.n;
  }
  return out;
}

function hourlyBuckets(rows: ReadonlyArray<{ bucket: number; n: number }>): number[] {
  const out = new Array<number>(DIGEST_HOURS).fill(0);
  for (const row of rows) {
    if (row.bucket >= 0 && row.bucket < DIGEST_HOURS) out[row.bucket] = (out[row.bucket] ?? 0) + row.n;
  }
  return out;
}

/** The 24 hours before `end`. */
export function windowEndingAt(end: number): DigestWindow {
  return { start: end - DIGEST_HOURS * HOUR_MS, end };
}

/** What the digest reads of a budget's status (ops' BudgetStatus has these and more). */
export interface BudgetStatusAt {
  budget: Pick<Budget, "name" | "scope" | "unit" | "limit" | "window">;
  key: string;
  used: number;
  evaluation: { pct: number; exhausted: boolean };
}

/**
 * Every budget's status for every key at an instant, read through `db`: ops' `budgetStatuses`
 * (src/services/ops/budgets.ts), handed in by the module.
 */
export type BudgetStatusesAt = (
  source: { db: DbClient; config: Config },
  at: number,
) => Promise<readonly BudgetStatusAt[]>;

export interface CollectDeps {
  db: Db;
  config: Config;
  budgetStatuses: BudgetStatusesAt;
}

/**
 * Reads the whole digest from one snapshot (a read-only repeatable-read transaction on one
 * connection): the figures agree with each other even while alerts keep arriving, and the digest
 * takes one connection of the pool, not a dozen.
 */
export async function collectDigest(deps: CollectDeps, window: DigestWindow): Promise<DigestData> {
  const client = await deps.db.connect();
  try {
    await client.query("begin isolation level repeatable read read only");
    const data = await collectIn(client, deps, window);
    await client.query("commit");
    return data;
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

async function collectIn(db: DbClient, deps: CollectDeps, window: DigestWindow): Promise<DigestData> {
  const incidents = await collectIncidents(db, window);
  const approvals = await collectApprovals(db, window);
  const usage = await collectUsage(db, window);
  const budgets = await collectBudgets(db, deps, window.end);
  const breakerTrips = await collectBreakerTrips(db, window);
  const checks = await collectChecks(db, window);
  const mode = await collectModes(db, window);
  const hourly = await collectHourly(db, window);
  return {
    window,
    incidents,
    approvals,
    usage,
    budgets,
    breakerTrips,
    checkFailures: checks.failures,
    checksDown: checks.down,
    modeChanges: mode.changes,
    modeAtEnd: mode.atEnd,
    hourly,
  };
}

/*
 * Firings (alerts received: the one that opened an incident and every repeat) are read from
 * alert_firings (migration 010), not from alert_events: a repeat that changes nothing but its
 * incident's count and last_seen is written as just that (src/services/alerts/fast-repeat.ts),
 * without an event, so counting events would miss most of a storm. alert_firings holds one count
 * per incident per 15-minute bin (date_bin from 2000-01-01 00:00 UTC), so windows are read at that
 * resolution: a bin belongs to the window when it starts in it (`bin >= start and bin < end`).
 *
 * A scheduled digest at a whole hour or quarter hour of its time zone starts and ends on bin
 * boundaries (every zone's offset from UTC is a multiple of 15 minutes), and so does each of its
 * hourly bars: the counts are exact. A window off those boundaries (/digest, which ends at the
 * moment it is asked for; a schedule such as 07:10) counts from the first boundary after its start
 * to the boundary after its end: each edge is off by less than 15 minutes, and firings can then
 * differ a little from the incidents fired, which are counted by first_seen. Windows that adjoin
 * still count every bin exactly once.
 */

/** Runs queries one after another: one connection runs one query at a time (pg refuses to queue). */
async function inOrder<T extends readonly unknown[]>(
  steps: { [K in keyof T]: () => Promise<T[K]> },
): Promise<T> {
  const results: unknown[] = [];
  for (const step of steps) results.push(await step());
  return results as unknown as T;
}

async function collectIncidents(db: DbClient, window: DigestWindow): Promise<IncidentStats> {
  const from = new Date(window.start);
  const to = new Date(window.end);
  const [fired, resolved, open, firings, noisiest, acknowledged] = await inOrder([
    () =>
      db.query<{ severity: string; n: number }>(
        `select severity, count(*)::int as n from alerts
        where first_seen >= $1 and first_seen < $2 group by severity`,
        [from, to],
      ),
    () =>
      db.query<{ ms: number }>(
        `select (extract(epoch from (resolved_at - first_seen)) * 1000)::float8 as ms from alerts
        where resolved_at >= $1 and resolved_at < $2
        order by resolved_at`,
        [from, to],
      ),
    () =>
      db.query<{ severity: string; n: number }>(
        `select severity, count(*)::int as n from alerts
        where first_seen < $1 and (resolved_at is null or resolved_at >= $1)
          and (status <> 'resolved' or resolved_at is not null)
        group by severity`,
        [to],
      ),
    () =>
      db.query<{ n: number }>(
        "select coalesce(sum(n), 0)::bigint as n from alert_firings where bin >= $1 and bin < $2",
        [from, to],
      ),
    () =>
      db.query<{ key: string; title: string; severity: string; firings: number; incidents: number }>(
        `select a.key,
              (array_agg(a.title order by a.seq desc))[1] as title,
              case max(case a.severity when 'critical' then 3 when 'warning' then 2 else 1 end)
                when 3 then 'critical' when 2 then 'warning' else 'info' end as severity,
              sum(f.n)::bigint as firings,
              count(distinct a.id)::int as incidents
         from alert_firings f join alerts a on a.id = f.alert_id
        where f.bin >= $1 and f.bin < $2
        group by a.key
        order by firings desc, a.key
        limit $3`,
        [from, to, NOISY_KEYS],
      ),
    () =>
      db.query<{ ms: number }>(
        `select (extract(epoch from (acknowledged_at - first_seen)) * 1000)::float8 as ms from alerts
        where acknowledged_at >= $1 and acknowledged_at < $2
        order by acknowledged_at`,
        [from, to],
      ),
  ]);
  return {
    fired: bySeverity(fired.rows),
    open: bySeverity(open.rows),
    firings: firings.rows[0]?.n ?? 0,
    noisiest: noisiest.rows.map((row) => ({
      key: row.key,
      title: row.title,
      severity: row.severity as AlertSeverity,
      firings: row.firings,
      incidents: row.incidents,
    })),
    acknowledgeMs: acknowledged.rows.map((row) => Math.max(0, row.ms)),
    resolveMs: resolved.rows.map((row) => Math.max(0, row.ms)),
  };
}

async function collectApprovals(db: DbClient, window: DigestWindow): Promise<ApprovalStats> {
  const from = new Date(window.start);
  const to = new Date(window.end);
  const [decided, pastExpiry, human] = await inOrder([
    () =>
      db.query<{ status: string; kind: string; n: number }>(
        `select status, decided_by_kind as kind, count(*)::int as n from approvals
        where status in ('approved', 'denied', 'expired') and decided_at >= $1 and decided_at < $2
        group by status, decided_by_kind`,
        [from, to],
      ),
    // Not yet marked by the expiry job, but already expired for everyone who reads it.
    () =>
      db.query<{ n: number }>(
        `select count(*)::int as n from approvals
        where status = 'pending' and expires_at >= $1 and expires_at < $2`,
        [from, to],
      ),
    () =>
      db.query<{ ms: number }>(
        `select (extract(epoch from (decided_at - created_at)) * 1000)::float8 as ms from approvals
        where decided_by_kind = 'human' and decided_at >= $1 and decided_at < $2
        order by decided_at`,
        [from, to],
      ),
  ]);
  const stats: ApprovalStats = {
    approved: 0,
    approvedByPolicy: 0,
    denied: 0,
    deniedByPolicy: 0,
    expired: pastExpiry.rows[0]?.n ?? 0,
    humanDecisionMs: human.rows.map((row) => Math.max(0, row.ms)),
  };
  for (const row of decided.rows) {
    if (row.status === "approved") {
      stats.approved += row.n;
      if (row.kind === "policy") stats.approvedByPolicy += row.n;
    } else if (row.status === "denied") {
      stats.denied += row.n;
      if (row.kind === "policy") stats.deniedByPolicy += row.n;
    } else {
      stats.expired += row.n;
    }
  }
  return stats;
}

async function collectUsage(db: DbClient, window: DigestWindow): Promise<UsageRow[]> {
  const { rows } = await db.query<{
    provider: string;
    model: string;
    requests: number;
    cached_requests: number;
    input_tokens: number;
    output_tokens: number;
    tokens_spent: number;
    tokens_saved: number;
    cost_usd: number;
  }>(
    `select provider, coalesce(model, '') as model, count(*)::int as requests,
            count(*) filter (where cached)::int as cached_requests,
            sum(input_tokens)::bigint as input_tokens, sum(output_tokens)::bigint as output_tokens,
            sum(tokens_spent)::bigint as tokens_spent, sum(tokens_saved)::bigint as tokens_saved,
            sum(cost_usd)::float8 as cost_usd
       from usage_events where at >= $1 and at < $2
      group by provider, coalesce(model, '')
      order by provider, model`,
    [new Date(window.start), new Date(window.end)],
  );
  return rows.map((row) => ({
    provider: row.provider,
    model: row.model,
    requests: row.requests,
    cachedRequests: row.cached_requests,
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    tokensSpent: row.tokens_spent,
    tokensSaved: row.tokens_saved,
    costUsd: row.cost_usd,
  }));
}

/**
 * Every budget for every key it has, as of `end`. Not computed here: a budget's window and usage
 * are properties of the budget, not of the report, so there is one definition of them (ops'
 * budgetStatuses, in the ops time zone), and the digest reports what /budgets said at that instant
 * even when digest.timezone is another zone. The instant is the one just before the end, so a
 * digest at local midnight reports the day that ended; usage after it is not counted.
 */
async function collectBudgets(db: DbClient, deps: CollectDeps, end: number): Promise<BudgetLine[]> {
  const statuses = await deps.budgetStatuses({ db, config: deps.config }, end - 1);
  return statuses.map((status) => ({
    name: status.budget.name,
    scope: status.budget.scope,
    key: status.key,
    unit: status.budget.unit,
    used: status.used,
    limit: status.budget.limit,
    pct: status.evaluation.pct,
    exhausted: status.evaluation.exhausted,
    window: status.budget.window,
  }));
}

async function collectBreakerTrips(db: DbClient, window: DigestWindow): Promise<NamedCount[]> {
  // Openings are audited by the breaker service: transitions to open (failures, a failed probe)
  // and admins' trips that changed the state.
  const { rows } = await db.query<{ name: string; count: number }>(
    `select substring(target from 9) as name, count(*)::int as count from audit_log
      where at >= $1 and at < $2 and target like 'breaker:%'
        and ((action = 'breaker.transition' and details ->> 'to' = 'open')
          or (action = 'breaker.trip' and details ->> 'to' = 'open' and details ->> 'changed' = 'true'))
      group by 1
      order by count desc, name`,
    [new Date(window.start), new Date(window.end)],
  );
  return rows;
}

async function collectChecks(
  db: DbClient,
  window: DigestWindow,
): Promise<{ failures: NamedCount[]; down: string[] }> {
  // A check that goes down raises its alert once (key check:<name>); it resolves when it recovers.
  const [failures, down] = await inOrder([
    () =>
      db.query<{ name: string; count: number }>(
        `select substring(key from 7) as name, count(*)::int as count from alerts
        where key like 'check:%' and first_seen >= $1 and first_seen < $2
        group by 1
        order by count desc, name`,
        [new Date(window.start), new Date(window.end)],
      ),
    () =>
      db.query<{ name: string }>(
        `select distinct substring(key from 7) as name from alerts
        where key like 'check:%' and first_seen < $1 and (resolved_at is null or resolved_at >= $1)
          and (status <> 'resolved' or resolved_at is not null)
        order by name`,
        [new Date(window.end)],
      ),
  ]);
  return { failures: failures.rows, down: down.rows.map((row) => row.name) };
}

async function collectModes(
  db: DbClient,
  window: DigestWindow,
): Promise<{ changes: ModeChange[]; atEnd: string }> {
  const [changes, last] = await inOrder([
    () =>
      db.query<{ at: Date; mode: string; previous: string; reasons: unknown; changed_by: string }>(
        `select at, mode, previous, reasons, changed_by from mode_history
        where at >= $1 and at < $2 order by at, id`,
        [new Date(window.start), new Date(window.end)],
      ),
    () =>
      db.query<{ mode: string }>(
        "select mode from mode_history where at < $1 order by at desc, id desc limit 1",
        [new Date(window.end)],
      ),
  ]);
  return {
    changes: changes.rows.map((row) => ({
      at: row.at.getTime(),
      mode: row.mode,
      previous: row.previous,
      reasons: Array.isArray(row.reasons) ? row.reasons.map(String) : [],
      changedBy: row.changed_by,
    })),
    atEnd: last.rows[0]?.mode ?? "FULL",
  };
}

async function collectHourly(db: DbClient, window: DigestWindow): Promise<DigestData["hourly"]> {
  const params = [new Date(window.start), new Date(window.end)];
  const [alerts, tokens] = await inOrder([
    // Each bin goes to the bar its start falls in (see the firings note above collectIncidents).
    () =>
      db.query<{ bucket: number; n: number }>(
        `select floor(extract(epoch from (bin - $1)) / 3600)::int as bucket, sum(n)::bigint as n
         from alert_firings where bin >= $1 and bin < $2
        group by 1`,
        params,
      ),
    () =>
      db.query<{ bucket: number; n: number }>(
        `select floor(extract(epoch from (at - $1)) / 3600)::int as bucket, sum(tokens_spent)::bigint as n
         from usage_events where at >= $1 and at < $2
        group by 1`,
        params,
      ),
  ]);
  return { alerts: hourlyBuckets(alerts.rows), tokens: hourlyBuckets(tokens.rows) };
}
