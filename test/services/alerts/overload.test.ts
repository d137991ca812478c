import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keyLock, lockId } from "../../../src/services/alerts/store.ts";
import { type AlertsBed, createAlertsBed } from "./support.ts";

// The ingest queue is bounded: while the database is behind, alerts beyond the bound are refused
// with 503 and Retry-After (Alertmanager and the CLI retry), and nothing of those requests is
// stored; what was accepted is stored in full once the database catches up.

let bed: AlertsBed;

beforeAll(async () => {
  bed = await createAlertsBed({ batch: { maxQueued: 4 } });
});
afterAll(async () => bed?.close());

const alert = (n: number) => ({
  key: "stuck",
  severity: "warning",
  title: `alert ${n}`,
  labels: { alertname: "Stuck", n: String(n) },
});

describe("alert ingest under overload", () => {
  it("answers 503 with Retry-After beyond the queue bound, stores nothing of those, and recovers", async () => {
    // Another session holds the key's lock: every batch with that key waits, as behind a slow database.
    const blocker = new pg.Client({ connectionString: bed.t.url });
    await blocker.connect();
    try {
      await blocker.query("select pg_advisory_lock($1)", [String(lockId(keyLock("stuck")))]);
      const settle = () => new Promise((resolve) => setTimeout(resolve, 100));
      /** Until `n` sessions wait for an advisory lock: batches stuck behind the blocker. */
      const batchesWaiting = async (n: number) => {
        for (let tries = 0; tries < 200; tries++) {
          const { rows } = await blocker.query<{ n: number }>(
            "select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted",
          );
          if (rows[0]!.n >= n) return;
          await new Promise((resolve) => setTimeout(resolve, 25));
        }
        throw new Error(`expected ${n} batches waiting for the key lock`);
      };
      const accepted = [bed.post(alert(0))];
      await batchesWaiting(1);
      accepted.push(bed.post(alert(1))); // the second batch: both batch slots are taken
      await batchesWaiting(2);
      const waiting = Array.from({ length: 4 }, (_, n) => bed.post(alert(10 + n))); // the queue, full
      await settle(); // in memory only: no I/O between the request and the queue

      const refused = await bed.post([alert(20), alert(21)]);
      expect(refused.status).toBe(503);
      expect(refused.body.error).toBe("overloaded");
      expect(refused.headers["retry-after"]).toBe("1");
      expect(refused.body.message).toContain("nothing of this request was recorded");
      const metrics = (await bed.app.inject({ method: "GET", url: "/metrics" })).body;
      expect(metrics).toContain("pitwall_alert_ingest_waiting 4");
      expect(metrics).toContain("pitwall_alerts_refused_overloaded_total 2");

      await blocker.query("select pg_advisory_unlock($1)", [String(lockId(keyLock("stuck")))]);
      const answers = await Promise.all([...accepted, ...waiting]);
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202, 202]);
      const { rows } = await bed.db.query<{ count: number }>("select count from alerts where key = 'stuck'");
      expect(rows).toEqual([{ count: 6 }]); // the refused two are not in it

      const later = await bed.post(alert(30));
      expect(later.status).toBe(202);
      expect(later.body.count).toBe(7);
    } finally {
      await blocker.end();
    }
  });
});
