import type { Update } from "grammy/types";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type BotDeps, createBot, type PitwallBot } from "../../../src/bot/create-bot.ts";
import { silentLogger } from "../../../src/observability/logger.ts";
import { listAudit } from "../../../src/store/audit.ts";
import { memoryCoordinator } from "../../bot/memory-coordinator.ts";
import { type FakeBotApi, startFakeBotApi } from "../../fake-bot-api/index.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import { ADMIN_KEY, bearer, config, fakeClock, type OpsHarness, opsHarness, truncateOps } from "./support.ts";

// Chat commands against the fake Bot API over HTTP: what the operator sees is the text Telegram
// would show after parsing the HTML.

const admin = { id: 1001, first_name: "Ada", language_code: "en" };
const viewer = { id: 1002, first_name: "Val", language_code: "en" };
const russian = { id: 1003, first_name: "Ivan", language_code: "ru" };
const operators: BotDeps["operators"] = [
  { id: admin.id, role: "admin" },
  { id: viewer.id, role: "viewer" },
  { id: russian.id, role: "viewer" },
];

const YAML = `
digest: { timezone: Asia/Tokyo }
cost_management:
  budgets:
    - { name: daily_limit, limit: 100000 tokens, scope: per_provider, alert_threshold: 80%, action: switch_provider or alert }
    - { name: spend, limit: $50, scope: global, reset: 1st of month }
routing:
  providers: [openai, anthropic]
checks:
  - { name: api, tcp: "127.0.0.1:1", failure_threshold: 1 }
  - { name: worker, command: "true" }
  - { name: cache, command: "exit 1", failure_threshold: 3 }
  - { name: queue, command: "true" }
`;

let tdb: TestDatabase;
let api: FakeBotApi;
let h: OpsHarness;
let bot: PitwallBot;
const clock = fakeClock("2030-01-15T10:00:00Z"); // 19:00 in Tokyo

beforeAll(async () => {
  tdb = await createTestDatabase();
  api = await startFakeBotApi({ limits: { enforce: false } });
});
afterAll(async () => {
  await api?.stop();
  await tdb?.drop();
});
beforeEach(async () => {
  await truncateOps(tdb.db);
  clock.set("2030-01-15T10:00:00Z");
  h = await opsHarness({ db: tdb.db, clock, config: config(YAML) });
  bot = createBot(api.token, {
    operators,
    db: tdb.db,
    coord: memoryCoordinator(),
    log: silentLogger(),
    apiRoot: api.apiRoot,
    features: h.module.botFeatures,
  });
  bot.botInfo = {
    ...api.botUser,
    can_join_groups: true,
    can_read_all_group_messages: false,
    supports_inline_queries: false,
    can_connect_to_business: false,
    has_main_web_app: false,
  } as PitwallBot["botInfo"];
});
afterEach(async () => {
  await h?.close();
});

/** Sends a command as `from` and returns the bot's answer as the operator sees it. */
async function say(from: typeof admin, text: string): Promise<string> {
  const before = replies(from.id).length;
  // The emulator has its own copy of the Bot API types; the update is the same JSON.
  const update = api.injectMessage({ from, text }) as unknown as Update;
  await bot.handleUpdate(update);
  const after = replies(from.id);
  expect(after.length, `no answer to ${text}`).toBe(before + 1);
  return after[after.length - 1]!;
}

function replies(chatId: number): string[] {
  return api
    .messages(chatId)
    .filter((message) => message.outgoing)
    .map((message) => message.text ?? "");
}

async function post(url: string, payload: object) {
  const response = await h.app.inject({ method: "POST", url, headers: bearer(ADMIN_KEY), payload });
  expect(response.statusCode).toBe(200);
}

describe("/budgets", () => {
  it("shows each budget with a progress bar, percent, use of limit and time to reset", async () => {
    await post("/v1/usage", { provider: "openai", input_tokens: 80_300, output_tokens: 0, cost_usd: 12.5 });
    expect(await say(viewer, "/budgets")).toBe(
      [
        "Budgets",
        "",
        "daily_limit · openai",
        "████████░░ 80.3 %",
        "80 300 tokens of 100 000 tokens · resets in 5 h (2030-01-16 00:00 Asia/Tokyo)",
        "",
        "daily_limit · anthropic",
        "░░░░░░░░░░ 0.0 %",
        "0 tokens of 100 000 tokens · resets in 5 h (2030-01-16 00:00 Asia/Tokyo)",
        "",
        "spend · all usage",
        "██░░░░░░░░ 25.0 %",
        "$12.50 of $50.00 · resets in 16 d 5 h (2030-02-01 00:00 Asia/Tokyo)",
      ].join("\n"),
    );
  });

  it("speaks the operator's language", async () => {
    const text = await say(russian, "/budgets");
    expect(text.split("\n")[0]).toBe("Бюджеты");
    expect(text).toContain("0 токенов из 100 000 токенов · сброс через 5 ч");
  });
});

