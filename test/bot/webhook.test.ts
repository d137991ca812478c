import type { FastifyInstance } from "fastify";
import type { Update } from "grammy/types";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type BotDeps, type BotFeature, createBot, type PitwallBot } from "../../src/bot/create-bot.ts";
import type { TelegramHandle } from "../../src/bot/polling.ts";
import {
  SECRET_HEADER,
  startWebhook,
  type TelegramWebhookRoute,
  telegramWebhookRoute,
} from "../../src/bot/webhook.ts";
import { createPostgresCoordinator } from "../../src/coord/postgres.ts";
import type { Coordinator } from "../../src/coord/types.ts";
import { listen } from "../../src/http/listen.ts";
import { createHttpServer } from "../../src/http/server.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics, type Metrics } from "../../src/observability/metrics.ts";
import { type FakeBotApi, startFakeBotApi } from "../fake-bot-api/index.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

// Integration: pitwall instances serve the webhook route over HTTP; the fake Bot API sets the
// webhook and delivers updates to it with the secret header; real Postgres and one real Postgres
// coordinator per instance (so update dedup is shared the way it is between processes).

const SECRET = "s3cret_webhook-token_0123456789";
const admin = { id: 7101, first_name: "Ada", language_code: "en" };
const operators: BotDeps["operators"] = [{ id: admin.id, role: "admin" }];
const WHOAMI = ["User id: 7101", "Name: Ada", "Role: admin", "Language: English (en)", "Chat id: 7101"].join(
  "\n",
);

let tdb: TestDatabase;
let api: FakeBotApi;
const coords: Coordinator[] = [];
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
const apps: FastifyInstance[] = [];
const handles: TelegramHandle[] = [];

beforeAll(async () => {
  tdb = await createTestDatabase();
  for (const instanceId of ["instance-a", "instance-b"]) {
    coords.push(await createPostgresCoordinator({ db: tdb.db, url: tdb.url, log, instanceId }));
  }
});
afterAll(async () => {
  await Promise.all(coords.map((c) => c.close()));
  await tdb?.drop();
});
let botNumber = 0;
beforeEach(async () => {
  // A bot of its own per test: update ids restart at 1 with every fake Bot API, and the dedup
  // markers of earlier tests stay in the shared database (as they would for 24 h).
  botNumber += 1;
  api = await startFakeBotApi({
    webhookRetryMs: 50,
    token: `${610000 + botNumber}:TEST-webhook-token-abcdefghijklmnopqrstu`,
  });
  logLines.length = 0;
});
afterEach(async () => {
  await Promise.all(handles.splice(0).map((h) => h.stop()));
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await api.stop();
  const logged = logLines.join("\n");
  // Neither the bot token nor the webhook secret ever reaches a log line.
  expect(logged).not.toContain(api.token);
  expect(logged).not.toContain(SECRET);
});

interface Instance {
  bot: PitwallBot;
  route: TelegramWebhookRoute;
  metrics: Metrics;
  /** Base URL, e.g. http://127.0.0.1:PORT */
  url: string;
  webhookUrl: string;
}

/** One pitwall instance's HTTP side with the webhook route, on the shared database. */
async function instance(
  coord: Coordinator,
  opts: { features?: BotFeature[]; answerWithinMs?: number } = {},
): Promise<Instance> {
  const metrics = createMetrics();
  const bot = createBot(api.token, {
    operators,
    db: tdb.db,
    coord,
    log,
    apiRoot: api.apiRoot,
    metrics,
    features: opts.features ?? [],
  });
  const route = telegramWebhookRoute(bot, {
    path: "/telegram",
    secretToken: SECRET,
    coord,
    log,
    metrics,
    identityRetry: { initialMs: 20, maxMs: 100 },
    ...(opts.answerWithinMs === undefined ? {} : { answerWithinMs: opts.answerWithinMs }),
  });
  const app = await createHttpServer({
    db: tdb.db,
    coord,
    log,
    metrics,
    apiKeys: [],
    registerRoutes: [route],
  });
  apps.push(app);
  const url = await listen(app, { host: "127.0.0.1", port: 0 });
  return { bot, route, metrics, url, webhookUrl: `${url}/telegram` };
}

function leader(inst: Instance, opts: { checkEveryMs?: number } = {}): TelegramHandle {
  const handle = startWebhook(inst.bot, {
    url: inst.webhookUrl,
    secretToken: SECRET,
    log,
    retry: { initialMs: 20, maxMs: 200 },
    checkEveryMs: opts.checkEveryMs ?? 0,
  });
  handles.push(handle);
  return handle;
}

let nextUpdateId = 900_000;
let nextMessageId = 50_000;

