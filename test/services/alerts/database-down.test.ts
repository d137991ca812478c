import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../src/observability/logger.ts";
import { createPool, type Db } from "../../../src/store/pool.ts";
import { PostgresRelay } from "../../http/support.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import { type AlertsBed, createAlertsBed } from "./support.ts";

// Nothing is acknowledged that was not committed: with Postgres gone, ingest answers 503.

let t: TestDatabase;
let relay: PostgresRelay;
let relayed: Db;
let bed: AlertsBed;

beforeAll(async () => {
  t = await createTestDatabase();
  const target = new URL(t.url);
  relay = new PostgresRelay(target.hostname, Number(target.port));
  await relay.start();
  const url = new URL(t.url);
  url.hostname = "127.0.0.1";
  url.port = String(relay.port);
  relayed = createPool({ url: url.toString(), log: silentLogger(), max: 4 });
  bed = await createAlertsBed({ database: { ...t, db: relayed } });
});
afterAll(async () => {
  await bed?.close({ keepDatabase: true });
  await relay?.cut();
  await relayed?.end().catch(() => undefined);
  await t?.drop();
});

describe("database unavailable", () => {
  it("answers 503 with nothing stored, and 202 again once it is back", async () => {
    const alert = { key: "db-down", severity: "critical", title: "x" };
    expect((await bed.post(alert)).status).toBe(202);
    await relay.cut();
    const during = await bed.post([alert, { ...alert, key: "other" }]);
    expect(during.status).toBe(503);
    expect(during.body.error).toBe("database_unavailable");
    const { rows } = await t.db.query("select key, count from alerts");
    expect(rows).toEqual([{ key: "db-down", count: 1 }]);
    await relay.start();
    const after = await bed.post(alert);
    expect(after.status).toBe(202);
    expect(after.body).toMatchObject({ status: "deduplicated", count: 2 });
  });

  it("count-only repeats too: 503 while it is gone, and every repeat counted once when it is back", async () => {
    const disk = { key: "disk-a", severity: "warning", title: "disk", labels: { alertname: "Disk" } };
    await bed.post(disk);
    bed.clock.advance(2_000);
    await bed.service.flushGroups(); // shown
    bed.clock.advance(1_000);
    await bed.post(disk); // marks the group changed: the next repeats are count-only
    const before = await t.db.query<{ n: number }>(
      "select count(*)::int as n from alert_events where kind = 'repeated'",
    );
    expect((await bed.post(disk)).body).toMatchObject({ status: "deduplicated", count: 3 });

    await relay.cut();
    const during = await bed.post([disk, disk]);
    expect(during.status).toBe(503);
    await relay.start();
    const after = await bed.post([disk, disk]);
    expect(after.status).toBe(202);
    expect(after.body.results.map((r: { count: number }) => r.count)).toEqual([4, 5]);
    const { rows } = await t.db.query("select count from alerts where key = 'disk-a'");
    expect(rows).toEqual([{ count: 5 }]);
    const events = await t.db.query<{ n: number }>(
      "select count(*)::int as n from alert_events where kind = 'repeated'",
    );
    expect(events.rows[0]!.n).toBe(before.rows[0]!.n); // they took the count-only path
  });
});
