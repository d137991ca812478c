import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { builtinRetentionTargets, createRetentionJob, runRetention } from "../../src/jobs/retention.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { listAudit } from "../../src/store/audit.ts";
import type { Db } from "../../src/store/pool.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

// Integration: the retention job against real Postgres with every migration applied, on a fake
// clock (rows are inserted relative to it; the clock is moved rather than waited for).

const DAY = 24 * 60 * 60 * 1000;
const config = {
  retention: { usage_events: 7 * DAY, hourly_usage: 400 * DAY, resolved_alerts: 30 * DAY, audit: 365 * DAY },
};

let tdb: TestDatabase;
let db: Db;
const logLines: string[] = [];
const log = createLogger({
  level: "debug",
  destination: {
    write: (line: string) => {
      logLines.push(line);
    },
  },
});
const ctx = () => ({ log, signal: new AbortController().signal });

/** The fake clock: the tests' "now", close to the database's own (audit rows default to now()). */
let clock = Date.now();
const now = () => new Date(clock);
const ago = (ms: number) => new Date(clock - ms);

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  clock = Date.now();
  logLines.length = 0;
  await db.query(
    `truncate audit_log, outbox, alerts, alert_events, alert_firings, alert_groups, usage_events, usage_hourly,
              usage_spike_buckets, budget_alerts, spike_alerts, breaker_reports, mode_history, digests,
              telegram_messages, approvals, approval_batches, approval_grants, approval_reason_prompts,
              alert_notifications, silences cascade`,
  );
});

async function auditAt(at: Date, action = "test.action"): Promise<void> {
  await db.query(
    "insert into audit_log (at, actor_type, actor_id, action) values ($1, 'system', 'test', $2)",
    [at, action],
  );
}

async function outboxRow(status: "pending" | "sent" | "superseded", createdAt: Date): Promise<void> {
  await db.query(
    `insert into outbox (kind, priority, chat_id, method, payload, status, created_at)
     values ('alert', 1, '-1001', 'sendMessage', '{}'::jsonb, $1, $2)`,
    [status, createdAt],
  );
}

let alertNumber = 0;
/** An incident, resolved at `resolvedAt` (or still firing when null), with `events` events. */
async function alert(resolvedAt: Date | null, events = 0): Promise<string> {
  alertNumber += 1;
  const id = `A${String(alertNumber).padStart(15, "0")}`;
  const firstSeen = new Date((resolvedAt ?? now()).getTime() - 60 * DAY);
  await db.query(
    `insert into alerts (id, key, severity, title, status, count, first_seen, last_seen, resolved_at)
     values ($1, $2, 'warning', 'disk full', $3, 1, $4, $4, $5)`,
    [id, `key-${alertNumber}`, resolvedAt ? "resolved" : "firing", firstSeen, resolvedAt],
  );
  for (let i = 0; i < events; i++) {
    await db.query("insert into alert_events (alert_id, at, kind) values ($1, $2, 'repeated')", [
      id,
      firstSeen,
    ]);
  }
  return id;
}

/** `n` firings of incident `alertId` in the 15-minute bin of `at` (migration 010). */
async function firings(alertId: string, at: Date, n = 1): Promise<void> {
  await db.query(
    `insert into alert_firings (alert_id, bin, n)
     values ($1, date_bin('15 minutes', $2::timestamptz, timestamptz '2000-01-01 00:00:00+00'), $3)`,
    [alertId, at, n],
  );
}

async function usageEvent(at: Date): Promise<void> {
  await db.query(
    `insert into usage_events (at, provider, input_tokens, output_tokens, tokens_spent, tokens_saved, cost_usd, cost_source)
     values ($1, 'openai', 10, 20, 30, 0, 0, 'unpriced')`,
    [at],
  );
}

