import type { Config } from "../config/index.ts";
import type { Logger } from "../observability/logger.ts";
import { writeAudit } from "../store/audit.ts";
import type { Db } from "../store/pool.ts";
import type { Job, JobContext } from "./runner.ts";

// Retention (DESIGN.md `retention`; issue 7 item 5): the leader deletes what is older than its
// horizon, table by table, in small batches, and records one audit row per run saying how much
// went. It is the only code that deletes from audit_log (append-only otherwise; an UPDATE trigger
// refuses rewrites, and deletion by age is what the retention setting promises).

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** One table's retention rule. */
export interface RetentionTarget {
  /** Label in logs and the audit summary; default `table`. A later target with the same name replaces an earlier one. */
  name?: string;
  /** Plain lowercase identifier (optionally `schema.table`); quoted when used. */
  table: string;
  /** timestamptz column: rows with `timeColumn < now - olderThanMs` go. */
  timeColumn: string;
  olderThanMs: number;
  /**
   * Extra condition, as SQL, written by the module that owns the table: never built from config or
   * input. `$1` in it is the cutoff (timestamptz). Example: `status = 'resolved'`.
   */
  where?: string;
}

/** Deleted rows of one run, per target name, and the targets that were skipped or failed. */
export interface RetentionReport {
  deleted: Record<string, number>;
  /** Statements run per target (rows deleted = up to batchSize per statement). */
  batches: Record<string, number>;
  /** Targets whose table (or time column) does not exist, e.g. a module not yet migrated. */
  skipped: string[];
  /** Targets whose deletion failed; the others still ran. */
  failed: string[];
  /** True when the job's signal aborted the run (leadership lost, shutdown) before it finished. */
  interrupted: boolean;
}

export interface RetentionOptions {
  db: Db;
  config: Pick<Config, "retention">;
  log: Logger;
  /** The clock (tests); default the system clock. Cutoffs are `now - olderThanMs`. */
  now?: () => Date;
  /** Targets of feature modules (`retentionTargets` they export), after the built-in ones. */
  targets?: readonly RetentionTarget[];
  /** Rows per DELETE statement (default 5 000): short statements, short locks, small WAL bursts. */
  batchSize?: number;
  /** How long delivered and superseded outbox rows are kept (default 7 days; not in the config). */
  deliveredOutboxMs?: number;
  /** Default every hour. */
  everyMs?: number;
}

/**
 * The built-in targets, in the order they run. Dependents go before what they depend on
 * (alert_events and alert_firings before alerts), so the FK cascade has nothing left to do in one
 * big statement.
 *
 * - audit_log by `at`, `retention.audit` (365 d).
 * - outbox: delivered and superseded rows by `created_at`, 7 days by default (the same rows
 *   `pruneDelivered` in src/delivery deletes, but in batches; pending rows are never touched).
 * - alert_firings (migration 010: firings per incident per 15-minute bin) by `bin`, on the
 *   `retention.usage_events` horizon (7 d): only the digest reads them, for its last 24 hours, and
 *   otherwise an incident's rows (up to 96 a day while it fires) would stay for as long as the
 *   incident does.
 * - alert_events and alert_firings, then alerts: resolved incidents whose `resolved_at` is older
 *   than `retention.resolved_alerts` (30 d); alert_notifications go with them by cascade. The
 *   firings of such an incident are normally gone by then (a bin is never after its incident's
 *   resolve); `resolved_alert_firings` takes them first when usage_events is the longer horizon.
 * - usage_events by `at`, `retention.usage_events` (7 d); usage_hourly by `hour`,
 *   `retention.hourly_usage` (400 d: a monthly budget and a year of history).
 * - approvals (migration 006) on the `retention.resolved_alerts` horizon, like incidents: an
 *   approval whose `expires_at` is that far past is decided or expired, and who decided what stays
 *   in the audit log for `retention.audit`. Their dependents go first: reason prompts by
 *   `created_at`, "Always allow" grants by `expires_at`; an approval still referenced by a grant
 *   (a long `always_allow_ttl`) waits for it. Batches go when no approval refers to them.
 *   (These belong in the approvals module's own `retentionTargets` once modules export them.)
 *
 * Tables other engineers are still creating are simply skipped until they exist.
 */
export function builtinRetentionTargets(
  config: Pick<Config, "retention">,
  opts: { deliveredOutboxMs?: number } = {},
): RetentionTarget[] {
  const r = config.retention;
  const resolvedAlerts = "status = 'resolved' and resolved_at < $1";
  return [
    { table: "audit_log", timeColumn: "at", olderThanMs: r.audit },
    {
      table: "outbox",
      timeColumn: "created_at",
      olderThanMs: opts.deliveredOutboxMs ?? 7 * DAY,
      where: "status <> 'pending'",
    },
    { table: "alert_firings", timeColumn: "bin", olderThanMs: r.usage_events },
    {
      table: "alert_events",
      timeColumn: "at",
      olderThanMs: r.resolved_alerts,
      where: `alert_id in (select id from alerts where ${resolvedAlerts})`,
    },
    {
      name: "resolved_alert_firings",
      table: "alert_firings",
      timeColumn: "bin",
      olderThanMs: r.resolved_alerts,
      where: `alert_id in (select id from alerts where ${resolvedAlerts})`,
    },
    {
      table: "alerts",
      timeColumn: "resolved_at",
      olderThanMs: r.resolved_alerts,
      where: "status = 'resolved'",
    },
    { table: "usage_events", timeColumn: "at", olderThanMs: r.usage_events },
    { name: "hourly_usage", table: "usage_hourly", timeColumn: "hour", olderThanMs: r.hourly_usage },
    { table: "approval_reason_prompts", timeColumn: "created_at", olderThanMs: r.resolved_alerts },
    { table: "approval_grants", timeColumn: "expires_at", olderThanMs: r.resolved_alerts },
    {
      table: "approvals",
      timeColumn: "expires_at",
      olderThanMs: r.resolved_alerts,
      where:
        "not exists (select 1 from approval_grants g where g.approval_id = approvals.id)" +
        " and not exists (select 1 from approval_reason_prompts p where p.approval_id = approvals.id)",
    },
    {
      table: "approval_batches",
      timeColumn: "created_at",
      olderThanMs: r.resolved_alerts,
      where: "not exists (select 1 from approvals a where a.batch_id = approval_batches.id)",
    },
  ];
}

