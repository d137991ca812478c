import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { groupId, groupKey } from "../../../src/guards/alerts/index.ts";
import { type AlertsBed, createAlertsBed, textOf } from "./support.ts";

// Count-only repeats written as one UPDATE (src/services/alerts/fast-repeat.ts): once an incident
// is shown and its group waits for a flush, a repeat with the same content changes only count and
// last_seen. The full pipeline writes an alert event per repeat and this path does not, so the
// number of 'repeated' events tells which path an alert took.

let bed: AlertsBed;
const HOUR = 3_600_000;
const OPERATOR = { type: "operator" as const, id: "tg:1", name: "Ann" };

beforeAll(async () => {
  bed = await createAlertsBed();
});
afterAll(async () => bed?.close());
beforeEach(async () => {
  await bed.db.query(
    "truncate alerts, alert_events, alert_firings, alert_groups, silences, alert_notifications, outbox cascade",
  );
});

const disk = (instance: string, title = "Disk almost full") => ({
  severity: "warning",
  title,
  source: "node-exporter",
  labels: { alertname: "DiskFull", instance },
});
const GROUP = groupId(groupKey({ alertname: "DiskFull" }, ["alertname"])!);

async function repeatedEvents(): Promise<number> {
  const { rows } = await bed.db.query<{ n: number }>(
    "select count(*)::int as n from alert_events where kind = 'repeated'",
  );
  return rows[0]!.n;
}

async function incident(instance: string) {
  const { rows } = await bed.db.query<{
    id: string;
    count: number;
    title: string;
    status: string;
    last_seen: Date;
    xmin: string;
  }>("select id, count, title, status, last_seen, xmin::text from alerts where key = $1", [
    `disk-${instance}`,
  ]);
  return rows[0]!;
}

