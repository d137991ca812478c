import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type BotDeps, createBot, type PitwallBot } from "../../src/bot/create-bot.ts";
import { startTelegram, type TelegramHandle } from "../../src/bot/polling.ts";
import { createPostgresCoordinator } from "../../src/coord/postgres.ts";
import type { Coordinator } from "../../src/coord/types.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { listAudit } from "../../src/store/audit.ts";
import { type FakeBotApi, startFakeBotApi } from "../fake-bot-api/index.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

// Integration: the bot polls the fake Bot API over HTTP, with real Postgres and the real Postgres
// coordinator (counters and once-per-hour markers shared by instances).

const HOUR = 60 * 60 * 1000;
const admin = { id: 7001, first_name: "Ada", language_code: "en" };
const viewer = { id: 7002, first_name: "Val", language_code: "en" };
const stranger = { id: 7999, first_name: "Stan", language_code: "en" };
/** Only the rate-limit test uses this one: its counter lives in the shared coordinator for the hour. */
const busyViewer = { id: 7003, first_name: "Bea", language_code: "en" };
const operators: BotDeps["operators"] = [
  { id: admin.id, role: "admin" },
  { id: viewer.id, role: "viewer" },
  { id: busyViewer.id, role: "viewer" },
];

let tdb: TestDatabase;
let coord: Coordinator;
let api: FakeBotApi;
const logLines: string[] = [];
const log = createLogger({
  level: "debug",
  destination: {
    write: (line: string) => {
      logLines.push(line);
      if (process.env.BOT_TEST_LOG) process.stderr.write(line);
    },
  },
});
const running: TelegramHandle[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  coord = await createPostgresCoordinator({ db: tdb.db, url: tdb.url, log });
});
afterAll(async () => {
  await coord?.close();
  await tdb?.drop();
});
beforeEach(async () => {
  api = await startFakeBotApi({ longPollMaxMs: 500 });
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((handle) => handle.stop()));
  await api.stop();
  // The token never reaches a log line, whatever happened in the test.
  expect(logLines.join("\n")).not.toContain(api.token);
});

function bot(overrides: Partial<BotDeps> = {}): PitwallBot {
  return createBot(api.token, { operators, db: tdb.db, coord, log, apiRoot: api.apiRoot, ...overrides });
}

function start(
  b: PitwallBot,
  opts: { callTimeoutMs?: number; confirmAfterMs?: number } = {},
): TelegramHandle {
  const handle = startTelegram(b, { log, mode: "polling", retry: { initialMs: 20, maxMs: 200 }, ...opts });
  running.push(handle);
  return handle;
}

async function stop(handle: TelegramHandle): Promise<void> {
  running.splice(running.indexOf(handle), 1);
  await handle.stop();
}

/** Visible texts the bot sent to a chat. */
function botTexts(chatId: number): string[] {
  return api
    .messages(chatId)
    .filter((m) => m.outgoing)
    .map((m) => m.text ?? "");
}

/** Waits for the bot's n-th message in a chat. */
async function nthReply(chatId: number, n: number): Promise<string> {
  await api.waitFor(() => botTexts(chatId).length >= n, 5000);
  return botTexts(chatId)[n - 1] ?? "";
}