/** The leader's hourly retention job. */
export function createRetentionJob(opts: RetentionOptions): Job {
  return {
    name: "retention",
    everyMs: opts.everyMs ?? HOUR,
    run: async (ctx) => {
      await runRetention(opts, ctx);
    },
  };
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$/;
const quote = (identifier: string) =>
  identifier
    .split(".")
    .map((part) => `"${part}"`)
    .join(".");

/**
 * One run: every target in turn, each in batches until a batch comes back short or the signal
 * aborts; then one audit row (actor system) with the counts. A failing target is logged and the
 * next one runs; the audit row is written even for an interrupted run.
 */
export async function runRetention(
  opts: RetentionOptions,
  ctx: Pick<JobContext, "log" | "signal">,
): Promise<RetentionReport> {
  const { db } = opts;
  const log = ctx.log;
  const batchSize = opts.batchSize ?? 5_000;
  const startedAt = (opts.now ?? (() => new Date()))().getTime();
  const targets = dedupe([...builtinRetentionTargets(opts.config, opts), ...(opts.targets ?? [])]);
  const report: RetentionReport = { deleted: {}, batches: {}, skipped: [], failed: [], interrupted: false };

  for (const target of targets) {
    const name = target.name ?? target.table;
    if (ctx.signal.aborted) {
      report.interrupted = true;
      break;
    }
    if (
      !IDENTIFIER.test(target.table) ||
      !IDENTIFIER.test(target.timeColumn) ||
      target.timeColumn.includes(".")
    ) {
      log.error({ target: name }, "retention target has an invalid table or column name; skipped");
      report.failed.push(name);
      continue;
    }
    try {
      const present = await columnExists(db, target.table, target.timeColumn);
      if (present === "no-table") {
        // A module whose migration has not run (or not been written) yet: nothing to keep short.
        log.debug({ target: name, table: target.table }, "retention: table does not exist; skipped");
        report.skipped.push(name);
        continue;
      }
      if (present === "no-column") {
        // The target and the table's migration disagree: a bug worth seeing in the log.
        log.warn(
          { target: name, table: target.table, column: target.timeColumn },
          "retention: the table has no such time column; skipped",
        );
        report.skipped.push(name);
        continue;
      }
      const cutoff = new Date(startedAt - target.olderThanMs);
      const { deleted, batches, interrupted } = await deleteInBatches(
        db,
        target,
        cutoff,
        batchSize,
        ctx.signal,
      );
      report.deleted[name] = deleted;
      report.batches[name] = batches;
      if (deleted > 0)
        log.info(
          { target: name, deleted, batches, cutoff: cutoff.toISOString() },
          "retention: deleted old rows",
        );
      if (interrupted) {
        report.interrupted = true;
        break;
      }
    } catch (err) {
      log.error({ err, target: name }, "retention: deleting old rows failed; the next run tries again");
      report.failed.push(name);
    }
  }

  await writeAudit(db, {
    actor: { type: "system", id: "retention", name: "retention job" },
    action: "retention.run",
    details: { ...report, total: Object.values(report.deleted).reduce((sum, n) => sum + n, 0) },
  });
  return report;
}

function dedupe(targets: RetentionTarget[]): RetentionTarget[] {
  const byName = new Map<string, RetentionTarget>();
  for (const target of targets) {
    const name = target.name ?? target.table;
    byName.delete(name); // a replacement runs where the replacing target was listed
    byName.set(name, target);
  }
  return [...byName.values()];
}

async function columnExists(
  db: Db,
  table: string,
  column: string,
): Promise<"yes" | "no-table" | "no-column"> {
  const { rows } = await db.query<{ table_present: boolean; column_present: boolean }>(
    `select to_regclass($1) is not null as table_present,
            exists (select 1 from pg_attribute
                     where attrelid = to_regclass($1) and attname = $2 and attnum > 0 and not attisdropped)
              as column_present`,
    [table, column],
  );
  if (!rows[0]?.table_present) return "no-table";
  return rows[0].column_present ? "yes" : "no-column";
}

/**
 * DELETE by ctid, `batchSize` rows per statement, each statement its own transaction (locks held
 * for one batch only). The conditions are repeated outside the subquery so a row changed between
 * the two (a concurrent update gives it a new version) is re-checked, not deleted blindly.
 */
async function deleteInBatches(
  db: Db,
  target: RetentionTarget,
  cutoff: Date,
  batchSize: number,
  signal: AbortSignal,
): Promise<{ deleted: number; batches: number; interrupted: boolean }> {
  const table = quote(target.table);
  const condition = `${quote(target.timeColumn)} < $1${target.where ? ` and (${target.where})` : ""}`;
  const sql = `delete from ${table}
    where ctid = any(array(select ctid from ${table} where ${condition} limit $2))
      and ${condition}`;
  let deleted = 0;
  let batches = 0;
  for (;;) {
    if (signal.aborted) return { deleted, batches, interrupted: true };
    const { rowCount } = await db.query(sql, [cutoff, batchSize]);
    batches += 1;
    deleted += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) return { deleted, batches, interrupted: false };
  }
}