async function hourlyUsage(hour: Date, provider: string): Promise<void> {
  await db.query("insert into usage_hourly (hour, provider) values ($1, $2)", [hour, provider]);
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from ${sql}`, params);
  return rows[0]!.n;
}

describe("retention job", () => {
  it("deletes what is past each horizon in batches, keeps the rest, skips missing tables, audits the run", async () => {
    for (let i = 0; i < 7; i++) await auditAt(ago(366 * DAY));
    for (let i = 0; i < 2; i++) await auditAt(ago(364 * DAY));
    for (let i = 0; i < 5; i++) await outboxRow(i % 2 === 0 ? "sent" : "superseded", ago(8 * DAY));
    await outboxRow("pending", ago(30 * DAY)); // undelivered: never deleted, however old
    await outboxRow("sent", ago(1 * DAY));
    const oldAlerts = [];
    for (let i = 0; i < 4; i++) oldAlerts.push(await alert(ago(31 * DAY), 3));
    await db.query(
      `insert into alert_notifications (alert_id, channel, action, payload, next_attempt_at, created_at, status)
       values ($1, 'email', 'send', '{}'::jsonb, $2, $2, 'sent')`,
      [oldAlerts[0], ago(40 * DAY)],
    );
    const recentlyResolved = await alert(ago(29 * DAY), 2);
    const stillFiring = await alert(null, 2);
    for (let i = 0; i < 6; i++) await usageEvent(ago(8 * DAY));
    await usageEvent(ago(6 * DAY));
    await hourlyUsage(ago(401 * DAY), "openai");
    await hourlyUsage(ago(401 * DAY), "anthropic");
    await hourlyUsage(ago(399 * DAY), "openai");

    const report = await runRetention(
      {
        db,
        config,
        log,
        now,
        batchSize: 3,
        targets: [{ table: "not_created_yet", timeColumn: "at", olderThanMs: DAY }],
      },
      ctx(),
    );

    expect(report.deleted).toMatchObject({
      audit_log: 7,
      outbox: 5,
      alert_events: 12,
      alerts: 4,
      usage_events: 6,
      hourly_usage: 2,
    });
    // 3 rows per statement; a short (or empty) batch ends the table: 12 rows take 4 + 1 statements.
    expect(report.batches).toMatchObject({
      audit_log: 3,
      outbox: 2,
      alert_events: 5,
      alerts: 2,
      usage_events: 3,
    });
    expect(report.skipped).toContain("not_created_yet");
    expect(report.failed).toEqual([]);
    expect(report.interrupted).toBe(false);
    expect(
      logLines.some((l) => l.includes('"table":"not_created_yet"') && l.includes('"level":"debug"')),
    ).toBe(true);

    // What is kept.
    expect(await count("audit_log where action = 'test.action'")).toBe(2);
    expect(await count("outbox where status = 'pending'")).toBe(1);
    expect(await count("outbox")).toBe(2);
    expect(await count("alerts order by 1")).toBe(2);
    expect(await count("alerts where id = any($1)", [[recentlyResolved, stillFiring]])).toBe(2);
    expect(await count("alert_events")).toBe(4);
    expect(await count("alert_notifications")).toBe(0);
    expect(await count("usage_events")).toBe(1);
    expect(await count("usage_hourly")).toBe(1);

    // One audit row for the run, by the system, with the counts.
    const [summary, ...others] = await listAudit(db, { action: "retention.run" });
    expect(others).toEqual([]);
    expect(summary).toMatchObject({ actor_type: "system", actor_id: "retention" });
    expect(summary!.details).toMatchObject({
      deleted: { audit_log: 7, outbox: 5, alerts: 4, usage_events: 6, hourly_usage: 2 },
      total: 36,
      interrupted: false,
    });
    expect(summary!.details.skipped).toContain("not_created_yet");
  });

  it("follows the clock: a row goes once the clock passes its horizon", async () => {
    await usageEvent(ago(6 * DAY));
    await auditAt(ago(300 * DAY));
    const job = createRetentionJob({ db, config, log, now });
    expect(job).toMatchObject({ name: "retention", everyMs: 60 * 60 * 1000 });

    await job.run(ctx());
    expect(await count("usage_events")).toBe(1);
    expect(await count("audit_log where action = 'test.action'")).toBe(1);

    clock += 2 * DAY;
    await job.run(ctx());
    expect(await count("usage_events")).toBe(0);
    expect(await count("audit_log where action = 'test.action'")).toBe(1);

    clock += 70 * DAY;
    await job.run(ctx());
    expect(await count("audit_log where action = 'test.action'")).toBe(0);
    // Every run left its summary; none of them is old enough to go.
    expect(await listAudit(db, { action: "retention.run" })).toHaveLength(3);
  });

  it("stops between batches when its signal aborts (leadership lost) and still records what it did", async () => {
    for (let i = 0; i < 5; i++) await auditAt(ago(400 * DAY));
    await usageEvent(ago(30 * DAY));
    const abort = new AbortController();
    let deletes = 0;
    // The pool, with the signal aborted right after the first DELETE statement.
    const watched = {
      query: async (...args: Parameters<Db["query"]>) => {
        const result = await (db.query as (...a: unknown[]) => Promise<unknown>)(...args);
        if (typeof args[0] === "string" && args[0].trimStart().startsWith("delete")) {
          deletes += 1;
          abort.abort();
        }
        return result;
      },
    } as unknown as Db;

    const report = await runRetention(
      { db: watched, config, log, now, batchSize: 2 },
      { log, signal: abort.signal },
    );
    expect(deletes).toBe(1);
    expect(report).toMatchObject({ deleted: { audit_log: 2 }, interrupted: true });
    expect(await count("audit_log where action = 'test.action'")).toBe(3);
    expect(await count("usage_events")).toBe(1);
    const [summary] = await listAudit(db, { action: "retention.run" });
    expect(summary!.details).toMatchObject({ deleted: { audit_log: 2 }, interrupted: true });
  });

  it("skips a target whose column is missing, and a failing target does not stop the others", async () => {
    await usageEvent(ago(8 * DAY));
    const report = await runRetention(
      {
        db,
        config,
        log,
        now,
        targets: [
          { name: "wrong_column", table: "alerts", timeColumn: "closed_at", olderThanMs: DAY },
          {
            name: "broken",
            table: "alerts",
            timeColumn: "last_seen",
            olderThanMs: DAY,
            where: "no such thing",
          },
          { name: "injected", table: "alerts; drop table alerts", timeColumn: "last_seen", olderThanMs: DAY },
          // A module's own target replaces the built-in one of the same name.
          { table: "usage_events", timeColumn: "at", olderThanMs: 10 * DAY },
        ],
      },
      ctx(),
    );
    expect(report.skipped).toContain("wrong_column");
    expect(report.failed).toEqual(["broken", "injected"]);
    expect(report.deleted.usage_events).toBe(0);
    expect(await count("usage_events")).toBe(1);
    expect(await count("alerts")).toBe(0); // the table is still there
    expect(logLines.some((l) => l.includes('"level":"warn"') && l.includes("closed_at"))).toBe(true);
  });

  it("deletes alert firings past the usage_events horizon, of open incidents too", async () => {
    const stillFiring = await alert(null);
    await firings(stillFiring, ago(8 * DAY), 5);
    await firings(stillFiring, ago(7 * DAY + 60 * 60 * 1000), 2);
    await firings(stillFiring, ago(6 * DAY), 3);
    const oldResolved = await alert(ago(31 * DAY));
    await firings(oldResolved, ago(35 * DAY));

    const report = await runRetention({ db, config, log, now }, ctx());
    expect(report.failed).toEqual([]);
    // Rows, not firings; the resolved incident's rows were already gone when its own target ran.
    expect(report.deleted).toMatchObject({ alert_firings: 3, resolved_alert_firings: 0, alerts: 1 });
    const { rows } = await db.query<{ alert_id: string; n: number }>("select alert_id, n from alert_firings");
    expect(rows).toEqual([{ alert_id: stillFiring, n: 3 }]);
  });

  it("deletes escalation notifications done with and ended silences after resolved_alerts; pending ones stay", async () => {
    const firing = await alert(null);
    const notification = (status: string, createdAt: Date) =>
      db.query(
        `insert into alert_notifications (alert_id, channel, action, payload, status, next_attempt_at, created_at)
         values ($1, 'email', 'send', '{}', $2, $3, $3)`,
        [firing, status, createdAt],
      );
    await notification("sent", ago(31 * DAY));
    await notification("failed", ago(40 * DAY));
    await notification("pending", ago(40 * DAY)); // still being retried: never dropped
    await notification("sent", ago(29 * DAY));
    const silence = (id: string, endsAt: Date) =>
      db.query(
        `insert into silences (id, key, ends_at, created_at, created_by)
         values ($1, 'key-1', $2, $2, '{"type":"operator","id":"tg:1","name":"Ann"}')`,
        [id, endsAt],
      );
    await silence("ended-long-ago", ago(31 * DAY));
    await silence("ended-recently", ago(2 * DAY));
    await silence("still-active", new Date(clock + DAY));

    const report = await runRetention({ db, config, log, now }, ctx());
    expect(report.failed).toEqual([]);
    expect(report.deleted).toMatchObject({ alert_notifications: 2, silences: 1 });
    const left = await db.query<{ status: string }>("select status from alert_notifications order by id");
    expect(left.rows.map((r) => r.status)).toEqual(["pending", "sent"]);
    const silences = await db.query<{ id: string }>("select id from silences order by id");
    expect(silences.rows.map((r) => r.id)).toEqual(["ended-recently", "still-active"]);
  });

  it("deletes the firings of old resolved incidents before the incidents when usage_events is the longer horizon", async () => {
    const longUsage = { retention: { ...config.retention, usage_events: 90 * DAY } };
    const oldResolved = await alert(ago(31 * DAY));
    await firings(oldResolved, ago(32 * DAY), 4);
    await firings(oldResolved, ago(40 * DAY));
    const recentlyResolved = await alert(ago(29 * DAY));
    await firings(recentlyResolved, ago(30 * DAY));
    const stillFiring = await alert(null);
    await firings(stillFiring, ago(40 * DAY));

    const report = await runRetention({ db, config: longUsage, log, now }, ctx());
    expect(report.failed).toEqual([]);
    expect(report.deleted).toMatchObject({ alert_firings: 0, resolved_alert_firings: 2, alerts: 1 });
    const { rows } = await db.query<{ alert_id: string }>("select alert_id from alert_firings order by 1");
    expect(rows.map((r) => r.alert_id)).toEqual([recentlyResolved, stillFiring].sort());
  });

  it("removes old approvals after their grants and prompts; one still referenced by a live grant waits", async () => {
    await db.query("truncate approvals, approval_batches, approval_grants, approval_reason_prompts cascade");
    const approval = async (id: string, expiresAt: Date, batchId: string | null = null) => {
      await db.query(
        `insert into approvals (id, agent, tool, original_tool, args, level, level_source, rule, policy_reason,
                                status, decided_by_kind, api_key, created_at, expires_at, decided_at, batch_id)
         values ($1, 'coder', 'exec_command', 'Bash', '{}'::jsonb, 'limited', 'default', 'require_approval', 'asked',
                 'approved', 'human', 'coder-bot', $2, $3, $2, $4)`,
        [id, new Date(expiresAt.getTime() - 5 * 60_000), expiresAt, batchId],
      );
    };
    const grant = async (id: string, approvalId: string, expiresAt: Date) => {
      await db.query(
        `insert into approval_grants (id, agent, tool, args_hash, args, approval_id, created_by_id, created_by_name,
                                      created_at, expires_at)
         values ($1, 'coder', 'exec_command', 'hash', '{}'::jsonb, $2, '7001', 'Ada', $3, $3)`,
        [id, approvalId, expiresAt],
      );
    };
    await db.query(
      `insert into approval_batches (id, agent, run_id, status, created_at, card_ref)
       values ('B000000000000001', 'coder', 'run-1', 'open', $1, 'approval-batch:B000000000000001')`,
      [ago(40 * DAY)],
    );
    await approval("P000000000000001", ago(40 * DAY), "B000000000000001");
    await grant("G000000000000001", "P000000000000001", ago(39 * DAY));
    await db.query(
      `insert into approval_reason_prompts (approval_id, user_id, chat_id, created_at)
       values ('P000000000000001', 7001, '7001', $1)`,
      [ago(40 * DAY)],
    );
    await approval("P000000000000002", ago(40 * DAY));
    await grant("G000000000000002", "P000000000000002", ago(-50 * DAY)); // "always allow" for 90 days
    await approval("P000000000000003", ago(29 * DAY));

    const report = await runRetention({ db, config, log, now }, ctx());
    expect(report.failed).toEqual([]);
    expect(report.deleted).toMatchObject({
      approval_reason_prompts: 1,
      approval_grants: 1,
      approvals: 1,
      approval_batches: 1,
    });
    const { rows } = await db.query<{ id: string }>("select id from approvals order by id");
    expect(rows.map((r) => r.id)).toEqual(["P000000000000002", "P000000000000003"]);
    expect(await count("approval_grants")).toBe(1);
  });

  it("removes closed alert groups once none of their incidents is left; groups with incidents stay", async () => {
    const group = async (id: string, closed: boolean, firstAlertAt: Date) => {
      await db.query(
        `insert into alert_groups (id, group_key, labels, closed, first_alert_at, message_ref)
         values ($1, $1, '{}'::jsonb, $2, $3, $4)`,
        [id, closed, firstAlertAt, `group:${id}:1`],
      );
    };
    const inGroup = async (alertId: string, groupId: string) => {
      await db.query("update alerts set group_id = $2, group_epoch = 1 where id = $1", [alertId, groupId]);
    };
    await group("g-empty", true, ago(60 * DAY));
    // Its only incident goes in this run (resolved 31 days ago): the group goes with it.
    await group("g-freed", true, ago(60 * DAY));
    await inGroup(await alert(ago(31 * DAY)), "g-freed");
    await group("g-recently-resolved", true, ago(60 * DAY));
    await inGroup(await alert(ago(29 * DAY)), "g-recently-resolved");
    await group("g-firing", false, ago(60 * DAY));
    await inGroup(await alert(null), "g-firing");
    // Not closed: its epoch is still being shown, whatever its incidents.
    await group("g-open-empty", false, ago(60 * DAY));
    await group("g-recent", true, ago(1 * DAY));

    const report = await runRetention({ db, config, log, now }, ctx());
    expect(report.failed).toEqual([]);
    expect(report.deleted).toMatchObject({ alerts: 1, alert_groups: 2 });
    const { rows } = await db.query<{ id: string }>("select id from alert_groups order by id");
    expect(rows.map((r) => r.id)).toEqual(["g-firing", "g-open-empty", "g-recent", "g-recently-resolved"]);
  });

  it("prunes the ops tables: spike buckets, resolved budget and spike markers, breaker reports", async () => {
    const bucket = (at: Date) =>
      db.query("insert into usage_spike_buckets (bucket_start, tokens) values ($1, 100)", [at]);
    await bucket(ago(8 * DAY));
    await bucket(ago(6 * DAY));
    const budgetMarker = (windowKey: string, alertedAt: Date, resolvedAt: Date | null) =>
      db.query(
        `insert into budget_alerts (budget, key, window_key, threshold_bp, alerted_at, resolved_at)
         values ('monthly', '*', $1, 8000, $2, $3)`,
        [windowKey, alertedAt, resolvedAt],
      );
    await budgetMarker("old", ago(430 * DAY), ago(401 * DAY));
    await budgetMarker("kept", ago(420 * DAY), ago(399 * DAY));
    // Open: the window may still be current (or the job has not resolved it yet); never deleted.
    await budgetMarker("open", ago(500 * DAY), null);
    const spikeAlert = (windowStart: Date, resolvedAt: Date | null) =>
      db.query(
        "insert into spike_alerts (window_start, alerted_at, detail, resolved_at) values ($1, $1, 'spike', $2)",
        [windowStart, resolvedAt],
      );
    await spikeAlert(ago(40 * DAY), ago(31 * DAY));
    await spikeAlert(ago(35 * DAY), ago(29 * DAY));
    await spikeAlert(ago(90 * DAY), null);
    const breakerReport = (at: Date) =>
      db.query("insert into breaker_reports (name, at, outcome) values ('openai', $1, 'success')", [at]);
    await breakerReport(ago(25 * 60 * 60 * 1000));
    await breakerReport(ago(23 * 60 * 60 * 1000));

    const report = await runRetention({ db, config, log, now }, ctx());
    expect(report.failed).toEqual([]);
    expect(report.deleted).toMatchObject({
      usage_spike_buckets: 1,
      budget_alerts: 1,
      spike_alerts: 1,
      breaker_reports: 1,
    });
    expect(await count("usage_spike_buckets")).toBe(1);
    const markers = await db.query<{ window_key: string }>("select window_key from budget_alerts order by 1");
    expect(markers.rows.map((r) => r.window_key)).toEqual(["kept", "open"]);
    expect(await count("spike_alerts where resolved_at is null")).toBe(1);
    expect(await count("spike_alerts")).toBe(2);
    expect(await count("breaker_reports")).toBe(1);
  });

  it("keeps the spike buckets the spike check reads even when usage events are kept shorter", async () => {
    const short = {
      retention: { ...config.retention, usage_events: 30 * 60 * 1000 },
      cost_management: { spike: { window: 15 * 60 * 1000 } },
    };
    // The check reads the trailing hour and two windows back: 90 minutes here.
    for (const minutes of [100, 80, 40]) {
      await db.query("insert into usage_spike_buckets (bucket_start, tokens) values ($1, 100)", [
        ago(minutes * 60 * 1000),
      ]);
    }
    const report = await runRetention({ db, config: short, log, now }, ctx());
    expect(report.deleted.usage_spike_buckets).toBe(1);
    expect(await count("usage_spike_buckets")).toBe(2);
  });

  it("prunes mode history past the audit horizon but keeps the newest change", async () => {
    const change = (at: Date, mode: string) =>
      db.query(
        `insert into mode_history (at, mode, previous, reasons, changed_by)
         values ($1, $2, 'FULL', '[]'::jsonb, 'auto')`,
        [at, mode],
      );
    await change(ago(500 * DAY), "DEGRADED");
    await change(ago(400 * DAY), "FULL");
    // The newest change, a year and more ago: the digest still reads the mode in effect from it.
    await change(ago(380 * DAY), "ESSENTIAL");

    let report = await runRetention({ db, config, log, now }, ctx());
    expect(report.deleted.mode_history).toBe(2);
    let { rows } = await db.query<{ mode: string }>("select mode from mode_history");
    expect(rows).toEqual([{ mode: "ESSENTIAL" }]);

    await change(ago(1 * DAY), "FULL");
    report = await runRetention({ db, config, log, now }, ctx());
    expect(report.deleted.mode_history).toBe(1);
    ({ rows } = await db.query<{ mode: string }>("select mode from mode_history"));
    expect(rows).toEqual([{ mode: "FULL" }]);
  });

  it("prunes old digests but keeps the newest date and any whose email is still pending", async () => {
    const digest = async (date: string, createdAt: Date, emailStatus = "sent") => {
      await db.query(
        `insert into digests (digest_date, scheduled_at, window_start, window_end, created_at, email_status)
         values ($1::date, $2, $2, $2, $2, $3)`,
        [date, createdAt, emailStatus],
      );
    };
    await digest("2020-01-01", ago(370 * DAY));
    await digest("2020-01-02", ago(369 * DAY), "pending");
    await digest("2020-01-03", ago(368 * DAY), "failed");
    await digest("2020-01-04", ago(367 * DAY), "none");
    // The newest date sent: the marker that stops an older digest from going out after it.
    await digest("2020-01-05", ago(366 * DAY));

    const report = await runRetention({ db, config, log, now }, ctx());
    expect(report.failed).toEqual([]);
    expect(report.deleted.digests).toBe(3);
    const { rows } = await db.query<{ date: string }>(
      "select to_char(digest_date, 'YYYY-MM-DD') as date from digests order by 1",
    );
    expect(rows.map((r) => r.date)).toEqual(["2020-01-02", "2020-01-05"]);

    // Once a newer digest went out, the old marker may go too; a recent digest stays.
    await digest("2020-01-06", ago(1 * DAY));
    await db.query("update digests set email_status = 'sent' where digest_date = '2020-01-02'");
    await runRetention({ db, config, log, now }, ctx());
    expect(await count("digests")).toBe(1);
    expect(await count("digests where digest_date = '2020-01-06'")).toBe(1);
  });

  it("forgets old message names unless something still edits that message", async () => {
    const named = (ref: string, updatedAt: Date) =>
      db.query(
        "insert into telegram_messages (ref, chat_id, message_id, updated_at) values ($1, '-1001', 1, $2)",
        [ref, updatedAt],
      );
    const old = ago(31 * DAY);
    await named("alert:gone", old);
    await named("digest:recent", ago(29 * DAY));
    // An edit still waits to be delivered to it.
    await named("alert:pending-edit", old);
    await db.query(
      `insert into outbox (kind, priority, chat_id, method, payload, target_ref, created_at)
       values ('alert_edit', 2, '-1001', 'editMessageText', '{}'::jsonb, 'alert:pending-edit', $1)`,
      [ago(40 * DAY)],
    );
    // The current message of an incident that is still kept (firing for a month, or resolved recently).
    const firing = await alert(null);
    await named(`alert:${firing}:2`, old);
    await db.query("update alerts set message_ref = $2 where id = $1", [firing, `alert:${firing}:2`]);
    // ... but not the message of an incident that goes in this very run.
    const resolved = await alert(ago(31 * DAY));
    await named(`alert:${resolved}`, old);
    await db.query("update alerts set message_ref = $2 where id = $1", [resolved, `alert:${resolved}`]);
    await named("group:g1:3", old);
    await db.query(
      `insert into alert_groups (id, group_key, labels, closed, first_alert_at, message_ref)
       values ('g1', 'g1', '{}'::jsonb, false, $1, 'group:g1:3')`,
      [ago(60 * DAY)],
    );
    await db.query(
      `insert into approval_batches (id, agent, run_id, status, created_at, card_ref)
       values ('B000000000000001', 'coder', 'run-1', 'open', $1, 'approval-batch:B000000000000001')`,
      [ago(1 * DAY)],
    );
    await named("approval-batch:B000000000000001", old);
    await db.query(
      `insert into approvals (id, agent, tool, original_tool, args, level, level_source, rule, policy_reason,
                              status, api_key, created_at, expires_at, card_ref)
       values ('P000000000000001', 'coder', 'exec_command', 'Bash', '{}'::jsonb, 'limited', 'default',
               'require_approval', 'asked', 'pending', 'coder-bot', $1, $2, 'approval:P000000000000001')`,
      [ago(1 * DAY), ago(-1 * DAY)],
    );
    await named("approval:P000000000000001", old);
    await db.query(
      `insert into approval_reason_prompts (approval_id, user_id, chat_id, prompt_ref, picker_ref, created_at)
       values ('P000000000000001', 7001, '7001', 'approval-reason:P000000000000001:7001:prompt',
               'approval-reason:P000000000000001:7001:picker', $1)`,
      [ago(1 * DAY)],
    );
    await named("approval-reason:P000000000000001:7001:prompt", old);
    await named("approval-reason:P000000000000001:7001:picker", old);

    const report = await runRetention({ db, config, log, now }, ctx());
    expect(report.failed).toEqual([]);
    expect(report.deleted.telegram_messages).toBe(2);
    const { rows } = await db.query<{ ref: string }>("select ref from telegram_messages order by ref");
    expect(rows.map((r) => r.ref)).toEqual(
      [
        "alert:pending-edit",
        `alert:${firing}:2`,
        "approval-batch:B000000000000001",
        "approval-reason:P000000000000001:7001:picker",
        "approval-reason:P000000000000001:7001:prompt",
        "approval:P000000000000001",
        "digest:recent",
        "group:g1:3",
      ].sort(),
    );
  });

  it("lists the built-in targets in dependency order", () => {
    const names = builtinRetentionTargets(config).map((t) => t.name ?? t.table);
    expect(names).toEqual([
      "audit_log",
      "outbox",
      "alert_firings",
      "alert_events",
      "resolved_alert_firings",
      "alerts",
      "alert_groups",
      "alert_notifications",
      "silences",
      "usage_events",
      "hourly_usage",
      "usage_spike_buckets",
      "budget_alerts",
      "spike_alerts",
      "breaker_reports",
      "mode_history",
      "digests",
      "approval_reason_prompts",
      "approval_grants",
      "approvals",
      "approval_batches",
      "telegram_messages",
    ]);
    expect(names.indexOf("alert_events")).toBeLessThan(names.indexOf("alerts"));
    expect(names.indexOf("alert_firings")).toBeLessThan(names.indexOf("alerts"));
    expect(names.indexOf("resolved_alert_firings")).toBeLessThan(names.indexOf("alerts"));
    expect(names.indexOf("approval_grants")).toBeLessThan(names.indexOf("approvals"));
    expect(names.indexOf("approvals")).toBeLessThan(names.indexOf("approval_batches"));
    // Those that only name rows of others go after them, so what one run frees goes in that run.
    expect(names.indexOf("alerts")).toBeLessThan(names.indexOf("alert_groups"));
    expect(names.at(-1)).toBe("telegram_messages");
  });
});
