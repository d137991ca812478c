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
    "truncate audit_log, outbox, alerts, alert_events, alert_firings, usage_events, usage_hourly cascade",
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

  it("lists the built-in targets in dependency order", () => {
    const names = builtinRetentionTargets(config).map((t) => t.name ?? t.table);
    expect(names).toEqual([
      "audit_log",
      "outbox",
      "alert_firings",
      "alert_events",
      "resolved_alert_firings",
      "alerts",
      "usage_events",
      "hourly_usage",
      "approval_reason_prompts",
      "approval_grants",
      "approvals",
      "approval_batches",
    ]);
    expect(names.indexOf("alert_events")).toBeLessThan(names.indexOf("alerts"));
    expect(names.indexOf("alert_firings")).toBeLessThan(names.indexOf("alerts"));
    expect(names.indexOf("resolved_alert_firings")).toBeLessThan(names.indexOf("alerts"));
    expect(names.indexOf("approval_grants")).toBeLessThan(names.indexOf("approvals"));
    expect(names.indexOf("approvals")).toBeLessThan(names.indexOf("approval_batches"));
  });
});
