import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { b, code, link } from "../../src/bot/format/index.ts";
import { enqueue, pruneDelivered, renderPayload } from "../../src/delivery/outbox.ts";
import { PRIORITY } from "../../src/delivery/types.ts";
import { inTransaction } from "../../src/store/pool.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

const keyboard = (label: string) => ({
  inline_keyboard: [[{ text: label, callback_data: `al:ack:${label}` }]],
});

describe("outbox enqueue", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => t.drop());
  beforeEach(async () => {
    await t.db.query("truncate outbox, telegram_messages, chat_migrations, delivery_chats restart identity");
  });

  const rowsOf = async () =>
    (
      await t.db.query(
        "select id, method, status, outcome, priority, payload, superseded_by, chat_id, thread_id from outbox order by id",
      )
    ).rows;

  it("renders redacted, escaped HTML and its plain twin at enqueue time", () => {
    const payload = renderPayload({
      kind: "approval_prompt",
      priority: PRIORITY.APPROVAL,
      chat: { id: 1 },
      method: "sendMessage",
      parts: [
        b("exec_command"),
        " ",
        code("curl -H 'Authorization: Bearer abcdef0123456789xyz' <url>"),
        " password=hunter2",
      ],
      silent: false,
    });
    expect(payload.html).toBe(
      "<b>exec_command</b> <code>curl -H 'Authorization: Bearer [REDACTED]' &lt;url&gt;</code> password=[REDACTED]",
    );
    expect(payload.plain).toBe(
      "exec_command curl -H 'Authorization: Bearer [REDACTED]' <url> password=[REDACTED]",
    );
    expect(payload.silent).toBe(false);
    // a caption is cut at 1024 visible characters, the plain one too
    const doc = renderPayload({
      kind: "approval_args",
      priority: PRIORITY.APPROVAL,
      chat: { id: 1 },
      method: "sendDocument",
      file: { data: Buffer.from("{}"), filename: "args.json" },
      caption: [b("x".repeat(3000))],
      silent: true,
    });
    expect(doc.plain?.length).toBeLessThanOrEqual(1024);
    expect(doc.html?.startsWith("<b>")).toBe(true);
    expect(doc.file).toEqual({ base64: Buffer.from("{}").toString("base64"), filename: "args.json" });
    // a custom redactor (the config's filter_sensitive) replaces the default
    const custom = renderPayload(
      { kind: "x", priority: 1, chat: { id: 1 }, method: "sendMessage", parts: ["token=abc"], silent: true },
      { redact: (text) => text.replace("abc", "***") },
    );
    expect(custom.html).toBe("token=***");
    expect(
      renderPayload({
        kind: "x",
        priority: 1,
        chat: { id: 1 },
        method: "sendMessage",
        parts: [link("https://example.com/x?a=1&b=2", "dash")],
        silent: true,
      }).html,
    ).toBe('<a href="https://example.com/x?a=1&amp;b=2">dash</a>');
  });

  it("commits with the caller's transaction, and not at all when it rolls back", async () => {
    await expect(
      inTransaction(t.db, async (client) => {
        await enqueue(client, {
          kind: "alert",
          priority: 1,
          chat: { id: 5 },
          method: "sendMessage",
          parts: ["a"],
          silent: false,
        });
        throw new Error("state change failed");
      }),
    ).rejects.toThrow(/state change failed/);
    expect(await rowsOf()).toEqual([]);
    await inTransaction(t.db, (client) =>
      enqueue(client, {
        kind: "alert",
        priority: 1,
        chat: { id: 5, thread: 9 },
        method: "sendMessage",
        parts: ["a"],
        silent: false,
      }),
    );
    expect(await rowsOf()).toMatchObject([{ chat_id: "5", thread_id: 9, status: "pending" }]);
  });

  it("merges pending edits of one message: the newest content wins, older rows are superseded", async () => {
    // the message was sent already
    await t.db.query("insert into telegram_messages (ref, chat_id, message_id) values ('alert:m', '7', 11)");
    const edit = (n: number) =>
      enqueue(t.db, {
        kind: "alert_edit",
        priority: PRIORITY.ALERT_EDIT,
        chat: { id: 7 },
        method: "editMessageText",
        targetRef: "alert:m",
        parts: [`×${n}`],
        replyMarkup: keyboard("Ack"),
      });
    const first = await edit(1);
    const second = await edit(2);
    // a buttons-only edit on top keeps the newest text
    const third = await enqueue(t.db, {
      kind: "alert_edit",
      priority: PRIORITY.APPROVAL,
      chat: { id: 7 },
      method: "editMessageReplyMarkup",
      targetRef: "alert:m",
      replyMarkup: null,
    });
    const rows = await rowsOf();
    expect(rows.map((r) => [r.id, r.status, r.superseded_by])).toEqual([
      [first, "superseded", second],
      [second, "superseded", third],
      [third, "pending", null],
    ]);
    const last = rows[2]!;
    expect(last.method).toBe("editMessageText");
    expect(last.payload).toMatchObject({ html: "×2", plain: "×2", reply_markup: null });
    expect(last.priority).toBe(PRIORITY.APPROVAL); // the most urgent of what it carries
  });

  it("leaves an edit in flight alone and queues the next one behind it", async () => {
    await t.db.query("insert into telegram_messages (ref, chat_id, message_id) values ('alert:f', '8', 12)");
    const base = {
      kind: "alert_edit",
      priority: PRIORITY.ALERT_EDIT,
      chat: { id: 8 },
      method: "editMessageText",
      targetRef: "alert:f",
    } as const;
    const a = await enqueue(t.db, { ...base, parts: ["a"] });
    await t.db.query(
      "update outbox set claimed_by = 'w#1', claimed_until = now() + interval '1 minute' where id = $1",
      [a],
    );
    const b2 = await enqueue(t.db, { ...base, parts: ["b"] });
    expect((await rowsOf()).map((r) => [r.id, r.status])).toEqual([
      [a, "pending"],
      [b2, "pending"],
    ]);
  });

  it("maps a chat that migrated to its new id at enqueue", async () => {
    await t.db.query("insert into chat_migrations (from_chat_id, to_chat_id) values ('-42', '-100042')");
    await enqueue(t.db, {
      kind: "alert",
      priority: 1,
      chat: { id: -42 },
      method: "sendMessage",
      parts: ["x"],
      silent: false,
    });
    await enqueue(t.db, {
      kind: "alert",
      priority: 1,
      chat: { id: "@ops" },
      method: "sendMessage",
      parts: ["y"],
      silent: false,
    });
    expect((await rowsOf()).map((r) => r.chat_id)).toEqual(["-100042", "@ops"]);
  });

  it("prunes delivered and superseded rows by age, never pending ones", async () => {
    for (const status of ["pending", "sent", "superseded"]) {
      await t.db.query(
        `insert into outbox (kind, priority, chat_id, method, payload, status, created_at)
         values ('x', 1, '1', 'sendMessage', '{}', $1, now() - interval '40 days')`,
        [status],
      );
    }
    expect(await pruneDelivered(t.db, 30 * 24 * 3_600_000)).toBe(2);
    expect((await rowsOf()).map((r) => r.status)).toEqual(["pending"]);
  });
});
