import { Api, GrammyError, InputFile } from "grammy";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeBotApi } from "../../src/telegram-emulator/server.ts";
import type { FakeBotApi, UploadedFile } from "../../src/telegram-emulator/types.ts";

const ALICE = { id: 1001, first_name: "Alice", username: "alice" };
const GROUP = -4_000_000_001;
const SUPERGROUP = -1_002_000_000_001;

let now = 1_700_000_000_000;
let server: FakeBotApi;
let api: Api;

beforeEach(async () => {
  now = 1_700_000_000_000;
  // Pacing is tested in flood.test.ts; here every rule but the rate limits is on.
  server = await startFakeBotApi({ now: () => now, limits: { enforce: false } });
  api = new Api(server.token, { apiRoot: server.apiRoot });
});

afterEach(async () => {
  await server.stop();
});

async function refusal(promise: Promise<unknown>): Promise<GrammyError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GrammyError) return error;
    throw error;
  }
  throw new Error("expected Telegram to refuse the call");
}

describe("sendMessage", () => {
  it("stores the visible text and entities and returns a realistic Message", async () => {
    const sent = await api.sendMessage(ALICE.id, "<b>Disk</b> at <i>91%</i> &amp; rising", {
      parse_mode: "HTML",
      disable_notification: true,
      reply_markup: { inline_keyboard: [[{ text: "Ack", callback_data: "al:ack:abc" }]] },
    });
    expect(sent).toMatchObject({
      message_id: 1,
      from: { id: 123456, is_bot: true },
      chat: { id: ALICE.id, type: "private" },
      date: 1_700_000_000,
      text: "Disk at 91% & rising",
      entities: [
        { type: "bold", offset: 0, length: 4 },
        { type: "italic", offset: 8, length: 3 },
      ],
      reply_markup: { inline_keyboard: [[{ text: "Ack", callback_data: "al:ack:abc" }]] },
    });
    expect(server.messages(ALICE.id)).toEqual([
      expect.objectContaining({
        message_id: 1,
        outgoing: true,
        text: "Disk at 91% & rising",
        source: "<b>Disk</b> at <i>91%</i> &amp; rising",
        parse_mode: "HTML",
        disable_notification: true,
        edited: 0,
        deleted: false,
      }),
    ]);
  });

  it("creates chats of the type their id implies and numbers messages per chat", async () => {
    expect((await api.sendMessage(GROUP, "g")).chat.type).toBe("group");
    expect((await api.sendMessage(SUPERGROUP, "s")).chat.type).toBe("supergroup");
    expect((await api.sendMessage(SUPERGROUP, "s2")).message_id).toBe(2);
    expect((await api.sendMessage(ALICE.id, "p")).message_id).toBe(1);
  });

  it("posts into forum topics", async () => {
    const sent = await api.sendMessage(SUPERGROUP, "in topic", { message_thread_id: 77 });
    expect(sent).toMatchObject({ message_thread_id: 77, is_topic_message: true, chat: { is_forum: true } });
    expect(server.lastMessage(SUPERGROUP)?.message_thread_id).toBe(77);
  });

  it("refuses empty texts: absent, and empty after parsing", async () => {
    expect((await refusal(api.sendMessage(1, ""))).description).toBe("Bad Request: message text is empty");
    expect((await refusal(api.sendMessage(1, "<b> </b>\n", { parse_mode: "HTML" }))).description).toBe(
      "Bad Request: text must be non-empty",
    );
    expect((await refusal(api.raw.sendMessage({ chat_id: 1 } as never))).description).toBe(
      "Bad Request: message text is empty",
    );
    expect((await refusal(api.sendMessage("", "x"))).description).toBe("Bad Request: chat_id is empty");
  });

  it("refuses unparsable HTML with Telegram's wording", async () => {
    const bareLt = await refusal(api.sendMessage(1, "p99 < 5s", { parse_mode: "HTML" }));
    expect(bareLt.error_code).toBe(400);
    expect(bareLt.description).toBe(
      'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 4',
    );
    const unclosed = await refusal(api.sendMessage(1, "<b>alert", { parse_mode: "HTML" }));
    expect(unclosed.description).toBe(
      "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"b\"",
    );
    expect(server.messages(1)).toEqual([]);
  });

  it("measures 4096 after entity parsing", async () => {
    // 5000+ characters of markup around 4000 visible characters is fine...
    const markup = Array.from({ length: 400 }, () => "<b>abcdefghij</b>").join("");
    expect(markup.length).toBeGreaterThan(5000);
    const sent = await api.sendMessage(1, markup, { parse_mode: "HTML" });
    expect(sent.text).toHaveLength(4000);
    // ...4096 visible characters are the limit...
    await expect(
      api.sendMessage(1, `<i>${"x".repeat(4096)}</i>`, { parse_mode: "HTML" }),
    ).resolves.toBeDefined();
    // ...and one more is refused.
    const tooLong = await refusal(api.sendMessage(1, `<i>${"x".repeat(4097)}</i>`, { parse_mode: "HTML" }));
    expect(tooLong.description).toBe("Bad Request: message is too long");
  });

  it("counts code points like Telegram, or UTF-16 units in strict mode", async () => {
    const emoji = "😀".repeat(4096);
    await expect(api.sendMessage(1, emoji)).resolves.toMatchObject({ text: emoji });
    expect((await refusal(api.sendMessage(1, `${emoji}!`))).description).toBe(
      "Bad Request: message is too long",
    );

    const strict = await startFakeBotApi({ lengthUnit: "utf16", limits: { enforce: false } });
    try {
      const strictApi = new Api(strict.token, { apiRoot: strict.apiRoot });
      await expect(strictApi.sendMessage(1, "😀".repeat(2048))).resolves.toBeDefined();
      expect((await refusal(strictApi.sendMessage(1, "😀".repeat(2049)))).description).toBe(
        "Bad Request: message is too long",
      );
    } finally {
      await strict.stop();
    }
  });

  it("checks inline keyboards: callback data is 1..64 bytes, buttons need text and an action", async () => {
    const keyboard = (button: Record<string, unknown>) => ({
      reply_markup: { inline_keyboard: [[button as { text: string; callback_data: string }]] },
    });
    // 32 two-byte characters are 64 bytes: the limit is in bytes.
    await expect(
      api.sendMessage(1, "ok", keyboard({ text: "ok", callback_data: "é".repeat(32) })),
    ).resolves.toBeDefined();
    const tooLong = await refusal(
      api.sendMessage(1, "x", keyboard({ text: "x", callback_data: "a".repeat(65) })),
    );
    expect(tooLong.description).toBe("Bad Request: BUTTON_DATA_INVALID");
    expect(
      (await refusal(api.sendMessage(1, "x", keyboard({ text: "x", callback_data: "é".repeat(33) }))))
        .description,
    ).toBe("Bad Request: BUTTON_DATA_INVALID");
    expect(
      (await refusal(api.sendMessage(1, "x", keyboard({ text: "", callback_data: "a" })))).description,
    ).toBe("Bad Request: inline keyboard button text must be non-empty");
    expect(
      (await refusal(api.sendMessage(1, "x", keyboard({ text: "x", callback_data: "" })))).description,
    ).toBe(
      "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    );
    expect((await refusal(api.sendMessage(1, "x", keyboard({ callback_data: "a" })))).description).toBe(
      "Bad Request: can't parse inline keyboard button: Can't find field \"text\"",
    );
    expect(
      (await refusal(api.sendMessage(1, "x", keyboard({ text: "x", url: "not a url" })))).description,
    ).toBe("Bad Request: inline keyboard button URL 'not a url' is invalid: Wrong HTTP URL");
    expect(server.messages(1)).toHaveLength(1);
  });

  it("stores ForceReply and link preview options as sent", async () => {
    await api.sendMessage(1, "Why?", {
      reply_markup: { force_reply: true, selective: true, input_field_placeholder: "Reason" },
      link_preview_options: { is_disabled: true },
    });
    expect(server.lastMessage(1)).toMatchObject({
      reply_markup: { force_reply: true, selective: true, input_field_placeholder: "Reason" },
      link_preview_options: { is_disabled: true },
    });
  });

  it("replies to messages of the chat", async () => {
    const question = server.injectMessage({ from: ALICE, text: "status?" });
    const questionId = question.message?.message_id ?? 0;
    const reply = await api.sendMessage(ALICE.id, "all green", {
      reply_parameters: { message_id: questionId },
    });
    expect(reply.reply_to_message).toMatchObject({
      message_id: questionId,
      text: "status?",
      from: { id: ALICE.id },
    });
    const missing = await refusal(api.sendMessage(ALICE.id, "x", { reply_parameters: { message_id: 999 } }));
    expect(missing.description).toBe("Bad Request: message to be replied not found");
    const tolerated = await api.sendMessage(ALICE.id, "x", {
      reply_parameters: { message_id: 999, allow_sending_without_reply: true },
    });
    expect(tolerated.reply_to_message).toBeUndefined();
  });
});

describe("editing", () => {
  const keyboard = { inline_keyboard: [[{ text: "Approve", callback_data: "ap:ok:0123456789abcdef" }]] };

  it("edits text in place, counting edits", async () => {
    const sent = await api.sendMessage(GROUP, "<b>firing</b>", {
      parse_mode: "HTML",
      reply_markup: keyboard,
    });
    now += 60_000;
    const edited = await api.editMessageText(GROUP, sent.message_id, "<b>resolved</b>", {
      parse_mode: "HTML",
    });
    expect(edited).toMatchObject({ text: "resolved", edit_date: 1_700_000_060 });
    // Editing the text without reply_markup removes the keyboard, as Telegram does.
    expect(edited).not.toHaveProperty("reply_markup");
    expect(server.messages(GROUP)).toEqual([
      expect.objectContaining({
        message_id: sent.message_id,
        text: "resolved",
        edited: 1,
        edit_date: 1_700_000_060,
      }),
    ]);
    expect(server.lastMessage(GROUP)?.reply_markup).toBeUndefined();
  });

  it("refuses an edit that changes nothing", async () => {
    const sent = await api.sendMessage(GROUP, "<b>x</b>", { parse_mode: "HTML", reply_markup: keyboard });
    const same = await refusal(
      api.editMessageText(GROUP, sent.message_id, "<strong>x</strong>", {
        parse_mode: "HTML",
        reply_markup: keyboard,
      }),
    );
    expect(same.description).toBe(
      "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
    );
    // Same text but different entities, or the keyboard removed, is a modification.
    await expect(
      api.editMessageText(GROUP, sent.message_id, "x", { reply_markup: keyboard }),
    ).resolves.toBeDefined();
    await expect(api.editMessageText(GROUP, sent.message_id, "x")).resolves.toBeDefined();
    expect(server.lastMessage(GROUP)?.edited).toBe(2);
  });

  it("applies the length rules to edits", async () => {
    const sent = await api.sendMessage(GROUP, "short");
    expect((await refusal(api.editMessageText(GROUP, sent.message_id, "y".repeat(4097)))).description).toBe(
      "Bad Request: message is too long",
    );
  });

  it("edits and removes reply markup, refusing no-op changes", async () => {
    const sent = await api.sendMessage(GROUP, "approval", { reply_markup: keyboard });
    expect(
      (await refusal(api.editMessageReplyMarkup(GROUP, sent.message_id, { reply_markup: keyboard })))
        .description,
    ).toMatch(/^Bad Request: message is not modified/);
    const cleared = await api.editMessageReplyMarkup(GROUP, sent.message_id);
    expect(cleared).not.toHaveProperty("reply_markup");
    expect((await refusal(api.editMessageReplyMarkup(GROUP, sent.message_id))).description).toMatch(
      /^Bad Request: message is not modified/,
    );
    const forceReply = await refusal(
      api.editMessageReplyMarkup(GROUP, sent.message_id, { reply_markup: { force_reply: true } as never }),
    );
    expect(forceReply.description).toBe("Bad Request: inline keyboard expected");
  });

  it("refuses edits of missing, deleted or foreign messages", async () => {
    expect((await refusal(api.editMessageText(GROUP, 42, "x"))).description).toBe(
      "Bad Request: message to edit not found",
    );
    const sent = await api.sendMessage(GROUP, "x");
    await api.deleteMessage(GROUP, sent.message_id);
    expect((await refusal(api.editMessageText(GROUP, sent.message_id, "y"))).description).toBe(
      "Bad Request: message to edit not found",
    );
    const incoming = server.injectMessage({ from: ALICE, chat: { id: GROUP }, text: "hi" });
    expect(
      (await refusal(api.editMessageText(GROUP, incoming.message?.message_id ?? 0, "y"))).description,
    ).toBe("Bad Request: message can't be edited");
  });

  it("edits captions of documents but not text of them", async () => {
    const sent = await api.sendDocument(GROUP, new InputFile(Buffer.from("{}"), "a.json"), {
      caption: "args",
    });
    expect((await refusal(api.editMessageText(GROUP, sent.message_id, "y"))).description).toBe(
      "Bad Request: there is no text in the message to edit",
    );
    await expect(
      api.editMessageCaption(GROUP, sent.message_id, { caption: "args (redacted)" }),
    ).resolves.toMatchObject({
      caption: "args (redacted)",
    });
  });
});

describe("deleteMessage", () => {
  it("marks the message deleted once, within 48 hours", async () => {
    const first = await api.sendMessage(1, "a");
    await expect(api.deleteMessage(1, first.message_id)).resolves.toBe(true);
    expect(server.lastMessage(1)).toMatchObject({ deleted: true, text: "a" });
    expect((await refusal(api.deleteMessage(1, first.message_id))).description).toBe(
      "Bad Request: message to delete not found",
    );
    const second = await api.sendMessage(1, "b");
    now += 48 * 60 * 60 * 1000;
    expect((await refusal(api.deleteMessage(1, second.message_id))).description).toBe(
      "Bad Request: message can't be deleted",
    );
  });
});

describe("files", () => {
  it("receives a multipart document byte for byte", async () => {
    // Binary content that contains CRLF and boundary-like bytes must survive the upload.
    const bytes = Buffer.concat([
      Buffer.from("\r\n------not-a-boundary\r\n"),
      Buffer.from([0, 255, 13, 10, 45, 45]),
    ]);
    const sent = await api.sendDocument(SUPERGROUP, new InputFile(bytes, "args-0123456789abcdef.json"), {
      caption: "<b>Full arguments</b>",
      parse_mode: "HTML",
      message_thread_id: 5,
    });
    expect(sent.document).toMatchObject({
      file_name: "args-0123456789abcdef.json",
      mime_type: "application/json",
      file_size: bytes.length,
    });
    expect(sent).toMatchObject({
      caption: "Full arguments",
      caption_entities: [{ type: "bold", offset: 0, length: 14 }],
    });
    const stored = server.lastMessage(SUPERGROUP);
    expect(stored?.document?.content?.equals(bytes)).toBe(true);
    expect(stored).toMatchObject({ caption: "Full arguments", message_thread_id: 5 });
    const call = server.callsOf("sendDocument")[0];
    const document = call?.params.document as UploadedFile;
    expect(document).toMatchObject({ filename: "args-0123456789abcdef.json", size: bytes.length });
    expect(call?.params).toMatchObject({ chat_id: SUPERGROUP, message_thread_id: 5, parse_mode: "HTML" });
  });

  it("sends photos, reads PNG dimensions and limits captions to 1024", async () => {
    const png = Buffer.alloc(33);
    png.writeUInt32BE(0x89504e47, 0);
    png.writeUInt32BE(0x0d0a1a0a, 4);
    png.writeUInt32BE(640, 16);
    png.writeUInt32BE(480, 20);
    const sent = await api.sendPhoto(1, new InputFile(png, "chart.png"), { caption: "c".repeat(1024) });
    expect(sent.photo?.[0]).toMatchObject({ width: 640, height: 480, file_size: 33 });
    const tooLong = await refusal(
      api.sendPhoto(1, new InputFile(png, "chart.png"), { caption: "c".repeat(1025) }),
    );
    expect(tooLong.description).toBe("Bad Request: message caption is too long");
    // A file_id Telegram gave out can be sent again.
    await expect(api.sendPhoto(1, sent.photo?.[0]?.file_id ?? "")).resolves.toBeDefined();
    expect((await refusal(api.sendPhoto(1, "no-such-file-id"))).description).toBe(
      "Bad Request: wrong file identifier/HTTP URL specified",
    );
  });
});

describe("callback queries", () => {
  it("answers an injected query once", async () => {
    const sent = await api.sendMessage(ALICE.id, "approve?", {
      reply_markup: { inline_keyboard: [[{ text: "Approve", callback_data: "ap:ok:x" }]] },
    });
    const update = server.pressButton({
      from: ALICE,
      chatId: ALICE.id,
      messageId: sent.message_id,
      text: "Approve",
    });
    const query = update.callback_query;
    expect(query).toMatchObject({
      from: { id: ALICE.id },
      data: "ap:ok:x",
      message: { message_id: sent.message_id },
    });
    const id = query?.id ?? "";
    await expect(api.answerCallbackQuery(id, { text: "Approved" })).resolves.toBe(true);
    expect(server.callbackAnswer(id)).toMatchObject({ text: "Approved" });
    const twice = await refusal(api.answerCallbackQuery(id));
    expect(twice.description).toBe(
      "Bad Request: query is too old and response timeout expired or query ID is invalid",
    );
    expect((await refusal(api.answerCallbackQuery("12345"))).error_code).toBe(400);
  });

  it("limits the answer text to 200 characters", async () => {
    const sent = await api.sendMessage(1, "x", {
      reply_markup: { inline_keyboard: [[{ text: "b", callback_data: "d" }]] },
    });
    const { callback_query: query } = server.injectCallbackQuery({
      from: ALICE,
      chatId: 1,
      messageId: sent.message_id,
      data: "stale:data",
    });
    expect(
      (await refusal(api.answerCallbackQuery(query?.id ?? "", { text: "t".repeat(201) }))).description,
    ).toBe("Bad Request: MESSAGE_TOO_LONG");
    await expect(
      api.answerCallbackQuery(query?.id ?? "", { text: "t".repeat(200), show_alert: true }),
    ).resolves.toBe(true);
    expect(server.callbackAnswer(query?.id ?? "")).toMatchObject({ show_alert: true });
  });
});

describe("setMyCommands", () => {
  it("stores commands per scope and language", async () => {
    await api.setMyCommands([{ command: "health", description: "Health of the fleet" }]);
    await api.setMyCommands([{ command: "health", description: "Здоровье" }], { language_code: "ru" });
    await api.setMyCommands([{ command: "mode_set", description: "Pin a mode" }], {
      scope: { type: "chat", chat_id: 1001 },
    });
    expect(server.myCommands()).toEqual([{ command: "health", description: "Health of the fleet" }]);
    expect(server.myCommands({ language_code: "ru" })).toEqual([
      { command: "health", description: "Здоровье" },
    ]);
    expect(server.myCommands({ scope: { type: "chat", chat_id: 1001 } })).toEqual([
      { command: "mode_set", description: "Pin a mode" },
    ]);
    expect(await api.getMyCommands({ language_code: "ru" })).toEqual([
      { command: "health", description: "Здоровье" },
    ]);
  });

  it("refuses invalid commands and descriptions", async () => {
    const invalid = [
      [{ command: "Health", description: "x" }, "Bad Request: BOT_COMMAND_INVALID"],
      [{ command: "x".repeat(33), description: "x" }, "Bad Request: command length must not exceed 32"],
      [{ command: "ok", description: " " }, "Bad Request: command description must be non-empty"],
      [
        { command: "ok", description: "d".repeat(257) },
        "Bad Request: command description length must not exceed 256",
      ],
    ] as const;
    for (const [command, description] of invalid) {
      expect((await refusal(api.setMyCommands([command]))).description).toBe(description);
    }
    expect(server.myCommands()).toBeUndefined();
  });
});

describe("chat-level refusals", () => {
  it("reports a migrated group with the new id, which then works", async () => {
    await api.sendMessage(GROUP, "before");
    server.migrateChat(GROUP, SUPERGROUP);
    const migrated = await refusal(api.sendMessage(GROUP, "after"));
    expect(migrated.error_code).toBe(400);
    expect(migrated.description).toBe("Bad Request: group chat was upgraded to a supergroup chat");
    expect(migrated.parameters.migrate_to_chat_id).toBe(SUPERGROUP);
    await expect(
      api.sendMessage(migrated.parameters.migrate_to_chat_id ?? 0, "after"),
    ).resolves.toMatchObject({
      chat: { type: "supergroup" },
    });
  });

  it("reports a bot blocked by the user with 403 until unblocked", async () => {
    server.blockBot(ALICE.id);
    const blocked = await refusal(api.sendMessage(ALICE.id, "hello"));
    expect(blocked.error_code).toBe(403);
    expect(blocked.description).toBe("Forbidden: bot was blocked by the user");
    server.blockBot(GROUP);
    expect((await refusal(api.sendMessage(GROUP, "x"))).description).toBe(
      "Forbidden: bot was kicked from the group chat",
    );
    server.unblockBot(ALICE.id);
    await expect(api.sendMessage(ALICE.id, "hello")).resolves.toBeDefined();
  });

  it("does not find chats by unknown username", async () => {
    expect((await refusal(api.sendMessage("@nobody", "x"))).description).toBe("Bad Request: chat not found");
  });
});
