import { Api, GrammyError, HttpError } from "grammy";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startFakeBotApi } from "../../src/telegram-emulator/server.ts";
import type { FakeBotApi } from "../../src/telegram-emulator/types.ts";

let now = 1_700_000_000_000;
let server: FakeBotApi;
let api: Api;

beforeEach(async () => {
  now = 1_700_000_000_000;
  server = await startFakeBotApi({ now: () => now });
  api = new Api(server.token, { apiRoot: server.apiRoot });
});

afterEach(async () => {
  await server.stop();
});

async function grammyError(promise: Promise<unknown>): Promise<GrammyError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GrammyError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe("transport", () => {
  it("answers getMe with the bot user", async () => {
    const me = await api.getMe();
    expect(me).toMatchObject({
      id: 123456,
      is_bot: true,
      username: "pitwall_test_bot",
      can_join_groups: true,
    });
  });

  it("answers a wrong token with 401 Unauthorized", async () => {
    const error = await grammyError(new Api("123456:WRONG", { apiRoot: server.apiRoot }).getMe());
    expect(error.error_code).toBe(401);
    expect(error.description).toBe("Unauthorized");
    expect(server.calls.map((call) => [call.method, call.status])).toEqual([["getMe", 401]]);
  });

  it("answers an unknown method with 404 Not Found", async () => {
    for (const method of ["sendSticker", "constructor"]) {
      const response = await fetch(`${server.apiRoot}/bot${server.token}/${method}`, { method: "POST" });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ ok: false, error_code: 404, description: "Not Found" });
    }
  });

  it("takes method names in any case, form bodies and query strings, and types the values", async () => {
    const form = await fetch(`${server.apiRoot}/bot${server.token}/SENDMESSAGE`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        chat_id: "42",
        text: "hello",
        disable_notification: "true",
        reply_markup: JSON.stringify({ inline_keyboard: [[{ text: "Go", callback_data: "go" }]] }),
      }),
    });
    expect(form.status).toBe(200);
    const query = await fetch(`${server.apiRoot}/bot${server.token}/sendmessage?chat_id=42&text=again`);
    expect(((await query.json()) as { ok: boolean }).ok).toBe(true);

    const [first, second] = server.callsOf("sendMessage");
    expect(first?.method).toBe("sendMessage");
    expect(first?.params).toMatchObject({
      chat_id: 42,
      disable_notification: true,
      reply_markup: { inline_keyboard: [[{ text: "Go", callback_data: "go" }]] },
    });
    expect(second?.params).toMatchObject({ chat_id: 42, text: "again" });
    expect(server.messages(42).map((message) => [message.text, message.disable_notification])).toEqual([
      ["hello", true],
      ["again", false],
    ]);
  });

  it("records every call, failures included, with the injected clock", async () => {
    await api.sendMessage(7, "one");
    now += 5000;
    await grammyError(api.sendMessage(7, ""));
    expect(server.calls.map((call) => [call.seq, call.method, call.status, call.at])).toEqual([
      [1, "sendMessage", 200, 1_700_000_000_000],
      [2, "sendMessage", 400, 1_700_000_005_000],
    ]);
    expect(server.calls[1]?.response).toEqual({
      ok: false,
      error_code: 400,
      description: "Bad Request: message text is empty",
    });
  });

  it("refuses a body over the size limit with 413", async () => {
    const small = await startFakeBotApi({ maxBodyBytes: 1024 });
    try {
      const response = await fetch(`${small.apiRoot}/bot${small.token}/sendMessage`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ chat_id: 1, text: "x".repeat(2000) }),
      });
      expect(response.status).toBe(413);
    } finally {
      await small.stop();
    }
  });
});

describe("fault injection", () => {
  it("fails the next calls of a method as told, then recovers", async () => {
    server.failNext("sendMessage", { status: 502, description: "Bad Gateway" }, 2);
    expect((await grammyError(api.sendMessage(1, "a"))).error_code).toBe(502);
    expect((await grammyError(api.sendMessage(1, "a"))).description).toBe("Bad Gateway");
    await expect(api.sendMessage(1, "a")).resolves.toMatchObject({ text: "a" });
    expect(server.callsOf("sendMessage").map((call) => call.status)).toEqual([502, 502, 200]);
    expect(server.messages(1)).toHaveLength(1);
  });

  it("can fail any method with parameters", async () => {
    server.failNext("*", {
      status: 429,
      description: "Too Many Requests: retry after 7",
      parameters: { retry_after: 7 },
    });
    const error = await grammyError(api.getMe());
    expect(error.parameters.retry_after).toBe(7);
  });

  it("drops connections while down and serves again when back", async () => {
    server.setDown(true);
    await expect(api.getMe()).rejects.toBeInstanceOf(HttpError);
    server.setDown(false);
    await expect(api.getMe()).resolves.toMatchObject({ is_bot: true });
  });

  it("can hang requests so that clients time out", async () => {
    const impatient = new Api(server.token, { apiRoot: server.apiRoot, timeoutSeconds: 0.2 });
    server.setDown(true, "hang");
    const error = await impatient.getMe().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(HttpError);
    expect(String((error as HttpError).error)).toMatch(/timed out after 0.2 seconds/);
    server.setDown(false);
    await expect(impatient.getMe()).resolves.toMatchObject({ is_bot: true });
  });
});

describe("waitFor", () => {
  it("resolves on a past or a future call and rejects on timeout", async () => {
    await api.sendMessage(1, "past");
    await expect(server.waitFor((call) => call.method === "sendMessage")).resolves.toMatchObject({ seq: 1 });
    const future = server.waitFor((call) => call.params.text === "future");
    await api.sendMessage(1, "future");
    await expect(future).resolves.toMatchObject({ status: 200 });
    await expect(server.waitFor((call) => call.method === "deleteMessage", 20)).rejects.toThrow(
      /no matching call within 20 ms/,
    );
  });
});