/** pitwall_alerts_count_only_total as /metrics shows it. */
async function countOnlyMetric(): Promise<number> {
  const text = (await bed.app.inject({ method: "GET", url: "/metrics" })).body;
  return Number(/^pitwall_alerts_count_only_total (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function firings(): Promise<number> {
  const { rows } = await bed.db.query<{ n: number }>(
    "select coalesce(sum(n), 0)::int as n from alert_firings",
  );
  return rows[0]!.n;
}

const post = (instance: string, title?: string) =>
  bed.post({ ...disk(instance, title), key: `disk-${instance}` });

/** Two incidents shown by a first flush, and their group waiting for the next one again. */
async function shownAndWaiting(): Promise<void> {
  await Promise.all([post("a"), post("b")]);
  bed.clock.advance(2_000);
  expect(await bed.service.flushGroups()).toBe(1);
  bed.clock.advance(1_000);
  await post("a"); // the full path: marks the flushed group changed again
  const { rows } = await bed.db.query("select pending_since from alert_groups where id = $1", [GROUP]);
  expect(rows[0]!.pending_since).not.toBeNull();
}

describe("count-only repeats in one statement", () => {
  it("counts repeats of shown incidents in a waiting group without events, and the next flush shows them", async () => {
    await shownAndWaiting();
    const eventsBefore = await repeatedEvents();
    const countOnlyBefore = await countOnlyMetric();
    const group = await bed.db.query("select xmin::text from alert_groups where id = $1", [GROUP]);

    bed.clock.advance(500);
    const answers = await Promise.all([post("a"), post("b"), post("a"), post("b"), post("a")]);
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(answers.every((a) => a.body.status === "deduplicated")).toBe(true);
    // Each answer carries its own count: a's 3rd..5th alert, b's 2nd..3rd.
    const countsOf = (key: string) =>
      answers
        .filter((a) => a.body.key === key)
        .map((a) => a.body.count)
        .sort();
    expect(countsOf("disk-a")).toEqual([3, 4, 5]);
    expect(countsOf("disk-b")).toEqual([2, 3]);

    expect(await repeatedEvents()).toBe(eventsBefore); // no event: the count-only path took them all
    expect((await countOnlyMetric()) - countOnlyBefore).toBe(5);
    const a = await incident("a");
    expect(a.count).toBe(5);
    expect(a.last_seen.getTime()).toBe(bed.clock.now().getTime());
    expect(answers.find((x) => x.body.key === "disk-a")!.body.id).toBe(a.id);
    expect((await bed.db.query("select xmin::text from alert_groups where id = $1", [GROUP])).rows).toEqual(
      group.rows,
    );
    expect(await firings()).toBe(8); // every alert counted for the digest, both paths

    bed.clock.advance(5 * 60_000);
    expect(await bed.service.flushGroups()).toBe(1);
    const edits = await bed.outbox("method = 'editMessageText'");
    expect(textOf(edits.at(-1)!)).toContain("2 incidents · 8 alerts");
  });

  it("takes a repeat with changed content the full way: the new title is stored", async () => {
    await shownAndWaiting();
    const eventsBefore = await repeatedEvents();
    const res = await post("a", "Disk full NOW");
    expect(res.body).toMatchObject({ status: "deduplicated", count: 3 });
    expect((await incident("a")).title).toBe("Disk full NOW");
    expect(await repeatedEvents()).toBe(eventsBefore + 1);
    // The changed content is now the stored one: the next identical repeat is count-only again.
    await post("a", "Disk full NOW");
    expect(await repeatedEvents()).toBe(eventsBefore + 1);
    expect((await incident("a")).count).toBe(4);
  });

  it("re-notifies loudly once the dedup window has passed (the full path)", async () => {
    await shownAndWaiting();
    const eventsBefore = await repeatedEvents();
    bed.clock.advance(HOUR + 1_000);
    await post("b");
    const { rows } = await bed.db.query<{ details: { reason: string } }>(
      "select details from alert_events where kind = 'repeated' order by id desc limit 1",
    );
    expect(await repeatedEvents()).toBe(eventsBefore + 1);
    expect(rows[0]!.details.reason).toBe("window-elapsed");
    const group = await bed.db.query("select pending_loud from alert_groups where id = $1", [GROUP]);
    expect(group.rows[0]!.pending_loud).toBe(true);
  });

  it("checks repeats against a silence another instance stored after this one last read them", async () => {
    await shownAndWaiting();
    await post("b"); // the count-only path has read the silences: none
    // Written behind this instance's back, covering a firing incident it did not mark.
    await bed.db.query(
      `insert into silences (id, key, matchers, ends_at, created_at, created_by)
       values ('SilenceFromElsewh', 'disk-b', null, $1, $2, '{"type":"user","id":"tg:2","name":"Bo"}')`,
      [new Date(bed.clock.now().getTime() + HOUR), bed.clock.now()],
    );
    const res = await post("b");
    expect(res.body.status).toBe("silenced");
    expect((await incident("b")).status).toBe("silenced");
    // a is not covered: its repeats are count-only again with the fresh view.
    const before = await repeatedEvents();
    await post("a");
    expect(await repeatedEvents()).toBe(before);
  });

  it("keeps counting repeats of an acknowledged incident count-only, and never re-notifies it", async () => {
    await shownAndWaiting();
    const a = await incident("a");
    expect(await bed.service.incident("ack", a.id, OPERATOR)).toMatchObject({ kind: "done" });
    // The acknowledge changed what the group's message shows: it waits for a flush.
    const group = await bed.db.query("select pending_since from alert_groups where id = $1", [GROUP]);
    expect(group.rows[0]!.pending_since).not.toBeNull();
    const eventsBefore = await repeatedEvents();
    bed.clock.advance(2 * HOUR); // past the dedup window: acknowledged incidents do not re-notify
    const res = await post("a");
    expect(res.body).toMatchObject({ status: "deduplicated", count: 3 });
    expect((await incident("a")).status).toBe("acknowledged");
    expect(await repeatedEvents()).toBe(eventsBefore);
    const loud = await bed.db.query("select pending_loud from alert_groups where id = $1", [GROUP]);
    expect(loud.rows[0]!.pending_loud).toBe(false);
  });

  it("resolves after count-only repeats, and a later firing opens a new incident", async () => {
    await shownAndWaiting();
    await post("a");
    const first = await incident("a");
    const resolved = await bed.post({ key: "disk-a", ...disk("a"), status: "resolved" });
    expect(resolved.body).toMatchObject({ status: "resolved", id: first.id, count: first.count });
    const again = await post("a");
    expect(again.body).toMatchObject({ status: "new", count: 1 });
    expect(again.body.id).not.toBe(first.id);
  });

  it("loses no count when two instances repeat the same keys while flushes and acknowledges run", async () => {
    const second = await createAlertsBed({ database: bed.t, clock: bed.clock });
    try {
      await shownAndWaiting();
      const instances = ["a", "b", "c", "d", "e"];
      await Promise.all(instances.slice(2).map((i) => post(i)));
      let posted = 2 + 1 + 3; // shownAndWaiting's three, then c, d, e
      const b = await incident("b");
      for (let round = 0; round < 5; round++) {
        bed.clock.advance(61_000);
        const posts = Array.from({ length: 40 }, (_, n) =>
          (n % 2 === 0 ? bed : second).post({ ...disk(instances[n % 5]!), key: `disk-${instances[n % 5]}` }),
        );
        posted += posts.length;
        const others = [bed.service.flushGroups(), second.service.flushGroups()];
        if (round === 2) others.push(second.service.incident("ack", b.id, OPERATOR).then(() => 0));
        const [answers] = await Promise.all([Promise.all(posts), Promise.all(others)]);
        expect(answers.every((a) => a.status === 202 && a.body.status === "deduplicated")).toBe(true);
      }
      const { rows } = await bed.db.query<{ total: number; open: number }>(
        "select sum(count)::int as total, count(*)::int as open from alerts where status <> 'resolved'",
      );
      expect(rows[0]).toEqual({ total: posted, open: 5 });
      expect(await firings()).toBe(posted);
      expect((await incident("b")).status).toBe("acknowledged");
      // The last flush shows every count, whichever path took the repeats.
      bed.clock.advance(5 * 60_000);
      await bed.service.flushGroups();
      const messages = await bed.outbox("method in ('sendMessage', 'editMessageText')");
      expect(textOf(messages.at(-1)!)).toContain(`5 incidents · ${posted} alerts`);
    } finally {
      await second.close({ keepDatabase: true });
    }
  });
});
