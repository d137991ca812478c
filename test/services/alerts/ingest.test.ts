import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AlertsBed, CODER_KEY, createAlertsBed, READER_KEY, textOf } from "./support.ts";

// Ingest through the HTTP API with real Postgres and a hand-moved clock. Alerts here carry no
// `alertname`, so they are not grouped: each incident has its own message, queued at ingest.

const HOUR = 3_600_000;
let bed: AlertsBed;

beforeAll(async () => {
  bed = await createAlertsBed();
});
afterAll(async () => bed?.close());
beforeEach(async () => {
  await bed.db.query(
    "truncate alerts, alert_events, alert_groups, silences, alert_notifications, outbox cascade",
  );
});

const disk = (extra: Record<string, unknown> = {}) => ({
  key: "disk:db1",
  severity: "critical",
  title: "Disk full on db1",
  source: "node-exporter",
  labels: { host: "db1" },
  ...extra,
});

async function sends(ref?: string) {
  return bed.outbox(`method = 'sendMessage'${ref ? ` and message_ref like '${ref}%'` : ""}`);
}

describe("POST /v1/alerts", () => {
  it("stores quotes, backslashes and SQL-looking text exactly as sent", async () => {
    // The batch writes values as escaped literals (one round trip per batch): prove the escaping.
    const nasty = `it's \\ E'\\x27' '); drop table alerts; -- \\' ðŸ”¥`;
    const res = await bed.post(
      disk({
        key: `k'\\${nasty}`,
        title: nasty,
        text: `${nasty}\n2nd line`,
        labels: { host: nasty, a_b: "\\" },
      }),
    );
    expect(res.status).toBe(202);
    const again = await bed.post(
      disk({
        key: `k'\\${nasty}`,
        title: nasty,
        text: `${nasty}\n2nd line`,
        labels: { host: nasty, a_b: "\\" },
      }),
    );
    expect(again.body).toMatchObject({ status: "deduplicated", count: 2 });
    const { rows } = await bed.db.query("select key, title, text, labels from alerts");
    expect(rows).toEqual([
      { key: `k'\\${nasty}`, title: nasty, text: `${nasty}\n2nd line`, labels: { host: nasty, a_b: "\\" } },
    ]);
  });

  it("refuses a NUL character with 400 instead of failing the batch", async () => {
    const res = await bed.post(disk({ title: "nul \u0000 inside" }));
    expect(res.status).toBe(400);
    const ok = await bed.post(disk());
    expect(ok.status).toBe(202);
  });

  it("answers 202 new, then deduplicated with the count, then resolved; one message edited in place", async () => {
    const first = await bed.post(disk());
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({ key: "disk:db1", status: "new", count: 1 });
    expect(first.body.id).toMatch(/^[0-9A-Za-z]{16}$/);

    bed.clock.advance(60_000);
    const second = await bed.post(disk());
    expect(second.body).toEqual({ id: first.body.id, key: "disk:db1", status: "deduplicated", count: 2 });

    const resolved = await bed.post(disk({ status: "resolved" }));
    expect(resolved.body).toEqual({ id: first.body.id, key: "disk:db1", status: "resolved", count: 2 });

    const messages = await sends();
    expect(messages).toHaveLength(1);
    expect(messages[0]!.message_ref).toBe(`alert:${first.body.id}`);
    expect(messages[0]!.payload.silent).toBe(false); // critical rings
    expect(messages[0]!.thread_id).toBeNull();
    const edits = await bed.outbox("method = 'editMessageText'");
    // The repeat's edit and the resolve's edit coalesce into the pending send (not yet delivered).
    const [send] = await bed.outbox("method = 'sendMessage' and status = 'pending'");
    expect(textOf(send!)).toContain("×2 since 12:00");
    expect(textOf(send!)).toContain("Resolved at 12:01");
    expect(send!.payload.reply_markup ?? null).toBeNull(); // resolve removes the buttons
    expect(edits.every((e) => e.status === "superseded")).toBe(true);
  });

  it("answers an array in order with {results}, deduplicating within the batch", async () => {
    const res = await bed.post([
      disk(),
      { severity: "warning", title: "Slow queries", source: "pg" },
      disk(),
      disk({ status: "resolved" }),
      disk(),
    ]);
    expect(res.status).toBe(202);
    const results = res.body.results as Array<{ id: string; status: string; count: number; key: string }>;
    expect(results.map((r) => [r.status, r.count])).toEqual([
      ["new", 1],
      ["new", 1],
      ["deduplicated", 2],
      ["resolved", 2],
      ["new", 1],
    ]);
    expect(results[0]!.id).toBe(results[2]!.id);
    expect(results[4]!.id).not.toBe(results[0]!.id); // a firing after resolve is a new incident
    expect(results[1]!.key).toMatch(/^[0-9a-f]{16}$/); // derived from source, title and labels
    const { rows } = await bed.db.query("select key, status, count from alerts order by seq");
    expect(rows).toEqual([
      { key: "disk:db1", status: "resolved", count: 2 },
      { key: results[1]!.key, status: "firing", count: 1 },
      { key: "disk:db1", status: "firing", count: 1 },
    ]);
  });

  it("resolves an open incident and opens its successor within one batch", async () => {
    const first = await bed.post(disk());
    const res = await bed.post([disk({ status: "resolved" }), disk(), disk()]);
    expect(res.body.results.map((r: { status: string; count: number }) => [r.status, r.count])).toEqual([
      ["resolved", 1],
      ["new", 1],
      ["deduplicated", 2],
    ]);
    expect(res.body.results[0].id).toBe(first.body.id);
    const { rows } = await bed.db.query("select id, status, count from alerts order by seq");
    expect(rows).toEqual([
      { id: first.body.id, status: "resolved", count: 1 },
      { id: res.body.results[1].id, status: "firing", count: 2 },
    ]);
    const events = await bed.db.query("select count(*)::int as n from alert_events");
    expect(events.rows[0].n).toBe(4);
  });

  it("opens one incident and one message for 50 concurrent posts of one key", async () => {
    const answers = await Promise.all(Array.from({ length: 50 }, () => bed.post(disk(), { key: CODER_KEY })));
    expect(answers.every((a) => a.status === 202)).toBe(true);
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.body.status === "new")).toHaveLength(1);
    expect(answers.map((a) => a.body.count).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, n) => n + 1),
    );
    const { rows } = await bed.db.query("select count from alerts");
    expect(rows).toEqual([{ count: 50 }]);
    expect(await sends()).toHaveLength(1);
  });

  it("opens one incident and one message when two pitwall instances take the same key at once", async () => {
    const second = await createAlertsBed({ database: bed.t, clock: bed.clock });
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, n) => (n % 2 === 0 ? bed : second).post(disk())),
      );
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      expect(answers.filter((a) => a.body.status === "new")).toHaveLength(1);
      const { rows } = await bed.db.query("select count from alerts");
      expect(rows).toEqual([{ count: 40 }]);
      expect(await sends()).toHaveLength(1);
    } finally {
      await second.close({ keepDatabase: true });
    }
  });

  it("counts the dedup window from the last notification sent: edits inside, a new loud message after", async () => {
    const first = await bed.post(disk({ severity: "warning" }));
    bed.clock.advance(HOUR - 1);
    await bed.post(disk({ severity: "warning" }));
    expect(await sends()).toHaveLength(1); // 1 ms before the window ends: edited

    bed.clock.advance(1);
    const third = await bed.post(disk({ severity: "warning" }));
    expect(third.body).toMatchObject({ id: first.body.id, status: "deduplicated", count: 3 });
    const messages = await sends();
    expect(messages.map((m) => m.message_ref)).toEqual([
      `alert:${first.body.id}`,
      `alert:${first.body.id}:1`,
    ]);
    // The old message loses its buttons; only the new one is acted on.
    const strip = await bed.outbox(
      `method = 'editMessageReplyMarkup' and target_ref = 'alert:${first.body.id}'`,
    );
    expect(strip).toHaveLength(1);

    // The window restarted at the re-notification.
    bed.clock.advance(HOUR - 1);
    await bed.post(disk({ severity: "warning" }));
    expect(await sends()).toHaveLength(2);
  });

  it("re-notifies at once when a repeat raises the severity", async () => {
    await bed.post(disk({ severity: "warning" }));
    bed.clock.advance(1_000);
    const raised = await bed.post(disk({ severity: "critical" }));
    expect(raised.body.status).toBe("deduplicated");
    expect(await sends()).toHaveLength(2);
  });

  it("records every ingest as an alert event with the request's trace id, not in the audit log", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const res = await bed.post(disk(), { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    await bed.post(disk());
    const { rows } = await bed.db.query(
      "select kind, trace_id, actor->>'name' as by from alert_events where alert_id = $1 order by id",
      [res.body.id],
    );
    expect(rows[0]).toEqual({ kind: "opened", trace_id: traceId, by: "admin" });
    expect(rows[1]).toMatchObject({ kind: "repeated", by: "admin" });
    const audit = await bed.db.query("select count(*)::int as n from audit_log where action like 'alert%'");
    expect(audit.rows[0].n).toBe(0);
    const metrics = await bed.app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toMatch(/pitwall_alerts_received_total\{status="new"\} \d+/);
    expect(metrics.body).toContain('pitwall_alerts_open{status="firing"} 1');
  });

  it("resolves an unknown key idempotently", async () => {
    const res = await bed.post(disk({ key: "never-seen", status: "resolved" }));
    expect(res.body).toEqual({ id: null, key: "never-seen", status: "resolved", count: 0 });
  });

  it("sends info and resolved silently, and warnings silently in quiet hours only", async () => {
    await bed.post(disk({ key: "i1", severity: "info" }));
    await bed.post(disk({ key: "w1", severity: "warning" }));
    const [info, warning] = await sends();
    expect(info!.payload.silent).toBe(true);
    expect(warning!.payload.silent).toBe(false);
  });
});

