import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { alertsFeature } from "../../src/bot/features/alerts/index.ts";
import { groupId, groupKey } from "../../src/guards/alerts/index.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import {
  type AlertsBed,
  buttonsOf,
  createAlertsBed,
  type OutboxRow,
  textOf,
} from "../services/alerts/support.ts";
import { admin, approver, callbackUpdate, group, offlineBot, textUpdate, viewer } from "./harness.ts";

// The alerts feature's buttons and commands on an offline bot (every Bot API call recorded),
// with the real alerts service and Postgres: the message edits are outbox rows.

let bed: AlertsBed;
let h: ReturnType<typeof offlineBot>;

beforeAll(async () => {
  bed = await createAlertsBed();
  h = offlineBot({
    operators: bed.config.telegram!.operators,
    db: bed.db,
    coord: bed.coord,
    log: silentLogger(),
    features: [alertsFeature({ service: bed.service, db: bed.db })],
  });
});
afterAll(async () => bed?.close());
beforeEach(async () => {
  await bed.db.query(
    "truncate alerts, alert_events, alert_groups, silences, alert_notifications, outbox, audit_log cascade",
  );
  h.calls.length = 0;
  bed.clock.ms = Date.parse("2024-03-10T12:00:00Z");
});

async function press(user: typeof admin, data: string): Promise<string | undefined> {
  const update = callbackUpdate(user, data, group);
  await h.handle(update);
  const answers = h.calls.filter(
    (c) => c.method === "answerCallbackQuery" && c.payload.callback_query_id === update.callback_query!.id,
  );
  expect(answers).toHaveLength(1); // every press answered, exactly once
  return answers[0]!.payload.text as string | undefined;
}

/** What the incident's message shows now: its pending send (edits fold into it) or latest edit. */
async function shown(ref: string): Promise<OutboxRow> {
  const rows = await bed.outbox(
    `status = 'pending' and (message_ref = '${ref}' or target_ref = '${ref}') and method in ('sendMessage', 'editMessageText')`,
  );
  return rows.at(-1)!;
}

const disk = {
  key: "disk:db1",
  severity: "critical",
  title: "Disk full <db1> & co",
  labels: { host: "db1" },
};

describe("al: buttons", () => {
  it("an approver acknowledges: toast, state, audit, and the message shows who", async () => {
    const { body } = await bed.post(disk);
    expect(await press(approver, `al:ack:${body.id}`)).toBe("Acknowledged. Reminders stopped.");
    const { rows } = await bed.db.query("select status, acknowledged_by->>'name' as by from alerts");
    expect(rows).toEqual([{ status: "acknowledged", by: "Apu" }]);
    const message = await shown(`alert:${body.id}`);
    expect(textOf(message)).toContain("Acknowledged by Apu at 12:00");
    expect(textOf(message)).toContain("Disk full <db1> & co");
    expect(message.payload.html).toContain("Disk full &lt;db1&gt; &amp; co");
    expect(buttonsOf(message)).toEqual([`al:res:${body.id}`, `al:sil:${body.id}`]);
    const audit = await bed.db.query("select actor_id, action, target from audit_log");
    expect(audit.rows).toEqual([
      { actor_id: "1003", action: "alert.acknowledged", target: `alert:${body.id}` },
    ]);
    expect(await press(admin, `al:ack:${body.id}`)).toBe("Already acknowledged by Apu.");
  });

  it("a viewer gets a toast and an audit row, and nothing changes", async () => {
    const { body } = await bed.post(disk);
    expect(await press(viewer, `al:res:${body.id}`)).toBe(
      "Acknowledging, resolving and silencing need the approver role; yours is viewer.",
    );
    expect((await bed.db.query("select status from alerts")).rows).toEqual([{ status: "firing" }]);
    const audit = await bed.db.query("select actor_id, action from audit_log");
    expect(audit.rows).toEqual([{ actor_id: "1002", action: "alert.action_refused" }]);
  });

  it("resolve edits the message to resolved and removes the buttons; a second press is stale-safe", async () => {
    const { body } = await bed.post(disk);
    await bed.db.query("update outbox set status = 'sent', outcome = 'sent'"); // the send went out
    expect(await press(admin, `al:res:${body.id}`)).toBe("Resolved.");
    const [edit] = await bed.outbox("method = 'editMessageText' and status = 'pending'");
    expect(edit!.target_ref).toBe(`alert:${body.id}`);
    expect(textOf(edit!)).toContain("Resolved by Ada at 12:00");
    expect(edit!.payload.reply_markup ?? null).toBeNull();
    expect(await press(admin, `al:res:${body.id}`)).toBe("Already resolved.");
  });

  it("Silence… opens 1h / 4h / 24h; a length silences the key until then", async () => {
    const { body } = await bed.post(disk);
    await bed.db.query("update outbox set status = 'sent', outcome = 'sent'");
    expect(await press(approver, `al:sil:${body.id}`)).toBe("Silence for how long?");
    const picker = await shown(`alert:${body.id}`);
    expect(buttonsOf(picker)).toEqual([
      `al:sil:${body.id}:1h`,
      `al:sil:${body.id}:4h`,
      `al:sil:${body.id}:24h`,
      `al:ack:${body.id}`,
      `al:res:${body.id}`,
    ]);
    expect(await press(approver, `al:sil:${body.id}:4h`)).toBe("Silenced until 2024-03-10 16:00:00.");
    const message = await shown(`alert:${body.id}`);
    expect(textOf(message)).toContain("Silenced until 2024-03-10 16:00:00");
    expect((await bed.post(disk)).body.status).toBe("silenced");
    const audit = await bed.db.query("select action, details->>'via' as via from audit_log");
    expect(audit.rows).toEqual([{ action: "silence.created", via: "button" }]);
  });

  it("unknown and malformed buttons get a toast, never an error", async () => {
    expect(await press(admin, "al:ack:QQQQQQQQQQQQQQQQ")).toBe("This button is no longer valid.");
    expect(await press(admin, "ag:res:QQQQQQQQQQQQQQQQ")).toBe("This button is no longer valid.");
    expect(await press(admin, "ag:more:QQQQQQQQQQQQQQQQ:3")).toBe("This button is no longer valid.");
    expect(await press(admin, "al:ack:short")).toBe("This button is no longer valid.");
    expect(await press(admin, "ag:sil:QQQQQQQQQQQQQQQQ:9h")).toBe("This button is no longer valid.");
  });
});