describe("/breakers and admin commands", () => {
  it("lists state, failures and next probe", async () => {
    for (let i = 0; i < 3; i++) await post("/v1/breakers/openai/report", { ok: false, status_code: 503 });
    await post("/v1/breakers/anthropic/report", { ok: false, status_code: 500 });
    clock.advance(3 * 60_000);
    expect(await say(viewer, "/breakers")).toBe(
      [
        "Circuit breakers",
        "🟢 anthropic — closed · 1 failure in a row",
        "🔴 openai — open · 3 failures in a row · next probe in 12 min (19:15 Asia/Tokyo)",
      ].join("\n"),
    );
  });

  it("admin-only commands are refused to viewers, with nothing changed or audited", async () => {
    for (let i = 0; i < 3; i++) await post("/v1/breakers/openai/report", { ok: false, status_code: 503 });
    for (const command of ["/breaker_reset openai", "/breaker_trip openai", "/mode_set MAINTENANCE deploy"]) {
      expect(await say(viewer, command)).toBe("This needs the admin role; yours is viewer.");
    }
    const actions = (await listAudit(tdb.db)).map((row) => row.action);
    expect(actions).toEqual(["breaker.transition"]);
    expect(h.alerts.resolved()).toEqual([]);
    expect((await h.module.mode.current()).mode).toBe("FULL");
  });

  it("/breaker_trip and /breaker_reset change the breaker, are audited and alert", async () => {
    expect(await say(admin, "/breaker_trip openai")).toBe(
      "Breaker openai tripped: open and held (was closed). Agents are refused until /breaker_reset openai.",
    );
    expect(await say(admin, "/breakers")).toContain(
      "🔴 openai — open · held open by an admin until /breaker_reset",
    );
    const permit = await h.app.inject({
      method: "GET",
      url: "/v1/breakers/openai/permit",
      headers: bearer(ADMIN_KEY),
    });
    expect(permit.json()).toEqual({ allowed: false, state: "open", reason: "held" });

    expect(await say(admin, "/breaker_reset openai")).toBe(
      "Breaker openai reset: closed (was open). Agents may call it again.",
    );
    const audit = (await listAudit(tdb.db)).reverse();
    expect(audit.map((row) => [row.action, row.actor_type, row.actor_id, row.target])).toEqual([
      ["breaker.trip", "operator", "1001", "breaker:openai"],
      ["breaker.reset", "operator", "1001", "breaker:openai"],
    ]);
    expect(h.alerts.fired()[0]).toMatchObject({
      key: "breaker:openai",
      text: "tripped by an admin; held open until reset (Ada)",
    });
    expect(h.alerts.resolved()).toEqual(["breaker:openai"]);
  });

  it("explains a missing, odd or unknown name", async () => {
    expect(await say(admin, "/breaker_reset")).toBe(
      "Send /breaker_reset NAME, for example /breaker_reset openai. /breakers lists them.",
    );
    expect(await say(admin, "/breaker_reset bad/name")).toBe(
      '"bad/name" is not a breaker name: 1-64 letters, digits, _ . and -, starting with a letter or digit.',
    );
    expect(await say(admin, "/breaker_trip opneai")).toBe(
      "There is no breaker named opneai. Known: anthropic, openai.",
    );
    expect(await listAudit(tdb.db)).toEqual([]);
  });
});

describe("/health and /mode", () => {
  it("/health: one line per component and check, with icons", async () => {
    for (let i = 0; i < 3; i++) await post("/v1/breakers/openai/report", { ok: false, status_code: 503 });
    for (const name of ["api", "worker", "cache"]) await h.runJob(`ops.check.${name}`);
    const health = await say(viewer, "/health");
    // Latency varies; the rest is exact. Checks come in config order.
    expect(health.replace(/\d+ ms$/m, "N ms")).toBe(
      [
        "Health",
        "✅ database: ok",
        "🟢 mode FULL",
        "🔴 circuit breakers: 1 of 2 open (openai)",
        "❌ api (tcp) — down since 19:00 Asia/Tokyo · ECONNREFUSED",
        "✅ worker (command) — up · exit 0 · N ms",
        "⚠️ cache (command) — failing (1 of 3 in a row) · exit 1",
        "❔ queue (command) — not checked yet",
      ].join("\n"),
    );
  });

  it("/mode_set pins MAINTENANCE with a reason and AUTO unpins; /mode shows why", async () => {
    expect(await say(admin, "/mode_set MAINTENANCE")).toBe(
      "Say why: /mode_set MAINTENANCE reason. The reason is shown to everyone and audited.",
    );
    expect(await say(admin, "/mode_set SOMETIMES")).toContain("Send /mode_set MODE [reason]");
    expect(await say(admin, "/mode_set maintenance upgrading the database")).toBe(
      "Mode pinned to MAINTENANCE (was FULL). Send /mode_set AUTO to go back to automatic.",
    );
    clock.advance(12 * 60_000);
    expect(await say(viewer, "/mode")).toBe(
      [
        "🛠 Mode: MAINTENANCE",
        "Since 19:00 Asia/Tokyo (12 min ago)",
        "Pinned by Ada: upgrading the database. The measurements alone would give FULL.",
        "",
        "Why",
        "Every measurement is within its trigger.",
        "",
        "Admins: /mode_set MAINTENANCE reason pins maintenance; /mode_set AUTO goes back to automatic.",
      ].join("\n"),
    );
    expect(await say(admin, "/mode_set AUTO")).toBe("Mode unpinned: automatic again, now FULL.");
    expect(await say(admin, "/mode_set AUTO")).toBe("The mode is not pinned; it is automatic (FULL).");
    const audit = (await listAudit(tdb.db)).reverse();
    expect(audit.map((row) => [row.action, row.actor_name])).toEqual([
      ["mode.pin", "Ada"],
      ["mode.unpin", "Ada"],
    ]);
    expect(audit[0]!.details).toMatchObject({ mode: "MAINTENANCE", reason: "upgrading the database" });
  });

  it("/help lists the ops commands for the operator's role", async () => {
    const viewerHelp = await say(viewer, "/help");
    for (const command of ["/health", "/budgets", "/breakers", "/mode "])
      expect(viewerHelp).toContain(command);
    expect(viewerHelp).not.toContain("/breaker_reset");
    const adminHelp = await say(admin, "/help");
    for (const command of ["/breaker_reset", "/breaker_trip", "/mode_set"])
      expect(adminHelp).toContain(command);
  });
});
