import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Api, Bot, GrammyError } from "grammy";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeBotApi } from "../../src/telegram-emulator/server.ts";
import type { FakeBotApi, Update } from "../../src/telegram-emulator/types.ts";

const ALICE = { id: 1001, first_name: "Alice", username: "alice" };
const OPS = { id: -1_001_234_567_890, title: "ops" };

let server: FakeBotApi;
let api: Api;

beforeEach(async () => {
  server = await startFakeBotApi({ longPollMaxMs: 10_000 });
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

describe("injected updates", () => {
  it("gives commands bot_command entities and private chats by default", () => {
    const update = server.injectMessage({ from: ALICE, text: "/silence@pitwall_test_bot disk 1h" });
    expect(update.message).toMatchObject({
      message_id: 1,
      from: { id: ALICE.id, is_bot: false, first_name: "Alice", username: "alice" },
      chat: { id: ALICE.id, type: "private", first_name: "Alice" },
      text: "/silence@pitwall_test_bot disk 1h",
      entities: [{ type: "bot_command", offset: 0, length: 25 }],
    });
  });

  it("builds group messages, topic messages and replies", async () => {
    const prompt = await api.sendMessage(OPS.id, "Reason?", {
      reply_markup: { force_reply: true, selective: true },
    });
    const reply = server.injectMessage({
      from: ALICE,
      chat: { id: OPS.id, title: OPS.title },
      text: "too risky",
      replyTo: prompt.message_id,
      threadId: 9,
    });
    expect(reply.message).toMatchObject({
      chat: { id: OPS.id, type: "supergroup", title: "ops", is_forum: true },
      message_thread_id: 9,
      is_topic_message: true,
      reply_to_message: { message_id: prompt.message_id, text: "Reason?", from: { is_bot: true } },
    });
    expect(() => server.injectMessage({ from: ALICE, text: "x", replyTo: 404 })).toThrow(/does not exist/);
  });
});

describe("getUpdates", () => {
  it("confirms updates with offset and forgets them for good", async () => {
    const ids = ["/a", "/b", "/c"].map((text) => server.injectMessage({ from: ALICE, text }).update_id);
    expect((await api.getUpdates()).map((update) => update.update_id)).toEqual(ids);
    expect((await api.getUpdates({ offset: ids[1] })).map((update) => update.update_id)).toEqual(
      ids.slice(1),
    );
    // The first update is gone even when asking from the start again.
    expect((await api.getUpdates()).map((update) => update.update_id)).toEqual(ids.slice(1));
    expect((await api.getUpdates({ limit: 1 })).map((update) => update.update_id)).toEqual([ids[1]]);
    expect(await api.getUpdates({ offset: (ids[2] ?? 0) + 1 })).toEqual([]);
    expect(server.pendingUpdates()).toEqual([]);
  });

  it("keeps only the last updates for a negative offset", async () => {
    const ids = ["1", "2", "3"].map((text) => server.injectMessage({ from: ALICE, text }).update_id);
    expect((await api.getUpdates({ offset: -1 })).map((update) => update.update_id)).toEqual([ids[2]]);
    expect(server.pendingUpdates()).toHaveLength(1);
  });

  it("wakes a long poll as soon as an update is injected", async () => {
    const started = Date.now();
    const poll = api.getUpdates({ timeout: 30 });
    await server.waitForLongPoll();
    const injected = server.injectMessage({ from: ALICE, text: "/health" });
    const updates = await poll;
    expect(updates.map((update) => update.update_id)).toEqual([injected.update_id]);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("answers an idle long poll with [] after its (capped) timeout", async () => {
    const quick = await startFakeBotApi({ longPollMaxMs: 50 });
    try {
      const quickApi = new Api(quick.token, { apiRoot: quick.apiRoot });
      await expect(quickApi.getUpdates({ timeout: 30 })).resolves.toEqual([]);
    } finally {
      await quick.stop();
    }
  });

  it("terminates the older of two concurrent pollers with 409", async () => {
    const first = refusal(api.getUpdates({ timeout: 30 }));
    await server.waitForLongPoll();
    const second = new Api(server.token, { apiRoot: server.apiRoot }).getUpdates({ timeout: 30 });
    const conflict = await first;
    expect(conflict.error_code).toBe(409);
    expect(conflict.description).toBe(
      "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    );
    server.injectMessage({ from: ALICE, text: "/start" });
    await expect(second).resolves.toHaveLength(1);
    expect(server.callsOf("getUpdates").map((call) => call.status)).toEqual([409, 200]);
  });

  it("filters by allowed_updates, remembered across calls, [] restoring the default", async () => {
    await api.getUpdates({ allowed_updates: ["callback_query"] });
    server.injectMessage({ from: ALICE, text: "ignored" });
    expect(await api.getUpdates()).toEqual([]);
    await api.getUpdates({ allowed_updates: [] });
    server.injectMessage({ from: ALICE, text: "seen" });
    expect((await api.getUpdates()).map((update) => update.message?.text)).toEqual(["seen"]);
  });
});

describe("webhooks", () => {
  let hook: Server;
  let hookUrl: string;
  let received: Array<{ headers: IncomingHttpHeaders; update: Update }>;
  let answers: Array<{ status: number; body?: unknown }>;

  beforeEach(async () => {
    received = [];
    answers = [];
    hook = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        received.push({
          headers: request.headers,
          update: JSON.parse(Buffer.concat(chunks).toString("utf8")),
        });
        const answer = answers.shift() ?? { status: 200 };
        response.writeHead(answer.status, { "content-type": "application/json" });
        response.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/telegram`;
  });

  afterEach(async () => {
    hook.closeAllConnections();
    await new Promise((resolve) => hook.close(resolve));
  });

  it("makes getUpdates conflict while a webhook is set, and ends a pending poll", async () => {
    const pending = refusal(api.getUpdates({ timeout: 30 }));
    await server.waitForLongPoll();
    await expect(api.setWebhook(hookUrl, { secret_token: "s3cr3t" })).resolves.toBe(true);
    expect((await pending).description).toBe("Conflict: terminated by setWebhook request");
    const conflict = await refusal(api.getUpdates());
    expect(conflict.error_code).toBe(409);
    expect(conflict.description).toBe(
      "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
    );
    expect(server.webhookInfo()).toMatchObject({ url: hookUrl, secret_token: "s3cr3t" });
    const info = await api.getWebhookInfo();
    expect(info).toMatchObject({ url: hookUrl, has_custom_certificate: false, pending_update_count: 0 });
    expect(info).not.toHaveProperty("secret_token");
    await api.deleteWebhook();
    await expect(api.getUpdates()).resolves.toEqual([]);
  });

  it("validates the webhook URL and secret token like Telegram", async () => {
    expect((await refusal(api.setWebhook("http://example.com/hook"))).description).toBe(
      "Bad Request: bad webhook: An HTTPS URL must be provided for webhook",
    );
    expect(
      (await refusal(api.setWebhook("https://example.com/hook", { secret_token: "no spaces" }))).description,
    ).toBe("Bad Request: secret token contains unallowed characters");
  });

  it("delivers updates with the secret token, retries refusals and runs webhook replies", async () => {
    answers.push(
      { status: 500 },
      {
        status: 200,
        body: { method: "sendMessage", chat_id: ALICE.id, text: "<b>pong</b>", parse_mode: "HTML" },
      },
    );
    await api.setWebhook(hookUrl, { secret_token: "s3cr3t" });
    const update = server.injectMessage({ from: ALICE, text: "/ping" });
    const reply = await server.waitFor((call) => call.via === "webhook-reply");
    expect(reply).toMatchObject({ method: "sendMessage", status: 200 });
    expect(received.map((delivery) => delivery.update.update_id)).toEqual([
      update.update_id,
      update.update_id,
    ]);
    expect(received[0]?.headers["x-telegram-bot-api-secret-token"]).toBe("s3cr3t");
    expect(server.lastMessage(ALICE.id)?.text).toBe("pong");
    expect(server.webhookInfo()).toMatchObject({
      pending_update_count: 0,
      last_error_message: "Wrong response from the webhook: 500 Internal Server Error",
    });
  });
});

describe("a real grammY bot", () => {
  it("polls, handles a command and a button press, and stops cleanly", async () => {
    const bot = new Bot(server.token, { client: { apiRoot: server.apiRoot } });
    bot.command("start", (ctx) =>
      ctx.reply("<b>Welcome</b>", {
        parse_mode: "HTML",
        reply_markup: {
          inline_keyboard: [[{ text: "Acknowledge", callback_data: "al:ack:AAAAAAAAAAAAAAAA" }]],
        },
      }),
    );
    bot.callbackQuery(/^al:ack:(\w+)$/, async (ctx) => {
      await ctx.answerCallbackQuery({ text: "Acknowledged" });
      await ctx.editMessageText(`Acknowledged by ${ctx.from.first_name}`);
    });
    const running = bot.start({ drop_pending_updates: true });
    await server.waitForLongPoll();

    server.injectMessage({ from: ALICE, text: "/start" });
    await server.waitFor((call) => call.method === "sendMessage" && call.status === 200);
    const welcome = server.lastMessage(ALICE.id);
    expect(welcome).toMatchObject({ text: "Welcome", entities: [{ type: "bold", offset: 0, length: 7 }] });

    const press = server.pressButton({
      from: ALICE,
      chatId: ALICE.id,
      messageId: welcome?.message_id ?? 0,
      text: "Acknowledge",
    });
    await server.waitFor((call) => call.method === "editMessageText" && call.status === 200);
    expect(server.callbackAnswer(press.callback_query?.id ?? "")).toMatchObject({ text: "Acknowledged" });
    expect(server.lastMessage(ALICE.id)).toMatchObject({ text: "Acknowledged by Alice", edited: 1 });
    expect(server.lastMessage(ALICE.id)?.reply_markup).toBeUndefined();

    await bot.stop();
    await running;
    expect(server.callsOf("deleteWebhook")[0]?.params).toMatchObject({ drop_pending_updates: true });
    expect(server.pendingUpdates()).toEqual([]);
  });
});