describe("ag: buttons", () => {
  const GROUP = groupId(groupKey({ alertname: "HighLatency" }, ["alertname"])!);
  const latency = (instance: string) => ({
    severity: "critical",
    title: "p99 latency above 5s",
    labels: { alertname: "HighLatency", instance },
  });

  async function shownGroup() {
    await bed.post(["a", "b", "c"].map(latency));
    bed.clock.advance(2_000);
    await bed.service.flushGroups();
    await bed.db.query("update outbox set status = 'sent', outcome = 'sent'");
  }

  it("acknowledge all: every incident shown, one audit row, the message says who and how many", async () => {
    await shownGroup();
    expect(await press(approver, `ag:ack:${GROUP}`)).toBe("Acknowledged 3. Reminders stopped.");
    const { rows } = await bed.db.query("select distinct status from alerts");
    expect(rows).toEqual([{ status: "acknowledged" }]);
    const message = await shown(`group:${GROUP}:1`);
    expect(textOf(message)).toContain("Apu acknowledged 3 at");
    expect(buttonsOf(message)).toEqual([`ag:res:${GROUP}`, `ag:sil:${GROUP}`]);
    const audit = await bed.db.query("select action, details->>'count' as n from audit_log");
    expect(audit.rows).toEqual([{ action: "alert.group_acknowledged", n: "3" }]);
    expect(await press(approver, `ag:ack:${GROUP}`)).toBe("Everything here is already acknowledged.");
  });

  it("silence the group by its labels; resolve all removes the buttons; a viewer may page", async () => {
    await shownGroup();
    expect(await press(viewer, `ag:more:${GROUP}:0`)).toBe("Page 1.");
    expect(await press(viewer, `ag:ack:${GROUP}`)).toContain("need the approver role");
    expect(await press(admin, `ag:sil:${GROUP}`)).toBe("Silence for how long?");
    expect(buttonsOf(await shown(`group:${GROUP}:1`))).toContain(`ag:sil:${GROUP}:1h`);
    expect(await press(admin, `ag:sil:${GROUP}:1h`)).toBe(
      "Silenced the group until 2024-03-10 13:00:02 (3 open now).",
    );
    expect((await bed.post(latency("d"))).body.status).toBe("silenced");
    expect(await press(admin, `ag:res:${GROUP}`)).toBe("Resolved 3.");
    const final = await shown(`group:${GROUP}:1`);
    expect(final.payload.reply_markup ?? null).toBeNull();
    expect(textOf(final)).toContain("Ada resolved 3 at");
  });
});

