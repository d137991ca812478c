import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { groupId, groupKey } from "../../../src/guards/alerts/index.ts";
import { type AlertsBed, createAlertsBed, textOf } from "./support.ts";

// Count-only repeats: a batch that leaves its group as it was (already waiting for its flush)
// takes no group lock and writes no group row, so storms of one alertname overlap. These tests
// pin down that the group row is left alone and that nothing is lost to a flush running between.

let bed: AlertsBed;
const MINUTE = 60_000;

beforeAll(async () => {
  bed = await createAlertsBed();
});
afterAll(async () => bed?.close());
beforeEach(async () => {
  await bed.db.query(
    "truncate alerts, alert_events, alert_groups, silences, alert_notifications, outbox cascade",
  );
});

const cpu = (instance: string) => ({
  severity: "warning",
  title: "CPU hot",
  labels: { alertname: "CpuHot", instance },
});
const GROUP = groupId(groupKey({ alertname: "CpuHot" }, ["alertname"])!);

async function groupRow() {
  const { rows } = await bed.db.query<{
    xmin: string;
    pending_since: Date | null;
    flush_due_at: Date | null;
  }>("select xmin::text, pending_since, flush_due_at from alert_groups where id = $1", [GROUP]);
  return rows[0]!;
}

async function counts() {
  const { rows } = await bed.db.query<{ key: string; count: number }>(
    "select key, count from alerts order by key",
  );
  return rows;
}

describe("count-only repeats", () => {
  it("leave a waiting group's row untouched, and its next flush shows them", async () => {
    await Promise.all(["a", "b"].map((i) => bed.post(cpu(i))));
    const before = await groupRow();
    expect(before.pending_since).not.toBeNull();

    bed.clock.advance(500);
    for (let n = 0; n < 3; n++) {
      const res = await Promise.all(["a", "b"].map((i) => bed.post(cpu(i))));
      expect(res.map((r) => r.body.status)).toEqual(["deduplicated", "deduplicated"]);
    }
    expect(await groupRow()).toEqual(before); // same row version: not written

    bed.clock.advance(2_000);
    expect(await bed.service.flushGroups()).toBe(1);
    const [message] = await bed.outbox("method = 'sendMessage'");
    expect(textOf(message!)).toContain("2 incidents · 8 alerts");

    // Flushed: the group waits for nothing, so the next repeat marks it changed (locked path).
    const flushed = await groupRow();
    expect(flushed.pending_since).toBeNull();
    bed.clock.advance(1_000);
    await bed.post(cpu("a"));
    const marked = await groupRow();
    expect(marked.pending_since).not.toBeNull();
    expect(marked.xmin).not.toBe(flushed.xmin);
    bed.clock.advance(MINUTE);
    expect(await bed.service.flushGroups()).toBe(1);
  });

  it("a new key joining a waiting group still takes the locked path and joins the epoch", async () => {
    await bed.post(cpu("a"));
    bed.clock.advance(100);
    const res = await Promise.all([bed.post(cpu("a")), bed.post(cpu("new"))]);
    expect(res.map((r) => r.body.status)).toEqual(["deduplicated", "new"]);
    const { rows } = await bed.db.query("select group_epoch from alerts");
    expect(rows).toEqual([{ group_epoch: 1 }, { group_epoch: 1 }]);
    bed.clock.advance(2_000);
    expect(await bed.service.flushGroups()).toBe(1);
    const [message] = await bed.outbox("method = 'sendMessage'");
    expect(textOf(message!)).toContain("2 incidents · 3 alerts");
  });

  it("loses no repeat to flushes running alongside: the last flush shows every count", async () => {
    const instances = Array.from({ length: 20 }, (_, i) => `i${i}`);
    await Promise.all(instances.map((i) => bed.post(cpu(i))));
    let posted = instances.length;
    for (let round = 0; round < 6; round++) {
      bed.clock.advance(MINUTE);
      const posts = instances.flatMap((i) => [bed.post(cpu(i)), bed.post(cpu(i))]);
      posted += posts.length;
      const [answers] = await Promise.all([Promise.all(posts), bed.service.flushGroups()]);
      expect(answers.every((a) => a.status === 202)).toBe(true);
    }
    const rows = await counts();
    expect(rows.reduce((sum, r) => sum + r.count, 0)).toBe(posted);
    // Whatever a flush missed, the group is still waiting for: the next flush shows it all.
    bed.clock.advance(MINUTE);
    await bed.service.flushGroups();
    const messages = await bed.outbox("method in ('sendMessage', 'editMessageText')");
    expect(textOf(messages.at(-1)!)).toContain(`20 incidents · ${posted} alerts`);
  });
});