describe("bad input", () => {
  const cases: Array<[string, unknown, number, string]> = [
    ["missing title", { severity: "critical" }, 400, "body.title"],
    ["missing severity", { title: "x" }, 400, "body.severity"],
    ["unknown severity", { severity: "urgent", title: "x" }, 400, "body.severity"],
    ["non-string label", { severity: "info", title: "x", labels: { n: 5 } }, 400, "body.labels.n"],
    ["labels not a map", { severity: "info", title: "x", labels: ["a"] }, 400, "body.labels"],
    [
      "10 000 labels",
      {
        severity: "info",
        title: "x",
        labels: Object.fromEntries(Array.from({ length: 10_000 }, (_, n) => [`l${n}`, "v"])),
      },
      400,
      "body.labels",
    ],
    ["unknown field", { severity: "info", title: "x", lables: {} }, 400, "lables"],
  ];
  for (const [name, payload, status, mention] of cases) {
    it(`${name}: ${status} naming ${mention}`, async () => {
      const res = await bed.post(payload);
      expect(res.status).toBe(status);
      expect(res.body.error).toBe("invalid_request");
      expect(res.body.message).toContain(mention);
    });
  }

  it("a 1 MB title: 413, nothing stored", async () => {
    const res = await bed.post({ severity: "info", title: "x".repeat(1024 * 1024) });
    expect(res.status).toBe(413);
    const { rows } = await bed.db.query("select count(*)::int as n from alerts");
    expect(rows[0].n).toBe(0);
  });

  it("a title over 1024 characters: 400", async () => {
    const res = await bed.post({ severity: "info", title: "x".repeat(5000) });
    expect(res.status).toBe(400);
    expect(res.body.message).toContain("body.title");
  });

  it("malformed JSON: 400; a key without the alerts scope: 403", async () => {
    const bad = await bed.app.inject({
      method: "POST",
      url: "/v1/alerts",
      headers: { authorization: `Bearer ${CODER_KEY}`, "content-type": "application/json" },
      payload: "{nope",
    });
    expect(bad.statusCode).toBe(400);
    const reader = await bed.post(disk(), { key: READER_KEY });
    expect(reader.status).toBe(403);
  });
});