describe("commands", () => {
  function replies(chatId: number): string[] {
    return h.calls
      .filter((c) => c.method === "sendMessage" && c.payload.chat_id === chatId)
      .map((c) => String(c.payload.text));
  }

  it("/alerts lists open incidents newest first with counts, paged with pg:alerts", async () => {
    for (let n = 0; n < 12; n++) await bed.post({ key: `k${n}`, severity: "warning", title: `Problem ${n}` });
    await bed.post({ key: "k3", severity: "warning", title: "Problem 3" });
    await bed.post({ key: "k0", severity: "warning", title: "Problem 0", status: "resolved" });
    await h.handle(textUpdate(viewer, "/alerts"));
    const [list] = replies(viewer.id);
    expect(list).toContain("Open alerts: 11 (11 firing, 0 acknowledged, 0 silenced)");
    expect(list).toContain("Page 1 of 2");
    expect(list!.indexOf("Problem 11")).toBeLessThan(list!.indexOf("Problem 10"));
    expect(list).toContain("Problem 3</b> ×2");
    const sent = h.calls.find((c) => c.method === "sendMessage")!;
    expect(JSON.stringify(sent.payload.reply_markup)).toContain("pg:alerts:1");

    expect(await press(viewer, "pg:alerts:1")).toBeUndefined();
    const edit = h.calls.find((c) => c.method === "editMessageText")!;
    expect(String(edit.payload.text)).toContain("Page 2 of 2");
    expect(String(edit.payload.text)).toContain("Problem 1<");
  });

  it("/silence by matcher or key with a duration, /silences, /silence expire; viewers may not silence", async () => {
    await bed.post({ severity: "critical", title: "x", labels: { alertname: "HighLatency", instance: "a" } });
    await h.handle(textUpdate(viewer, '/silence alertname="HighLatency" 2h'));
    expect(replies(viewer.id).at(-1)).toContain("This needs the approver role");

    await h.handle(textUpdate(approver, '/silence alertname="HighLatency", env=~"prod|stage" 2 hours'));
    expect(replies(approver.id).at(-1)).toMatch(
      /^Silence [0-9A-Za-z]{16} for \{alertname="HighLatency", env=~"prod\|stage"\} until 2024-03-10 14:00:00\. Quieted 0 open alerts now\.$/,
    );
    await h.handle(textUpdate(approver, '/silence alertname="HighLatency" 30m'));
    const created = replies(approver.id).at(-1)!;
    expect(created).toContain("Quieted 1 open alerts now.");
    const id = /Silence ([0-9A-Za-z]{16})/.exec(created)![1]!;
    await h.handle(textUpdate(approver, "/silence disk:db1 1d"));
    await h.handle(textUpdate(approver, "/silence disk:db1 soon"));
    expect(replies(approver.id).at(-1)).toContain('"soon" is not a duration');
    await h.handle(textUpdate(approver, "/silence disk:db1 90d"));
    expect(replies(approver.id).at(-1)).toContain("at most 30d");
    await h.handle(textUpdate(approver, '/silence env!="prod" 1h'));
    expect(replies(approver.id).at(-1)).toContain("would silence almost everything");

    await h.handle(textUpdate(viewer, "/silences"));
    const list = replies(viewer.id).at(-1)!;
    expect(list).toContain("Active silences: 3");
    expect(list).toContain("key disk:db1 until 2024-03-11 12:00:00, by Apu");

    await h.handle(textUpdate(approver, `/silence expire ${id}`));
    expect(replies(approver.id).at(-1)).toBe(`Silence ${id} ended. 1 alerts fire again.`);
    await h.handle(textUpdate(approver, "/silence expire QQQQQQQQQQQQQQQQ"));
    expect(replies(approver.id).at(-1)).toContain("There is no silence QQQQQQQQQQQQQQQQ");
    const audit = await bed.db.query(
      "select action from audit_log where action like 'silence.%' order by id",
    );
    expect(audit.rows.map((r) => r.action)).toEqual([
      "silence.created",
      "silence.created",
      "silence.created",
      "silence.expired",
    ]);
  });
});
