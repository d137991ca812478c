import { Api, GrammyError } from "grammy";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FloodControl } from "../../src/telegram-emulator/flood.ts";
import { startFakeBotApi } from "../../src/telegram-emulator/server.ts";
import type { FakeBotApi } from "../../src/telegram-emulator/types.ts";

const START = 1_700_000_000_000;
const PRIVATE = 1001;
const GROUP = -1_001_000_000_001;

let now = START;
let server: FakeBotApi;
let api: Api;

beforeEach(async () => {
  now = START;
  server = await startFakeBotApi({ now: () => now });
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

describe("private chats: about one message per second with a burst of 3", () => {
  it("answers 429 with retry_after past the burst, without creating a message", async () => {
    for (const text of ["1", "2", "3"]) await api.sendMessage(PRIVATE, text);
    const limited = await refusal(api.sendMessage(PRIVATE, "4"));
    expect(limited.error_code).toBe(429);
    expect(limited.description).toBe("Too Many Requests: retry after 1");
    expect(limited.parameters.retry_after).toBe(1);
    expect(server.messages(PRIVATE).map((message) => message.text)).toEqual(["1", "2", "3"]);
    expect(server.rateLimitViolations()).toEqual([]);

    now += 1000;
    await expect(api.sendMessage(PRIVATE, "4")).resolves.toMatchObject({ text: "4" });
    expect(server.rateLimitViolations()).toEqual([]);
  });

  it("lets a steady 1 message per second through forever", async () => {
    for (let i = 0; i < 20; i++) {
      await api.sendMessage(PRIVATE, `m${i}`);
      now += 1000;
    }
    expect(server.callsOf("sendMessage").every((call) => call.status === 200)).toBe(true);
  });

  it("records requests made before the announced retry_after expired", async () => {
    for (const text of ["1", "2", "3"]) await api.sendMessage(PRIVATE, text);
    await refusal(api.sendMessage(PRIVATE, "4"));
    now += 400;
    const early = await refusal(api.editMessageText(PRIVATE, 1, "edited too early"));
    expect(early.parameters.retry_after).toBe(1);
    expect(server.rateLimitViolations()).toEqual([
      { chatId: PRIVATE, method: "editMessageText", at: START + 400, retryAfterUntil: START + 1000 },
    ]);
    // Other chats are not affected by this chat's wait.
    await expect(api.sendMessage(PRIVATE + 1, "elsewhere")).resolves.toBeDefined();
  });
});

describe("groups: 20 messages per minute", () => {
  it("refuses the 21st message within a minute until the oldest one ages out", async () => {
    for (let i = 0; i < 20; i++) {
      await api.sendMessage(GROUP, `alert ${i}`);
      now += 1000;
    }
    // The first went out at START; 20 s later the 21st must wait until START + 60 s.
    const limited = await refusal(api.sendMessage(GROUP, "alert 20"));
    expect(limited.parameters.retry_after).toBe(40);
    now = START + 60_000;
    await expect(api.sendMessage(GROUP, "alert 20")).resolves.toBeDefined();
    expect(server.messages(GROUP)).toHaveLength(21);
  });

  it("counts edits", async () => {
    const first = await api.sendMessage(GROUP, "incident");
    for (let i = 0; i < 19; i++) await api.editMessageText(GROUP, first.message_id, `incident ×${i + 2}`);
    const limited = await refusal(api.sendMessage(GROUP, "one more"));
    expect(limited.error_code).toBe(429);
    expect(limited.parameters.retry_after).toBe(60);
  });

  it("does not count refused requests", async () => {
    for (let i = 0; i < 25; i++) await refusal(api.sendMessage(GROUP, "<b>broken", { parse_mode: "HTML" }));
    await expect(api.sendMessage(GROUP, "fine")).resolves.toBeDefined();
  });
});

describe("all chats: 30 messages per second", () => {
  it("refuses the 31st message in the same second across chats", async () => {
    for (let chat = 1; chat <= 30; chat++) await api.sendMessage(chat, "broadcast");
    const limited = await refusal(api.sendMessage(31, "broadcast"));
    expect(limited.parameters.retry_after).toBe(1);
    now += 1000;
    await expect(api.sendMessage(31, "broadcast")).resolves.toBeDefined();
  });
});

describe("switching enforcement off", () => {
  it("never answers 429", async () => {
    const lenient = await startFakeBotApi({ now: () => now, limits: { enforce: false } });
    try {
      const lenientApi = new Api(lenient.token, { apiRoot: lenient.apiRoot });
      for (let i = 0; i < 40; i++) await lenientApi.sendMessage(PRIVATE, `m${i}`);
      expect(lenient.messages(PRIVATE)).toHaveLength(40);
    } finally {
      await lenient.stop();
    }
  });
});

describe("FloodControl", () => {
  it("follows the configured limits", () => {
    const flood = new FloodControl({
      perChatPerSecond: 2,
      privateBurst: 1,
      perGroupPerMinute: 2,
      globalPerSecond: 100,
      enforce: true,
    });
    expect(flood.check(1, "private", "sendMessage", 0)).toBe(0);
    flood.consume(1, "private", 0);
    expect(flood.check(1, "private", "sendMessage", 100)).toBe(1);
    // The wait announced at t=100 lasts until t=1100 even though a token is back at t=500.
    expect(flood.check(1, "private", "sendMessage", 600)).toBe(1);
    expect(flood.violations()).toEqual([
      { chatId: 1, method: "sendMessage", at: 600, retryAfterUntil: 1100 },
    ]);
    expect(flood.check(1, "private", "sendMessage", 1100)).toBe(0);

    flood.consume(-5, "group", 0);
    flood.consume(-5, "group", 10_000);
    expect(flood.check(-5, "group", "sendMessage", 30_000)).toBe(30);
    flood.reset();
    expect(flood.check(-5, "group", "sendMessage", 30_000)).toBe(0);
    expect(flood.violations()).toEqual([]);
  });
});
