import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { groupId, groupKey } from "../../../src/guards/alerts/index.ts";
import { type AlertsBed, buttonsOf, createAlertsBed, FakeClock, testYaml, textOf } from "./support.ts";

// Grouping, silences and inhibition end to end in the service: HTTP in, outbox rows out, the
// leader's jobs called by hand after moving the clock (group_wait 2s, group_interval 1m).

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

const latency = (instance: string, extra: Record<string, unknown> = {}) => ({
  severity: "critical",
  title: "p99 latency above 5s",
  source: "prometheus",
  labels: { alertname: "HighLatency", instance, ...((extra.labels as object) ?? {}) },
  ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== "labels")),
});
const GROUP = groupId(groupKey({ alertname: "HighLatency" }, ["alertname"])!);

async function sends() {
  return bed.outbox("method = 'sendMessage'");
}
/** What the group's message shows now: its send with pending edits folded in, else the last edit. */
async function latestText(ref: string) {
  const rows = await bed.outbox(
    `status = 'pending' and (message_ref = '${ref}' or target_ref = '${ref}') and method in ('sendMessage', 'editMessageText')`,
  );
  return rows.at(-1);
}

describe("grouping", () => {
  it("collects a burst for group_wait into one message, then edits it at most every group_interval", async () => {
    const answers = await Promise.all(["a:1", "b:1", "c:1"].map((i) => bed.post(latency(i))));
    expect(answers.map((a) => a.body.status)).toEqual(["new", "new", "new"]);
    expect(await bed.outbox()).toEqual([]); // nothing before group_wait

    bed.clock.advance(1_999);
    expect(await bed.service.flushGroups()).toBe(0);
    bed.clock.advance(1);
    expect(await bed.service.flushGroups()).toBe(1);
    const [message] = await sends();
    expect(message!.message_ref).toBe(`group:${GROUP}:1`);
    expect(message!.payload.silent).toBe(false);
    expect(textOf(message!)).toContain("p99 latency above 5s");
    expect(textOf(message!)).toContain("3 incidents · 3 alerts");
    expect(textOf(message!)).toContain("instance=a:1");
    expect(buttonsOf(message!)).toEqual([`ag:ack:${GROUP}`, `ag:res:${GROUP}`, `ag:sil:${GROUP}`]);

    // Repeats inside the dedup window: one silent edit, not before group_interval.
    bed.clock.advance(5_000);
    await bed.post(latency("a:1"));
    await bed.post(latency("a:1"));
    bed.clock.advance(10_000);
    expect(await bed.service.flushGroups()).toBe(0);
    bed.clock.advance(MINUTE);
    expect(await bed.service.flushGroups()).toBe(1);
    const edit = await latestText(`group:${GROUP}:1`);
    expect(textOf(edit!)).toContain("3 incidents · 5 alerts");
    expect(textOf(edit!)).toContain("instance=a:1 ×3");
    expect(await sends()).toHaveLength(1);
  });

  it("shows a group of one as that incident's own message with al: buttons", async () => {
    const res = await bed.post(latency("solo:1"));
    bed.clock.advance(2_000);
    await bed.service.flushGroups();
    const [message] = await sends();
    expect(textOf(message!)).toContain("Key:");
    expect(buttonsOf(message!)).toEqual([
      `al:ack:${res.body.id}`,
      `al:res:${res.body.id}`,
      `al:sil:${res.body.id}`,
    ]);
  });

  it("a new incident joining a shown group re-notifies with a new loud message; the old one loses its buttons", async () => {
    await bed.post(latency("a:1"));
    await bed.post(latency("b:1"));
    bed.clock.advance(2_000);
    await bed.service.flushGroups();
    bed.clock.advance(5_000);
    await bed.post(latency("c:1"));
    bed.clock.advance(MINUTE);
    await bed.service.flushGroups();
    expect((await sends()).map((s) => s.message_ref)).toEqual([`group:${GROUP}:1`, `group:${GROUP}:1:1`]);
    const stripped = await bed.outbox(
      `target_ref = 'group:${GROUP}:1' and method = 'editMessageReplyMarkup'`,
    );
    expect(stripped.length).toBe(1);
  });

  it("pages through every incident with ag:more, 20 per page", async () => {
    const instances = Array.from({ length: 45 }, (_, n) => `host-${String(n).padStart(2, "0")}`);
    await bed.post(instances.map((i) => latency(i)));
    bed.clock.advance(2_000);
    await bed.service.flushGroups();
    const [message] = await sends();
    expect(textOf(message!)).toContain("+25 more");
    expect(buttonsOf(message!)).toContain(`ag:more:${GROUP}:1`);

    const seen = new Set<string>();
    const collect = (text: string) => {
      for (const m of text.matchAll(/instance=(host-\d\d)/g)) seen.add(m[1]!);
    };
    collect(textOf(message!));
    await bed.db.query("update outbox set status = 'sent', outcome = 'sent' where status = 'pending'");
    for (const page of [1, 2]) {
      expect(await bed.service.groupPage(GROUP, page)).toMatchObject({ kind: "done" });
      const view = await latestText(`group:${GROUP}:1`);
      expect(textOf(view!)).toContain(`Page ${page + 1} of 3`);
      collect(textOf(view!));
    }
    const last = await latestText(`group:${GROUP}:1`);
    expect(buttonsOf(last!)).toContain(`ag:more:${GROUP}:1`); // ‹ Back
    expect(buttonsOf(last!)).not.toContain(`ag:more:${GROUP}:3`);
    expect([...seen].sort()).toEqual(instances);
    expect(await bed.service.groupPage("QQQQQQQQQQQQQQQQ", 1)).toEqual({ kind: "stale" });
  });

  it("closes an all-resolved group: the next firing starts a new message", async () => {
    await bed.post([latency("a:1"), latency("b:1")]);
    bed.clock.advance(2_000);
    await bed.service.flushGroups();
    bed.clock.advance(1_000);
    await bed.post([latency("a:1", { status: "resolved" }), latency("b:1", { status: "resolved" })]);
    bed.clock.advance(MINUTE);
    await bed.service.flushGroups();
    const final = await latestText(`group:${GROUP}:1`);
    expect(textOf(final!)).toContain("✅ 2 resolved");
    expect(final!.payload.reply_markup ?? null).toBeNull();

    bed.clock.advance(MINUTE);
    await bed.post(latency("a:1"));
    bed.clock.advance(2_000);
    await bed.service.flushGroups();
    expect((await sends()).map((s) => s.message_ref)).toEqual([`group:${GROUP}:1`, `group:${GROUP}:2`]);
  });
});