/** A `/whoami` from the admin in their private chat, as Telegram would deliver it. */
function whoamiUpdate(text = "/whoami"): Update {
  return {
    update_id: nextUpdateId++,
    message: {
      message_id: nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: { id: admin.id, type: "private", first_name: admin.first_name },
      from: { ...admin, is_bot: false },
      text,
      entities: [{ type: "bot_command", offset: 0, length: text.split(" ")[0]!.length }],
    },
  } as Update;
}

/** POSTs like Telegram does; `secret: null` leaves the header out. */
function post(url: string, body: unknown, secret: string | null = SECRET): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (secret !== null) headers[SECRET_HEADER] = secret;
  return fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
}

function botTexts(chatId: number): string[] {
  return api
    .messages(chatId)
    .filter((m) => m.outgoing)
    .map((m) => m.text ?? "");
}

async function until<T>(probe: () => T | Promise<T>, timeoutMs = 5000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Until Telegram (the fake) got its 2xx for everything queued: the webhook request is over and its
 * keep-alive connection idle, so closing the app does not wait for it.
 */
async function delivered(): Promise<void> {
  await until(() => api.webhookInfo().pending_update_count === 0);
}

async function outcomes(metrics: Metrics): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric("pitwall_telegram_webhook_requests_total")?.get();
  return Object.fromEntries((metric?.values ?? []).map((v) => [String(v.labels.outcome), v.value]));
}

