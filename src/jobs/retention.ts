import type { Config } from "../config/index.ts";
import { DEFAULT_SPIKE_OPTIONS } from "../guards/spike.ts";
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

/**
 * What the built-in targets read from the config: the `retention` horizons, and the spike window
 * (optional, so callers that only care about retention can pass just that section).
 */
export type RetentionConfig = Pick<Config, "retention"> & {
  cost_management?: { spike: Pick<Config["cost_management"]["spike"], "window"> };
};

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
  config: RetentionConfig;
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
 * big statement; tables that only name rows of others (alert_groups, telegram_messages) go after
 * those, so what this run frees goes in this run.
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
 * - alert_notifications (escalation emails and PagerDuty events) no longer pending, by
 *   `created_at`, and silences by `ends_at`: `retention.resolved_alerts`. (The alerts module
 *   pruned these itself before; one job prunes every table now.)
 * - alert_groups: closed groups with no incident left (of any epoch), by `first_alert_at` (the
 *   start of the last epoch), `retention.resolved_alerts`. One row per group key, so label values
 *   that come and go (hosts, pods) would otherwise pile up. A group that fires again gets a new
 *   row (epoch 1), as a group whose row is missing already does (alerts' ensureGroup), and a
 *   button pressed for a missing group answers "stale". A group with any incident left stays.
 * - usage_events by `at`, `retention.usage_events` (7 d); usage_hourly by `hour`,
 *   `retention.hourly_usage` (400 d: a monthly budget and a year of history).
 * - usage_spike_buckets by `bucket_start`, on the usage_events horizon (they sum those events),
 *   but never shorter than what the spike check reads: the trailing hour and two spike windows.
 * - budget_alerts: resolved threshold markers by `resolved_at`, `retention.hourly_usage`. A marker
 *   is resolved once its window has ended (or its budget left the config), and it was raised
 *   inside that window, before `resolved_at`; hourly_usage must cover a whole budget window anyway
 *   (budgets sum usage_hourly), so a deleted marker's window is over and a threshold never alerts
 *   twice in one window. Open markers stay.
 * - spike_alerts: resolved ones by `resolved_at`, `retention.resolved_alerts`, like incidents.
 * - breaker_reports by `at`, one day (not in the config): the degradation mode, the host
 *   thresholds and latency-aware routing read the last minutes only (migration 007).
 * - mode_history by `at`, `retention.audit` (the mode changes are part of what pitwall did), but
 *   never the newest row: the digest reads the mode in effect at its window's end from it.
 * - digests by `created_at`, `retention.audit`, but never the newest date (it is what stops an
 *   older digest from going out after a newer one) nor a row whose email is still pending.
 * - approvals (migration 006) on the `retention.resolved_alerts` horizon, like incidents: an
 *   approval whose `expires_at` is that far past is decided or expired, and who decided what stays
 *   in the audit log for `retention.audit`. Their dependents go first: reason prompts by
 *   `created_at`, "Always allow" grants by `expires_at`; an approval still referenced by a grant
 *   (a long `always_allow_ttl`) waits for it. Batches go when no approval refers to them.
 *   (These belong in the approvals module's own `retentionTargets` once modules export them.)
 * - telegram_messages (message names for later edits) by `updated_at`, `retention.resolved_alerts`,
 *   unless a pending outbox row acts on the message or a row still present names it as its
 *   current message (incident, group, approval card, batch card, reason prompt): those may still
 *   be edited. Last, so the names of what went above go in the same run.
 *
 * Pruned elsewhere, not here: silences (ended ones, by the alerts module's `alert-retention`
 * job) and approval_conversations (by the approvals module's `approvals-conversations-prune`).
 * Tables other engineers are still creating are simply skipped until they exist.
 */
export function builtinRetentionTargets(
  config: RetentionConfig,
  opts: { deliveredOutboxMs?: number } = {},
): RetentionTarget[] {
  const r = config.retention;
  const resolvedAlerts = "status = 'resolved' and resolved_at < $1";
  // The spike check reads buckets from the trailing hour and two windows back (ops/spike-alerts).
  const spikeWindow = config.cost_management?.spike.window ?? DEFAULT_SPIKE_OPTIONS.window;
  const spikeReads = DEFAULT_SPIKE_OPTIONS.lookback_ms + 2 * spikeWindow;
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
    {
      table: "alert_groups",
      timeColumn: "first_alert_at",
      olderThanMs: r.resolved_alerts,
      where: "closed and not exists (select 1 from alerts a where a.group_id = alert_groups.id)",
    },
    // Escalation emails/PagerDuty events sent or given up; pending ones are still being tried.
    {
      table: "alert_notifications",
      timeColumn: "created_at",
      olderThanMs: r.resolved_alerts,
      where: "status <> 'pending'",
    },
    // Ended silences (an incident's silence_id is history, not a reference: no FK).
    { table: "silences", timeColumn: "ends_at", olderThanMs: r.resolved_alerts },
    { table: "usage_events", timeColumn: "at", olderThanMs: r.usage_events },
    { name: "hourly_usage", table: "usage_hourly", timeColumn: "hour", olderThanMs: r.hourly_usage },
    {
      table: "usage_spike_buckets",
      timeColumn: "bucket_start",
      olderThanMs: Math.max(r.usage_events, spikeReads),
    },
    // resolved_at is null for an open marker, and null < $1 is never true: open markers stay.
    { table: "budget_alerts", timeColumn: "resolved_at", olderThanMs: r.hourly_usage },
    { table: "spike_alerts", timeColumn: "resolved_at", olderThanMs: r.resolved_alerts },
    { table: "breaker_reports", timeColumn: "at", olderThanMs: DAY },
    {
      table: "mode_history",
      timeColumn: "at",
      olderThanMs: r.audit,
      where: "id <> (select n.id from mode_history n order by n.at desc, n.id desc limit 1)",
    },
    {
      table: "digests",
      timeColumn: "created_at",
      olderThanMs: r.audit,
      where: "email_status <> 'pending' and digest_date < (select max(d.digest_date) from digests d)",
    },
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
    {
      table: "telegram_messages",
      timeColumn: "updated_at",
      olderThanMs: r.resolved_alerts,
      where: [
        "not exists (select 1 from outbox o where o.status = 'pending' and o.target_ref = telegram_messages.ref)",
        "not exists (select 1 from alerts a where a.message_ref = telegram_messages.ref)",
        "not exists (select 1 from alert_groups g where g.message_ref = telegram_messages.ref)",
        "not exists (select 1 from approvals p where p.card_ref = telegram_messages.ref)",
        "not exists (select 1 from approval_batches b where b.card_ref = telegram_messages.ref)",
        "not exists (select 1 from approval_reason_prompts q where q.prompt_ref = telegram_messages.ref)",
        "not exists (select 1 from approval_reason_prompts q where q.picker_ref = telegram_messages.ref)",
      ].join(" and "),
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