/** Polls a condition that no API call signals (database rows, status); bounded, never a fixed sleep. */
async function until<T>(probe: () => T | Promise<T>, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("long polling against the Bot API", () => {
  it("deletes the webhook before polling, publishes menus, answers operators, stops promptly", async () => {
    const handle = start(bot());
    expect(handle.status().state).toBe("starting");
    api.injectMessage({ from: admin, text: "/start" });
    expect(await nthReply(admin.id, 1)).toContain(
      "Hello, Ada! You are a pitwall operator with the admin role.",
    );
    api.injectMessage({ from: admin, text: "/whoami" });
    expect(await nthReply(admin.id, 2)).toBe(
      ["User id: 7001", "Name: Ada", "Role: admin", "Language: English (en)", "Chat id: 7001"].join("\n"),
    );
    expect(handle.status()).toEqual({ state: "ok" });

    const deleteWebhook = api.callsOf("deleteWebhook")[0];
    const firstPoll = api.callsOf("getUpdates")[0];
    expect(deleteWebhook?.params.drop_pending_updates).not.toBe(true);
    expect(deleteWebhook!.seq).toBeLessThan(firstPoll!.seq);

    await api.waitFor(
      (c) =>
        c.method === "setMyCommands" &&
        c.params.language_code === "ru" &&
        c.params.scope !== undefined &&
        (c.params.scope as { type: string }).type === "chat",
    );
    const names = (commands: Array<{ command: string }> | undefined) => commands?.map((c) => c.command);
    expect(names(api.myCommands())).toEqual(["start", "help", "whoami", "language"]);
    expect(api.myCommands({ language_code: "ru" })?.[1]).toEqual({
      command: "help",
      description: "Доступные вам команды",
    });
    expect(api.myCommands()?.[1]).toEqual({ command: "help", description: "The commands you can use" });
    for (const language_code of [undefined, "ru"]) {
      expect(names(api.myCommands({ scope: { type: "chat", chat_id: admin.id }, language_code }))).toEqual([
        "start",
        "help",
        "whoami",
        "language",
      ]);
    }

    const started = Date.now();
    await stop(handle);
    expect(Date.now() - started).toBeLessThan(2000);
    // The last batch was confirmed: a next poller does not get it again.
    expect(api.pendingUpdates()).toEqual([]);
  });

  it("refuses a stranger once for three messages and audits every refusal", async () => {
    await coord.increment("unused", HOUR); // the coordinator is live before the bot starts
    const handle = start(bot());
    for (const text of ["/start", "hello", "/help"]) api.injectMessage({ from: stranger, text });
    const rows = await until(async () => {
      const audit = await listAudit(tdb.db, { action: "telegram.refused" });
      return audit.filter((r) => r.actor_id === String(stranger.id)).length === 3 ? audit : undefined;
    });
    await stop(handle); // drains anything still in flight
    expect(botTexts(stranger.id)).toHaveLength(1);
    expect(botTexts(stranger.id)[0]).toContain("only serves the operators");
    expect(rows.every((r) => r.actor_type === "stranger")).toBe(true);
  });

  it("answers every button press, stale ones with a toast, and never counts them as commands", async () => {
    const handle = start(bot({ commandRateLimit: { count: 1, perMs: HOUR } }));
    api.injectMessage({ from: viewer, text: "/start" });
    await nthReply(viewer.id, 1);
    const botMessage = api.messages(viewer.id).find((m) => m.outgoing)!;
    const presses = [1, 2, 3].map(() =>
      api.injectCallbackQuery({
        from: viewer,
        chatId: viewer.id,
        messageId: botMessage.message_id,
        data: "al:ack:QQQQQQQQQQQQQQQQ",
      }),
    );
    for (const press of presses) {
      const id = press.callback_query!.id;
      await api.waitFor((c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === id);
      expect(api.callbackAnswer(id)?.text).toBe("This button is no longer valid.");
    }
    await stop(handle);
  });

  it("refuses the 101st typed command of the hour once; the 102nd gets no answer", async () => {
    await api.stop();
    api = await startFakeBotApi({ longPollMaxMs: 500, limits: { enforce: false } });
    // Fixed hourly windows: do not start right before one ends.
    if (HOUR - (Date.now() % HOUR) < 20_000) {
      await new Promise((resolve) => setTimeout(resolve, HOUR - (Date.now() % HOUR) + 100));
    }
    const handle = start(bot());
    for (let i = 0; i < 102; i++) api.injectMessage({ from: busyViewer, text: "/whoami" });
    await nthReply(busyViewer.id, 101);
    // A button press after them, in the same chat, is handled after them (one chat is sequential).
    const lastBotMessage = api
      .messages(busyViewer.id)
      .filter((m) => m.outgoing)
      .at(-1)!;
    const press = api.injectCallbackQuery({
      from: busyViewer,
      chatId: busyViewer.id,
      messageId: lastBotMessage.message_id,
      data: "pg:x:1",
    });
    await api.waitFor(
      (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === press.callback_query!.id,
    );
    await stop(handle);
    const texts = botTexts(busyViewer.id);
    expect(texts).toHaveLength(101);
    expect(texts.filter((t) => t.startsWith("User id"))).toHaveLength(100);
    expect(texts[100]).toMatch(/^You have sent 100 commands within the hour.*\nTry again in \d+ minutes?\./);
  });

  it("/language ru switches to Russian and persists across a bot restart", async () => {
    const first = start(bot());
    api.injectMessage({ from: admin, text: "/language ru" });
    expect(await nthReply(admin.id, 1)).toBe("Готово. Теперь я говорю с вами на языке: русский (ru).");
    await stop(first);

    const second = start(bot());
    api.injectMessage({ from: admin, text: "/help" });
    expect(await nthReply(admin.id, 2)).toContain("Команды для вашей роли (администратор):");
    await stop(second);
    const [audit] = await listAudit(tdb.db, { action: "operator.language_set" });
    expect(audit).toMatchObject({ actor_type: "operator", actor_id: String(admin.id) });
    await tdb.db.query("delete from operator_prefs");
  });

  it("starts while Telegram is down: degraded, then recovers by itself", async () => {
    api.setDown(true);
    const handle = start(bot());
    await until(() => handle.status().state === "degraded");
    expect(handle.status().lastError).toMatch(/getMe/);
    expect(handle.status().lastError).not.toContain(api.token);
    api.setDown(false);
    await api.waitFor((c) => c.method === "getUpdates");
    api.injectMessage({ from: viewer, text: "/start" });
    expect(await nthReply(viewer.id, 1)).toContain("Hello, Val!");
    expect(handle.status()).toEqual({ state: "ok" });
    await stop(handle);
  });

  it("does not wait forever on a Telegram that accepts connections and never answers", async () => {
    api.setDown(true, "hang");
    const handle = start(bot(), { callTimeoutMs: 200 });
    await until(() => handle.status().state === "degraded");
    expect(handle.status().lastError).toMatch(/getMe/);
    api.setDown(false);
    api.injectMessage({ from: viewer, text: "/start" });
    expect(await nthReply(viewer.id, 1)).toContain("Hello, Val!");
    await stop(handle);
  });

  it("reports a Telegram outage while polling and resumes when it ends", async () => {
    const handle = start(bot());
    await api.waitFor((c) => c.method === "getUpdates");
    api.setDown(true);
    await until(() => handle.status().state === "degraded");
    api.setDown(false);
    api.injectMessage({ from: viewer, text: "/start" });
    await nthReply(viewer.id, 1);
    expect(handle.status().state).toBe("ok");
    await stop(handle);
  });

  it("counts Telegram errors in metrics and logs them with the update's trace", async () => {
    const metrics = createMetrics();
    const handle = start(bot({ metrics }));
    api.failNext("sendMessage", { status: 403, description: "Forbidden: bot was blocked by the user" });
    api.injectMessage({ from: viewer, text: "/start" });
    await api.waitFor((c) => c.method === "sendMessage" && c.status === 403);
    await stop(handle); // drains the handler and its error handling
    const counted = (await metrics.telegramErrors.get()).values;
    expect(counted).toContainEqual(
      expect.objectContaining({ labels: { method: "sendMessage", code: "403" }, value: 1 }),
    );
    const logged = logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((r) => r.msg === "Telegram refused a call while handling an update");
    expect(logged?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(logged?.err).toMatchObject({ method: "sendMessage", error_code: 403 });
  });

  it("stop() waits for a handler in flight, then returns", async () => {
    // Holds the handler's answer until the test releases it (transformers reach ctx.api too).
    const { b, entered, release } = heldBot();
    const handle = start(b);
    api.injectMessage({ from: viewer, text: "/start" });
    await entered;
    let stopped = false;
    const stopping = stop(handle).then(() => {
      stopped = true;
    });
    // Polling has ended but the handler is still running.
    await until(() => logLines.some((l) => l.includes("waiting for updates being handled")));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(botTexts(viewer.id)[0]).toContain("Hello, Val!");
  });

  /** A bot whose answers wait for `release()`; `entered` resolves when the first one is held. */
  function heldBot() {
    const b = bot();
    let enter!: () => void;
    const entered = new Promise<void>((resolve) => {
      enter = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    b.api.config.use(async (prev, method, payload, signal) => {
      if (method === "sendMessage") {
        enter();
        await gate;
      }
      return prev(method, payload, signal);
    });
    return { b, entered, release };
  }

  it("confirms an update to Telegram only once it is handled, so a poller that dies mid-way loses nothing", async () => {
    const { b, entered, release } = heldBot();
    start(b);
    const update = api.injectMessage({ from: admin, text: "/start" });
    await entered;
    // Handling: no later offset asked for yet, so Telegram would give this update to the next poller.
    const pending = () => api.pendingUpdates().map((u) => u.update_id);
    const polls = api.callsOf("getUpdates").length;
    await new Promise((resolve) => setTimeout(resolve, 700)); // longer than a long poll here (500 ms)
    expect(pending()).toContain(update.update_id);
    expect(api.callsOf("getUpdates").length).toBe(polls);
    release();
    await until(() => !pending().includes(update.update_id));
    expect(botTexts(admin.id)[0]).toContain("Hello, Ada!");
  });

  it("polls on after confirmAfterMs when a handler is slow, and says so", async () => {
    const { b, entered, release } = heldBot();
    start(b, { confirmAfterMs: 100 });
    const update = api.injectMessage({ from: admin, text: "/start" });
    await entered;
    await until(() => !api.pendingUpdates().some((u) => u.update_id === update.update_id));
    expect(logLines.some((l) => l.includes("updates still being handled; polling on"))).toBe(true);
    release();
    expect(await nthReply(admin.id, 1)).toContain("Hello, Ada!");
  });
});