describe("webhook mode against the Bot API", () => {
  it("sets the webhook with url, secret and allowed updates; Telegram's deliveries are handled", async () => {
    const a = await instance(coords[0]!);
    const handle = leader(a);
    const set = await api.waitFor((c) => c.method === "setWebhook" && c.status === 200);
    expect(set.params).toMatchObject({
      url: a.webhookUrl,
      secret_token: SECRET,
      allowed_updates: ["message", "edited_message", "callback_query", "my_chat_member"],
    });
    expect(set.params.drop_pending_updates).not.toBe(true);
    await until(() => handle.status().state === "ok");

    api.injectMessage({ from: admin, text: "/whoami" });
    await api.waitFor((c) => c.method === "sendMessage" && c.params.chat_id === admin.id);
    expect(botTexts(admin.id)).toEqual([WHOAMI]);
    // Telegram got its 2xx: nothing waits for redelivery.
    await delivered();
    expect(api.webhookInfo().last_error_message).toBeUndefined();
    // The command menus are published once the webhook is set.
    await api.waitFor((c) => c.method === "setMyCommands");
    // No getUpdates and no deleteWebhook in webhook mode.
    expect(api.callsOf("getUpdates")).toEqual([]);
    expect(api.callsOf("deleteWebhook")).toEqual([]);
    expect(await outcomes(a.metrics)).toMatchObject({ handled: 1 });
  });

  it("answers 401 to a missing or wrong secret, before handling anything, without logging it", async () => {
    const a = await instance(coords[0]!);
    await until(() => a.route.status().state === "ok");
    const wrong = "not-the-secret-at-all_42";
    const missing = await post(a.webhookUrl, whoamiUpdate(), null);
    const mismatched = await post(a.webhookUrl, whoamiUpdate(), wrong);
    const prefix = await post(a.webhookUrl, whoamiUpdate(), SECRET.slice(0, -1));
    for (const response of [missing, mismatched, prefix]) {
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: "unauthorized" });
    }
    // Refused before the body is read: not even a malformed body gets further.
    const garbage = await fetch(a.webhookUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(garbage.status).toBe(401);
    // The API key auth of /v1 does not apply, and the right secret alone is enough.
    const ok = await post(a.webhookUrl, whoamiUpdate());
    expect(ok.status).toBe(200);
    expect(botTexts(admin.id)).toEqual([WHOAMI]);
    expect(await outcomes(a.metrics)).toMatchObject({ unauthorized: 4, handled: 1 });
    const refusals = logLines.filter((l) => l.includes("refused a webhook request"));
    expect(refusals).toHaveLength(4);
    expect(refusals.join("\n")).not.toContain(wrong);
  });

  it("handles an update delivered twice, to two instances on one database, once", async () => {
    const [a, b] = await Promise.all([instance(coords[0]!), instance(coords[1]!)]);
    await until(() => a.route.status().state === "ok" && b.route.status().state === "ok");

    // A redelivery racing the first delivery, and one arriving after it.
    const update = whoamiUpdate();
    const [first, second] = await Promise.all([post(a.webhookUrl, update), post(b.webhookUrl, update)]);
    const third = await post(a.webhookUrl, update);
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    expect(botTexts(admin.id)).toEqual([WHOAMI]);

    const [ma, mb] = await Promise.all([outcomes(a.metrics), outcomes(b.metrics)]);
    expect((ma.handled ?? 0) + (mb.handled ?? 0)).toBe(1);
    expect((ma.duplicate ?? 0) + (mb.duplicate ?? 0)).toBe(2);

    // A different update is handled as usual.
    expect((await post(b.webhookUrl, whoamiUpdate())).status).toBe(200);
    expect(botTexts(admin.id)).toEqual([WHOAMI, WHOAMI]);
  });

  it("never calls deleteWebhook on stop: the next instance keeps receiving", async () => {
    const [a, b] = await Promise.all([instance(coords[0]!), instance(coords[1]!)]);
    const handle = leader(a);
    await until(() => handle.status().state === "ok");
    await handle.stop();
    handles.splice(handles.indexOf(handle), 1);
    expect(api.callsOf("deleteWebhook")).toEqual([]);
    expect(api.webhookInfo().url).toBe(a.webhookUrl);

    // A rolling deploy: the new leader points the webhook at itself while the old one still serves.
    const next = leader(b);
    await until(() => next.status().state === "ok");
    expect(api.webhookInfo().url).toBe(b.webhookUrl);
    api.injectMessage({ from: admin, text: "/whoami" });
    await delivered();
    expect(botTexts(admin.id)).toEqual([WHOAMI]);
    expect(await outcomes(b.metrics)).toMatchObject({ handled: 1 });
    await next.stop();
    handles.splice(handles.indexOf(next), 1);
    expect(api.callsOf("deleteWebhook")).toEqual([]);
  });

  it("starts while Telegram is down: 503 until the bot knows itself, degraded, then recovers", async () => {
    api.setDown(true);
    const a = await instance(coords[0]!);
    const handle = leader(a);
    await until(() => handle.status().state === "degraded");
    expect(handle.status().lastError).toBeTruthy();
    expect(handle.status().lastError).not.toContain(api.token);
    expect(a.route.status().state).toBe("starting");
    // Telegram would retry this one later.
    const early = await post(a.webhookUrl, whoamiUpdate());
    expect(early.status).toBe(503);
    expect(early.headers.get("retry-after")).toBe("5");

    api.setDown(false);
    await until(() => handle.status().state === "ok");
    await until(() => a.route.status().state === "ok");
    expect(api.webhookInfo().url).toBe(a.webhookUrl);
    api.injectMessage({ from: admin, text: "/whoami" });
    await delivered();
    expect(botTexts(admin.id)).toEqual([WHOAMI]);
    expect(logLines.filter((l) => l.includes("Telegram is unreachable")).length).toBeLessThanOrEqual(2);
  });

  it("sets the webhook again when someone else removed it, and reports delivery errors", async () => {
    const a = await instance(coords[0]!);
    const handle = leader(a, { checkEveryMs: 50 });
    await until(() => handle.status().state === "ok");
    // Another tool (or a polling deployment of the same bot) removes the webhook.
    await fetch(`${api.apiRoot}/bot${api.token}/deleteWebhook`, { method: "POST" });
    await until(() => api.callsOf("setWebhook").length === 2);
    expect(api.webhookInfo().url).toBe(a.webhookUrl);

    // Telegram cannot deliver (the instance behind the URL is gone): status says so.
    await a.route.drain();
    const app = apps.pop()!;
    await app.close();
    api.injectMessage({ from: admin, text: "/whoami" });
    await until(() => handle.status().state === "degraded");
    expect(handle.status().lastError).toMatch(/^Telegram could not deliver to the webhook: .*\(1 pending\)$/);
  });

  it("answers 200 when a handler runs long and lets it finish; drain waits for it", async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: BotFeature = {
      name: "slow",
      install(bot) {
        bot.command("slow", async (ctx) => {
          await gate;
          await ctx.reply("finally done");
        });
      },
    };
    const a = await instance(coords[0]!, { features: [slow], answerWithinMs: 100 });
    await until(() => a.route.status().state === "ok");
    const response = await post(a.webhookUrl, whoamiUpdate("/slow"));
    expect(response.status).toBe(200);
    expect(a.route.status().inFlight).toBe(1);
    expect(await a.route.drain(50)).toBe(false);
    release();
    expect(await a.route.drain(5000)).toBe(true);
    expect(botTexts(admin.id)).toEqual(["finally done"]);
    expect(await outcomes(a.metrics)).toMatchObject({ late: 1 });
  });

  it("refuses a body that is not an update with 400, and a path under /v1 at build time", async () => {
    const a = await instance(coords[0]!);
    await until(() => a.route.status().state === "ok");
    const response = await post(a.webhookUrl, { hello: "world" });
    expect(response.status).toBe(400);
    expect(botTexts(admin.id)).toEqual([]);
    expect(() =>
      telegramWebhookRoute(a.bot, { path: "/v1/telegram", secretToken: SECRET, coord: coords[0]!, log }),
    ).toThrow(/under \/v1/);
  });
});
