import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { b, code } from "../../src/bot/format/index.ts";
import { enqueue } from "../../src/delivery/outbox.ts";
import { PRIORITY } from "../../src/delivery/types.ts";
import type { StuckRow } from "../../src/delivery/worker.ts";
import type { RecordedCall } from "../fake-bot-api/types.ts";
import { allDelivered, createDeliveryBed, type DeliveryBed, row, waitUntil } from "./support.ts";

const keyboard = (label: string) => ({
  inline_keyboard: [[{ text: label, callback_data: `al:ack:${label}` }]],
});
const textOf = (call: RecordedCall) => String(call.params.text ?? "");
const okCalls = (bed: DeliveryBed, method: string, chatId: number) =>
  bed.fake.callsOf(method).filter((c) => c.status === 200 && Number(c.params.chat_id) === chatId);

describe("outbox worker", () => {
  let bed: DeliveryBed;
  beforeAll(async () => {
    bed = await createDeliveryBed();
  });
  afterAll(async () => bed.close());
  beforeEach(async () => bed.reset());

  const send = (chatId: number | string, text: string, extra: Record<string, unknown> = {}) =>
    enqueue(bed.db, {
      kind: "alert",
      priority: PRIORITY.NEW_ALERT,
      chat: { id: chatId },
      method: "sendMessage",
      parts: [text],
      silent: false,
      ...extra,
    } as Parameters<typeof enqueue>[1]);

  it("delivers approvals before alerts before the digest, whatever the order they were queued in", async () => {
    // one chat: its rows go out one at a time, most urgent first
    for (const n of [1, 2, 3]) {
      await enqueue(bed.db, {
        kind: "digest",
        priority: PRIORITY.DIGEST,
        chat: { id: 1001 },
        method: "sendMessage",
        parts: [`digest ${n}`],
        silent: true,
      });
    }
    await send(1001, "new alert");
    await enqueue(bed.db, {
      kind: "approval_prompt",
      priority: PRIORITY.APPROVAL,
      chat: { id: 1001 },
      method: "sendMessage",
      parts: ["approve rm -rf?"],
      silent: false,
    });
    // across chats: with one send at a time, the approval in another chat still goes first
    await enqueue(bed.db, {
      kind: "digest",
      priority: PRIORITY.DIGEST,
      chat: { id: 1002 },
      method: "sendMessage",
      parts: ["digest elsewhere"],
      silent: true,
    });
    bed.worker({ maxInFlight: 1 }).start();
    await allDelivered(bed.db);
    const order = bed.fake.callsOf("sendMessage").map(textOf);
    expect(order[0]).toBe("approve rm -rf?");
    expect(order[1]).toBe("new alert");
    expect(order.slice(2).every((t) => t.startsWith("digest"))).toBe(true);
    expect(bed.fake.messages(1001).map((m) => m.text)).toEqual([
      "approve rm -rf?",
      "new alert",
      "digest 1",
      "digest 2",
      "digest 3",
    ]);
    // the digest is silent, the alert is not
    expect(bed.fake.messages(1001).map((m) => m.disable_notification)).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
  });

  it("wakes on a new row at once (NOTIFY at commit), without waiting for the poll", async () => {
    const worker = bed.worker({ pollMs: 5_000 });
    worker.start();
    await waitUntil(async () => worker.status().running, "worker running");
    await new Promise((r) => setTimeout(r, 200)); // let it reach its long sleep
    const queuedAt = Date.now();
    await send(1010, "ping");
    const call = await bed.fake.waitFor((c) => c.method === "sendMessage", 3_000);
    expect(call.at - queuedAt).toBeLessThan(1_000);
  });

  it("retries 5xx with backoff and delivers once the Bot API recovers", async () => {
    bed.fake.failNext("sendMessage", { status: 502, description: "Bad Gateway" }, 2);
    const id = await send(1020, "after two failures");
    bed.worker().start();
    await allDelivered(bed.db);
    const calls = bed.fake.callsOf("sendMessage");
    expect(calls.map((c) => c.status)).toEqual([502, 502, 200]);
    // backoff grows: 50 ms, then 100 ms (scaled-down 1 s, 2 s)
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(45);
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(95);
    expect(await row(bed.db, id)).toMatchObject({ status: "sent", outcome: "sent", attempts: 2 });
    expect(bed.fake.messages(1020)).toHaveLength(1);
    const errors = await bed.metrics.telegramErrors.get();
    expect(errors.values.find((v) => v.labels.code === "502")?.value).toBe(2);
  });

  it("keeps retrying while the network is down and delivers when it is back; status shows it", async () => {
    bed.fake.setDown(true);
    const worker = bed.worker();
    const id = await send(1030, "through the outage");
    worker.start();
    await waitUntil(async () => (await row(bed.db, id)).attempts >= 4, "4 failed attempts");
    expect(worker.status()).toMatchObject({ state: "degraded" });
    expect(worker.status().lastError?.code).toBe("network");
    bed.fake.setDown(false);
    await allDelivered(bed.db);
    expect(bed.fake.messages(1030).map((m) => m.text)).toEqual(["through the outage"]);
    await worker.housekeeping();
    expect(worker.status()).toMatchObject({ state: "ok", depth: 0 });
  });

  it("times out a call that hangs and retries it", async () => {
    bed.fake.setDown(true, "hang");
    const id = await send(1040, "hung once");
    bed.worker({ callTimeoutMs: 200 }).start();
    await waitUntil(async () => (await row(bed.db, id)).attempts >= 1, "a timed-out attempt");
    bed.fake.setDown(false);
    await allDelivered(bed.db);
    expect(bed.fake.messages(1040).map((m) => m.text)).toEqual(["hung once"]);
  });

  it("resends as plain text when Telegram cannot parse the HTML", async () => {
    bed.fake.failNext("sendMessage", {
      status: 400,
      description: 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
    });
    const id = await enqueue(bed.db, {
      kind: "alert",
      priority: PRIORITY.NEW_ALERT,
      chat: { id: 1050 },
      method: "sendMessage",
      parts: [b("disk full"), " on ", code("db-1"), " <5%"],
      silent: false,
    });
    bed.worker().start();
    await allDelivered(bed.db);
    const [first, second] = bed.fake.callsOf("sendMessage");
    expect(first?.params.parse_mode).toBe("HTML");
    expect(second?.params.parse_mode).toBeUndefined();
    expect(second?.params.text).toBe("disk full on db-1 <5%");
    expect(bed.fake.messages(1050).map((m) => m.text)).toEqual(["disk full on db-1 <5%"]);
    expect(await row(bed.db, id)).toMatchObject({
      status: "sent",
      outcome: "plain",
      as_plain: true,
      attempts: 0,
    });
  });

  it("counts 'message is not modified' as delivered", async () => {
    await send(1060, "same", { messageRef: "alert:same", replyMarkup: keyboard("Ack") });
    const worker = bed.worker();
    worker.start();
    await allDelivered(bed.db);
    const id = await enqueue(bed.db, {
      kind: "alert_edit",
      priority: PRIORITY.ALERT_EDIT,
      chat: { id: 1060 },
      method: "editMessageText",
      targetRef: "alert:same",
      parts: ["same"],
      replyMarkup: keyboard("Ack"),
    });
    await allDelivered(bed.db);
    const edits = bed.fake.callsOf("editMessageText");
    expect(edits).toHaveLength(1);
    expect((edits[0]!.response as { description?: string }).description).toMatch(/not modified/);
    expect(await row(bed.db, id)).toMatchObject({ status: "sent", outcome: "not_modified" });
    expect(worker.status().state).toBe("ok");
  });

  it("follows a group's migration to a supergroup and remembers it", async () => {
    const oldId = -555;
    const newId = -1_000_000_000_555;
    bed.fake.migrateChat(oldId, newId);
    const a = await send(oldId, "first");
    const c = await send(oldId, "second");
    bed.worker().start();
    await allDelivered(bed.db);
    expect(bed.fake.messages(newId).map((m) => m.text)).toEqual(["first", "second"]);
    const migrateErrors = bed.fake.calls.filter((call) => call.status === 400);
    expect(migrateErrors).toHaveLength(1); // the queued second row was rewritten, not refused again
    expect((await row(bed.db, a)).chat_id).toBe(String(newId));
    expect((await row(bed.db, c)).chat_id).toBe(String(newId));
    const { rows } = await bed.db.query("select from_chat_id, to_chat_id from chat_migrations");
    expect(rows).toEqual([{ from_chat_id: String(oldId), to_chat_id: String(newId) }]);
    // later messages for the old id go straight to the new one
    const later = await send(oldId, "third");
    expect((await row(bed.db, later)).chat_id).toBe(String(newId));
    await allDelivered(bed.db);
    expect(bed.fake.calls.filter((call) => call.status === 400)).toHaveLength(1);
    expect(bed.fake.messages(newId).map((m) => m.text)).toEqual(["first", "second", "third"]);
  });

  it("retries a chat that blocked the bot slowly, never drops its rows, and reports it", async () => {
    bed.fake.blockBot(1070);
    const blocked = [await send(1070, "one"), await send(1070, "two")];
    await send(1071, "elsewhere");
    const stuck: StuckRow[] = [];
    const worker = bed.worker({
      retry: { slowDelayMs: 400 },
      stuckAfterMs: 300,
      onStuck: async (rows) => {
        stuck.push(...rows);
      },
    });
    worker.start();
    await waitUntil(() => bed.fake.messages(1071).length === 1, "other chat delivered");
    await waitUntil(async () => (await row(bed.db, blocked[0]!)).attempts >= 2, "two slow attempts");
    await worker.housekeeping();
    expect(worker.status()).toMatchObject({ state: "degraded", unreachableChats: 1 });
    expect(worker.status().lastError?.code).toBe("403");
    // slowly: one call per slow period for the whole chat, not one per row
    const tries = bed.fake.callsOf("sendMessage").filter((c) => c.params.chat_id === 1070);
    expect(tries.length).toBeGreaterThanOrEqual(2);
    for (let n = 1; n < tries.length; n++)
      expect(tries[n]!.at - tries[n - 1]!.at).toBeGreaterThanOrEqual(390);
    // both rows got their delivery alert, once
    await waitUntil(() => stuck.length >= 2, "delivery alert");
    expect(stuck.map((s) => s.id).sort()).toEqual(blocked);
    expect((await row(bed.db, blocked[1]!)).status).toBe("pending");
    bed.fake.unblockBot(1070);
    await allDelivered(bed.db);
    expect(bed.fake.messages(1070).map((m) => m.text)).toEqual(["one", "two"]);
    expect(stuck).toHaveLength(2);
    await worker.housekeeping();
    expect(worker.status()).toMatchObject({ state: "ok", unreachableChats: 0 });
  });

  it("honours a 429's retry_after for that chat while other chats go on", async () => {
    bed.fake.failNext("sendMessage", {
      status: 429,
      description: "Too Many Requests: retry after 1",
      parameters: { retry_after: 1 },
    });
    const first = await send(1080, "a1");
    const worker = bed.worker();
    worker.start();
    const refused = await bed.fake.waitFor((c) => c.status === 429);
    await send(1080, "a2");
    await send(1081, "b1");
    await waitUntil(() => bed.fake.messages(1081).length === 1, "other chat delivered during the wait");
    expect(bed.fake.messages(1080)).toHaveLength(0);
    await allDelivered(bed.db);
    const next = bed.fake
      .callsOf("sendMessage")
      .filter((c) => c.params.chat_id === 1080 && c.seq > refused.seq);
    expect(next[0]!.at - refused.at).toBeGreaterThanOrEqual(990);
    expect(bed.fake.messages(1080).map((m) => m.text)).toEqual(["a1", "a2"]);
    expect((await row(bed.db, first)).attempts).toBe(0); // a rate limit is not a failure
    expect(bed.fake.rateLimitViolations()).toEqual([]);
  });

  it("coalesces quick edits of one message: the last text shows, with fewer calls than edits", async () => {
    await send(1090, "firing ×1", { messageRef: "alert:c", replyMarkup: keyboard("Ack") });
    // one message per 250 ms in this chat, so edits pile up while the chat waits
    const worker = bed.worker({ pacing: { private: { limit: 4, periodMs: 1000, burst: 1 } } });
    worker.start();
    await allDelivered(bed.db);
    const ids: number[] = [];
    for (let n = 2; n <= 11; n++) {
      ids.push(
        await enqueue(bed.db, {
          kind: "alert_edit",
          priority: PRIORITY.ALERT_EDIT,
          chat: { id: 1090 },
          method: "editMessageText",
          targetRef: "alert:c",
          parts: [`firing ×${n}`],
          replyMarkup: keyboard("Ack"),
        }),
      );
    }
    await allDelivered(bed.db);
    const [message] = bed.fake.messages(1090);
    expect(message?.text).toBe("firing ×11");
    expect(bed.fake.messages(1090)).toHaveLength(1);
    const edits = okCalls(bed, "editMessageText", 1090);
    expect(edits.length).toBeGreaterThanOrEqual(1);
    expect(edits.length).toBeLessThan(10);
    const { rows } = await bed.db.query<{ status: string; n: number }>(
      "select status, count(*)::int as n from outbox where id = any($1) group by status order by status",
      [ids],
    );
    // nothing discarded: every edit row is either delivered or superseded by a newer one
    expect(rows.reduce((sum, r) => sum + r.n, 0)).toBe(10);
    expect(rows.map((r) => r.status).every((s) => s === "sent" || s === "superseded")).toBe(true);
  });

  it("folds edits into a send that has not gone out yet", async () => {
    const sendId = await send(1100, "v1", { messageRef: "alert:f", replyMarkup: keyboard("Ack") });
    const e1 = await enqueue(bed.db, {
      kind: "alert_edit",
      priority: PRIORITY.ALERT_EDIT,
      chat: { id: 1100 },
      method: "editMessageText",
      targetRef: "alert:f",
      parts: ["v2"],
      replyMarkup: keyboard("Ack"),
    });
    const e2 = await enqueue(bed.db, {
      kind: "alert_edit",
      priority: PRIORITY.ALERT_EDIT,
      chat: { id: 1100 },
      method: "editMessageReplyMarkup",
      targetRef: "alert:f",
      replyMarkup: null,
    });
    bed.worker().start();
    await allDelivered(bed.db);
    expect(bed.fake.callsOf("sendMessage")).toHaveLength(1);
    expect(bed.fake.callsOf("editMessageText")).toHaveLength(0);
    const [message] = bed.fake.messages(1100);
    expect(message?.text).toBe("v2");
    expect(message?.reply_markup).toBeUndefined();
    expect(await row(bed.db, e1)).toMatchObject({ status: "superseded", superseded_by: sendId });
    expect(await row(bed.db, e2)).toMatchObject({
      status: "superseded",
      outcome: "folded",
      superseded_by: sendId,
    });
  });

  it("holds an edit until its message is sent, even when that send is in another worker's hands", async () => {
    const sendId = await send(1110, "original", { messageRef: "alert:w" });
    // another (dead) worker claimed the send: its lease runs 500 ms more
    await bed.db.query(
      "update outbox set claimed_by = 'dead#1', claimed_until = now() + interval '500 milliseconds' where id = $1",
      [sendId],
    );
    const editId = await enqueue(bed.db, {
      kind: "alert_edit",
      priority: PRIORITY.ALERT_EDIT,
      chat: { id: 1110 },
      method: "editMessageText",
      targetRef: "alert:w",
      parts: ["edited"],
    });
    bed.worker().start();
    await allDelivered(bed.db);
    const calls = bed.fake.calls.filter((c) => c.params.chat_id === 1110).map((c) => c.method);
    expect(calls).toEqual(["sendMessage", "editMessageText"]);
    expect(bed.fake.messages(1110).map((m) => m.text)).toEqual(["edited"]);
    expect(await row(bed.db, editId)).toMatchObject({ status: "sent", outcome: "sent" });
  });

  it("sends a full edit anew when its message is gone, and finishes a buttons-only one", async () => {
    await send(1120, "v1", { messageRef: "alert:g" });
    const worker = bed.worker();
    worker.start();
    await allDelivered(bed.db);
    await enqueue(bed.db, {
      kind: "alert_edit",
      priority: PRIORITY.ALERT_EDIT,
      chat: { id: 1120 },
      method: "deleteMessage",
      targetRef: "alert:g",
    });
    await allDelivered(bed.db);
    const markupOnly = await enqueue(bed.db, {
      kind: "alert_edit",
      priority: PRIORITY.ALERT_EDIT,
      chat: { id: 1120 },
      method: "editMessageReplyMarkup",
      targetRef: "alert:g",
      replyMarkup: null,
    });
    await allDelivered(bed.db);
    expect(await row(bed.db, markupOnly)).toMatchObject({ status: "sent", outcome: "target_missing" });
    const full = await enqueue(bed.db, {
      kind: "alert_edit",
      priority: PRIORITY.ALERT_EDIT,
      chat: { id: 1120 },
      method: "editMessageText",
      targetRef: "alert:g",
      parts: ["v2"],
    });
    await allDelivered(bed.db);
    expect(await row(bed.db, full)).toMatchObject({ status: "sent", method: "sendMessage", outcome: "sent" });
    const visible = bed.fake.messages(1120).filter((m) => !m.deleted);
    expect(visible.map((m) => [m.text, m.disable_notification])).toEqual([["v2", true]]);
    // the name now points at the new message: a later edit lands there
    await enqueue(bed.db, {
      kind: "alert_edit",
      priority: PRIORITY.ALERT_EDIT,
      chat: { id: 1120 },
      method: "editMessageText",
      targetRef: "alert:g",
      parts: ["v3"],
    });
    await allDelivered(bed.db);
    expect(
      bed.fake
        .messages(1120)
        .filter((m) => !m.deleted)
        .map((m) => m.text),
    ).toEqual(["v3"]);
  });

  it("cuts a long text under 4096 visible characters without breaking its markup", async () => {
    const long = `${"word <&> ".repeat(600)}`; // 5400 visible characters, escaped in HTML
    await enqueue(bed.db, {
      kind: "alert",
      priority: PRIORITY.NEW_ALERT,
      chat: { id: 1130 },
      method: "sendMessage",
      parts: [b("Title"), "\n", code(long), "\n", long],
      silent: false,
    });
    bed.worker().start();
    await allDelivered(bed.db);
    const [call] = bed.fake.callsOf("sendMessage");
    expect(call?.status).toBe(200);
    const [message] = bed.fake.messages(1130);
    expect(message?.text?.length).toBeLessThanOrEqual(4096);
    expect(message?.text?.length).toBeGreaterThan(4000);
    expect(message?.text).toMatch(/truncated\)$/);
    expect(message?.entities.map((e) => e.type)).toEqual(["bold", "code"]);
  });

  it("sends into a forum topic", async () => {
    await enqueue(bed.db, {
      kind: "alert",
      priority: PRIORITY.NEW_ALERT,
      chat: { id: -1_000_000_000_777, thread: 42 },
      method: "sendMessage",
      parts: ["in the topic"],
      silent: false,
    });
    bed.worker().start();
    await allDelivered(bed.db);
    expect(bed.fake.callsOf("sendMessage")[0]?.params.message_thread_id).toBe(42);
    expect(bed.fake.messages(-1_000_000_000_777)[0]).toMatchObject({
      text: "in the topic",
      message_thread_id: 42,
    });
  });

  it("sends a document with a caption, and edits a message's buttons", async () => {
    await send(1140, "approve?", { messageRef: "approval:1", replyMarkup: keyboard("Approve") });
    await enqueue(bed.db, {
      kind: "approval_args",
      priority: PRIORITY.APPROVAL,
      chat: { id: 1140 },
      method: "sendDocument",
      file: { data: Buffer.from('{"cmd":"ls"}'), filename: "args-1.json" },
      caption: [b("Arguments"), " in full"],
      silent: true,
    });
    const worker = bed.worker();
    worker.start();
    await allDelivered(bed.db);
    await enqueue(bed.db, {
      kind: "approval_outcome",
      priority: PRIORITY.APPROVAL,
      chat: { id: 1140 },
      method: "editMessageReplyMarkup",
      targetRef: "approval:1",
      replyMarkup: null,
    });
    await allDelivered(bed.db);
    const messages = bed.fake.messages(1140);
    const doc = messages.find((m) => m.document);
    expect(doc?.document?.file_name).toBe("args-1.json");
    expect(doc?.document?.content?.toString()).toBe('{"cmd":"ls"}');
    expect(doc?.caption).toBe("Arguments in full");
    expect(messages.find((m) => m.text === "approve?")?.reply_markup).toBeUndefined();
  });

  it("keeps a row Telegram refuses as a bug, retrying it slowly", async () => {
    bed.fake.failNext("sendMessage", { status: 400, description: "Bad Request: BUTTON_DATA_INVALID" }, 2);
    const id = await send(1150, "bad buttons");
    const worker = bed.worker({ retry: { slowDelayMs: 200 } });
    worker.start();
    await allDelivered(bed.db);
    expect(await row(bed.db, id)).toMatchObject({ status: "sent", attempts: 2 });
    const calls = bed.fake.callsOf("sendMessage");
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(190);
  });

  it("pauses on a rejected token and delivers when it works again", async () => {
    bed.fake.failNext("*", { status: 401, description: "Unauthorized" });
    await send(1160, "after 401");
    const worker = bed.worker();
    worker.start();
    await waitUntil(() => worker.status().lastError?.code === "401", "the 401 noted");
    expect(worker.status().state).toBe("degraded");
    await allDelivered(bed.db);
    const [refused, ok] = bed.fake.callsOf("sendMessage");
    expect(ok!.at - refused!.at).toBeGreaterThanOrEqual(290);
  });

  it("survives its database connections being cut, LISTEN included, and keeps delivering", async () => {
    const worker = bed.worker({ pollMs: 300 });
    worker.start();
    await send(1170, "before");
    await allDelivered(bed.db);
    await bed.db.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    );
    await send(1170, "after");
    await allDelivered(bed.db);
    // and NOTIFY works again once the LISTEN connection is back
    await waitUntil(
      async () =>
        (
          await bed.db.query<{ n: number }>(
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and query ilike 'listen%'",
          )
        ).rows[0]!.n > 0,
      "LISTEN restored",
    );
    expect(bed.fake.messages(1170).map((m) => m.text)).toEqual(["before", "after"]);
    await worker.housekeeping();
    expect(worker.status().state).toBe("ok");
  });

  it("stops cleanly: no new claims, calls in flight finish and are recorded", async () => {
    for (let n = 0; n < 20; n++) await send(1200 + n, `m${n}`);
    const worker = bed.worker();
    worker.start();
    await bed.fake.waitFor((c) => c.method === "sendMessage");
    await worker.stop();
    const { rows } = await bed.db.query<{ n: number }>(
      "select count(*)::int as n from outbox where claimed_until > now() and status = 'pending'",
    );
    expect(rows[0]!.n).toBe(0);
    const sent = bed.fake.callsOf("sendMessage").filter((c) => c.status === 200).length;
    const { rows: done } = await bed.db.query<{ n: number }>(
      "select count(*)::int as n from outbox where status = 'sent'",
    );
    expect(done[0]!.n).toBe(sent);
    expect(worker.status().running).toBe(false);
  });
});