describe("silences and inhibition", () => {
  it("a matcher silence keeps matching alerts quiet until it ends, then they fire and are shown", async () => {
    const { silence } = await bed.service.createSilence({
      key: null,
      matchers: [{ name: "alertname", op: "=", value: "HighLatency" }],
      durationMs: 4 * 3_600_000,
      actor: { type: "operator", id: "1001", name: "Ada" },
    });
    const quiet = await bed.post(latency("a:1"));
    const other = await bed.post({ severity: "critical", title: "Disk full", labels: { alertname: "Disk" } });
    expect(quiet.body.status).toBe("silenced");
    expect(other.body.status).toBe("new");
    bed.clock.advance(2_000);
    await bed.service.flushGroups();
    expect((await sends()).map((s) => s.message_ref)).toEqual([expect.stringMatching(/^group:/)]);
    expect(
      (await bed.db.query("select status from alerts where id = $1", [quiet.body.id])).rows[0].status,
    ).toBe("silenced");

    bed.clock.advance(4 * 3_600_000);
    expect(await bed.service.expireSilences()).toBe(1);
    expect(
      (await bed.db.query("select status from alerts where id = $1", [quiet.body.id])).rows[0].status,
    ).toBe("firing");
    bed.clock.advance(2_000);
    await bed.service.flushGroups();
    expect(await sends()).toHaveLength(2);
    const audit = await bed.db.query("select action, target from audit_log where action like 'silence.%'");
    expect(audit.rows).toContainEqual({ action: "silence.created", target: `silence:${silence.id}` });
  });

  it("expiring a silence early by id fires what it kept quiet", async () => {
    const { silence } = await bed.service.createSilence({
      key: "disk:db1",
      matchers: null,
      durationMs: 3_600_000,
      actor: { type: "operator", id: "1001", name: "Ada" },
    });
    const res = await bed.post({ key: "disk:db1", severity: "warning", title: "Disk full" });
    expect(res.body.status).toBe("silenced");
    expect(await sends()).toHaveLength(0);
    const outcome = await bed.service.expireSilence(silence.id, {
      type: "operator",
      id: "1001",
      name: "Ada",
    });
    expect(outcome).toMatchObject({ kind: "expired", affected: 1 });
    expect(await sends()).toHaveLength(1); // never shown before: its first message now
    expect(
      await bed.service.expireSilence(silence.id, { type: "operator", id: "1001", name: "Ada" }),
    ).toMatchObject({
      kind: "already-ended",
    });
    const audit = await bed.db.query("select action from audit_log where action = 'silence.expired'");
    expect(audit.rows).toHaveLength(1);
  });

  it("a critical inhibits warnings of the same alertname (default rule); they are recorded, not shown", async () => {
    await bed.post(latency("a:1"));
    const warning = await bed.post(latency("b:1", { severity: "warning" }));
    expect(warning.body.status).toBe("silenced");
    const other = await bed.post({
      severity: "warning",
      title: "Queue slow",
      labels: { alertname: "Queue" },
    });
    expect(other.body.status).toBe("new");
    const { rows } = await bed.db.query("select key, status, inhibited_by from alerts where id = $1", [
      warning.body.id,
    ]);
    expect(rows[0].status).toBe("firing");
    expect(rows[0].inhibited_by).toMatch(/^[0-9a-f]{16}$/);
    bed.clock.advance(2_000);
    await bed.service.flushGroups();
    const group = (await sends()).find((s) => s.message_ref?.startsWith(`group:${GROUP}`));
    expect(textOf(group!)).not.toContain("instance=b:1");
  });
});

describe("loudness", () => {
  it("in quiet hours only critical rings; info is always silent", async () => {
    const night = await createAlertsBed({
      yaml: testYaml('  quiet_hours: { from: "23:00", to: "07:00", timezone: UTC }\n'),
      clock: new FakeClock(Date.parse("2024-03-10T02:00:00Z")),
    });
    try {
      await night.post({ key: "c", severity: "critical", title: "c" });
      await night.post({ key: "w", severity: "warning", title: "w" });
      await night.post({ key: "i", severity: "info", title: "i" });
      night.clock.advance(6 * 3_600_000); // 08:00, outside quiet hours
      await night.post({ key: "w2", severity: "warning", title: "w2" });
      const rows = await night.outbox("method = 'sendMessage'");
      expect(rows.map((r) => r.payload.silent)).toEqual([false, true, true, false]);
    } finally {
      await night.close();
    }
  });
});