describe("GET /v1/alerts", () => {
  it("lists newest first with the DESIGN shape, filters by status, pages with a cursor", async () => {
    const ids: string[] = [];
    let lastAt = "";
    for (let n = 0; n < 5; n++) {
      lastAt = bed.clock.advance(1000).toISOString();
      ids.push((await bed.post(disk({ key: `k${n}`, labels: { n: String(n), x: "<&>" } }))).body.id);
    }
    await bed.post(disk({ key: "k1" }));
    await bed.post(disk({ key: "k2", status: "resolved" }));

    const all = await bed.app.inject({
      method: "GET",
      url: "/v1/alerts?limit=2",
      headers: { authorization: `Bearer ${READER_KEY}` },
    });
    expect(all.statusCode).toBe(200);
    const page1 = all.json();
    expect(page1.alerts.map((a: { id: string }) => a.id)).toEqual([ids[4], ids[3]]);
    expect(page1.next_cursor).toEqual(expect.any(String));
    expect(page1.alerts[0]).toEqual({
      id: ids[4],
      key: "k4",
      severity: "critical",
      title: "Disk full on db1",
      text: null,
      source: "node-exporter",
      labels: { n: "4", x: "<&>" },
      status: "firing",
      count: 1,
      first_seen: lastAt,
      last_seen: lastAt,
    });
    const page2 = (
      await bed.app.inject({
        method: "GET",
        url: `/v1/alerts?limit=2&cursor=${page1.next_cursor}`,
        headers: { authorization: `Bearer ${READER_KEY}` },
      })
    ).json();
    expect(page2.alerts.map((a: { id: string }) => a.id)).toEqual([ids[2], ids[1]]);

    const resolved = (
      await bed.app.inject({
        method: "GET",
        url: "/v1/alerts?status=resolved",
        headers: { authorization: `Bearer ${READER_KEY}` },
      })
    ).json();
    expect(resolved.alerts.map((a: { key: string; count: number }) => [a.key, a.count])).toEqual([["k2", 1]]);
    expect(resolved.next_cursor).toBeUndefined();

    const bad = await bed.app.inject({
      method: "GET",
      url: "/v1/alerts?status=open&limit=0",
      headers: { authorization: `Bearer ${READER_KEY}` },
    });
    expect(bad.statusCode).toBe(400);
    const badCursor = await bed.app.inject({
      method: "GET",
      url: "/v1/alerts?cursor=zzz",
      headers: { authorization: `Bearer ${READER_KEY}` },
    });
    expect(badCursor.statusCode).toBe(400);
  });
});

describe("API-only (no Telegram)", () => {
  it("stores, deduplicates and lists, and queues nothing", async () => {
    const apiOnly = await createAlertsBed({ telegram: false });
    try {
      const first = await apiOnly.post(disk());
      const second = await apiOnly.post(disk());
      expect([first.body.status, second.body.status]).toEqual(["new", "deduplicated"]);
      expect(await apiOnly.outbox()).toEqual([]);
    } finally {
      await apiOnly.close();
    }
  });
});
