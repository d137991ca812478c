import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { CommandSpec } from "../../src/bot/commands.ts";
import type { BotDeps } from "../../src/bot/create-bot.ts";
import { hasRole, requireRole } from "../../src/bot/middlewares/auth.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { listAudit } from "../../src/store/audit.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import {
  admin,
  approver,
  callbackUpdate,
  group,
  OPERATORS,
  offlineBot,
  privateChat,
  stranger,
  TOKEN,
  textUpdate,
  viewer,
} from "./harness.ts";
import { memoryCoordinator } from "./memory-coordinator.ts";

const HOUR = 60 * 60 * 1000;
let tdb: TestDatabase;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  await tdb.db.query("truncate audit_log, operator_prefs");
});

function logSink() {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", destination: { write: (line: string) => lines.push(line) } });
  return { log, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function setup(overrides: Partial<BotDeps> = {}) {
  const { log, lines, records } = logSink();
  let clock = Date.UTC(2030, 0, 1, 10, 20, 0);
  const now = () => clock;
  const coord = memoryCoordinator(now);
  const harness = offlineBot({ operators: OPERATORS, db: tdb.db, coord, log, now, ...overrides });
  return {
    ...harness,
    lines,
    records,
    advance(ms: number) {
      clock += ms;
    },
  };
}

describe("operators", () => {
  it("/start greets the operator by name with their role and what they can do", async () => {
    const t = setup();
    await t.handle(textUpdate(viewer, "/start"));
    const [reply] = t.sent(viewer.id);
    expect(reply).toContain("Hello, Valerie!");
    expect(reply).toContain("viewer role");
    expect(reply).toContain("/help");
    await t.handle(textUpdate(admin, "/start"));
    expect(t.sent(admin.id)[0]).toContain(
      "Hello, Ada Admin! You are a pitwall operator with the admin role.",
    );
    expect(t.sent(admin.id)[0]).toContain("reset or trip circuit breakers");
  });

  it("/help lists only the commands the role may use, from the registry", async () => {
    const commands: CommandSpec[] = [
      { command: "help", descriptionKey: "cmd-help", role: "viewer" },
      { command: "whoami", descriptionKey: "cmd-whoami", role: "viewer" },
      { command: "language", descriptionKey: "cmd-language", role: "admin" },
    ];
    const t = setup({ commands });
    await t.handle(textUpdate(viewer, "/help"));
    await t.handle(textUpdate(admin, "/help"));
    const viewerHelp = t.sent(viewer.id)[0] ?? "";
    const adminHelp = t.sent(admin.id)[0] ?? "";
    expect(viewerHelp).toContain("Commands for your role (viewer):");
    expect(viewerHelp).toContain("/whoami - Your user id, role, language and this chat's id");
    expect(viewerHelp).not.toContain("/language - ");
    expect(adminHelp).toContain("Commands for your role (admin):");
    expect(adminHelp).toContain("/language - Show or change your language");
  });

  it("/help with the real registry lists the foundation's commands", async () => {
    const t = setup();
    await t.handle(textUpdate(approver, "/help"));
    const help = t.sent(approver.id)[0] ?? "";
    for (const command of ["/start", "/help", "/whoami", "/language"]) expect(help).toContain(command);
  });

  it("/whoami shows user id, name, role, language and chat id; the topic id in forum topics", async () => {
    const t = setup();
    await t.handle(textUpdate(viewer, "/whoami"));
    expect(t.sent(viewer.id)[0]).toBe(
      ["User id: 1002", "Name: Valerie", "Role: viewer", "Language: English (en)", "Chat id: 1002"].join(
        "\n",
      ),
    );
    const forum = { ...group, is_forum: true as const };
    await t.handle(textUpdate(admin, "/whoami@pitwall_test_bot", { chat: forum, threadId: 77 }));
    const reply = t.calls.find((c) => c.method === "sendMessage" && c.payload.chat_id === group.id);
    expect(reply?.payload.text).toContain(`Chat id: ${group.id}`);
    expect(reply?.payload.text).toContain("Topic (thread) id: 77");
    // The answer goes to the same topic.
    expect(reply?.payload.message_thread_id).toBe(77);
  });

  it("unknown commands get a pointer to /help; in groups only when addressed to this bot", async () => {
    const t = setup();
    await t.handle(textUpdate(viewer, "/helth"));
    expect(t.sent(viewer.id)).toEqual(["I don't know /helth. Send /help to see the commands you can use."]);
    await t.handle(textUpdate(viewer, "/helth", { chat: group }));
    await t.handle(textUpdate(viewer, "/other@another_bot", { chat: group }));
    await t.handle(textUpdate(viewer, "just chatting", { chat: group }));
    expect(t.sent(group.id)).toEqual([]);
    await t.handle(textUpdate(viewer, "/helth@pitwall_test_bot", { chat: group }));
    expect(t.sent(group.id)).toHaveLength(1);
    await t.handle(textUpdate(viewer, "hello"));
    expect(t.sent(viewer.id)[1]).toBe("I work with commands. Send /help to see them.");
  });

  it("every button press is answered; unknown or stale data gets a toast", async () => {
    const t = setup();
    await t.handle(callbackUpdate(viewer, "al:ack:AAAAAAAAAAAAAAAA"));
    await t.handle(callbackUpdate(admin, "zz:garbage"));
    const answers = t.callbackAnswers();
    expect(answers).toHaveLength(2);
    for (const answer of answers) expect(answer.text).toBe("This button is no longer valid.");
  });
});

describe("strangers", () => {
  it("get exactly one polite refusal per hour for many messages, and every refusal is audited", async () => {
    const t = setup();
    for (const text of ["/start", "hello?", "/help"]) await t.handle(textUpdate(stranger, text));
    const replies = t.sent(stranger.id);
    expect(replies).toHaveLength(1);
    expect(replies[0]).toContain("only serves the operators");
    expect(replies[0]).toContain("2001");
    const audit = await listAudit(tdb.db, { action: "telegram.refused" });
    expect(audit).toHaveLength(3);
    for (const row of audit) {
      expect(row.actor_type).toBe("stranger");
      expect(row.actor_id).toBe("2001");
      expect(row.actor_name).toBe("Stan");
      expect(row.details).toMatchObject({
        update_type: "message",
        chat_id: stranger.id,
        chat_type: "private",
      });
      expect(row.trace_id).toMatch(/^[0-9a-f]{32}$/);
    }
    // Each refused update has its own trace.
    expect(new Set(audit.map((r) => r.trace_id)).size).toBe(3);

    t.advance(HOUR + 1000);
    await t.handle(textUpdate(stranger, "/start"));
    expect(t.sent(stranger.id)).toHaveLength(2);
  });

  it("get a toast for every button press (answered, never left spinning), audited", async () => {
    const t = setup();
    await t.handle(callbackUpdate(stranger, "ap:ok:AAAAAAAAAAAAAAAA", group));
    await t.handle(callbackUpdate(stranger, "ap:ok:AAAAAAAAAAAAAAAA", group));
    const answers = t.callbackAnswers();
    expect(answers).toHaveLength(2);
    for (const answer of answers)
      expect(answer.text).toBe("Sorry, this bot only serves its configured operators.");
    const audit = await listAudit(tdb.db, { action: "telegram.refused" });
    expect(audit.map((r) => r.details.update_type)).toEqual(["callback_query", "callback_query"]);
    expect(t.sent(group.id)).toEqual([]);
  });

  it("in groups: refused only when addressing the bot, once per hour, quoting their message", async () => {
    const t = setup();
    await t.handle(textUpdate(stranger, "chatter between people", { chat: group }));
    await t.handle(textUpdate(stranger, "/help@another_bot", { chat: group }));
    expect(await listAudit(tdb.db, { action: "telegram.refused" })).toHaveLength(0);
    await t.handle(textUpdate(stranger, "/alerts", { chat: group }));
    await t.handle(textUpdate(stranger, "hey @pitwall_test_bot", { chat: group }));
    const replies = t.calls.filter((c) => c.method === "sendMessage");
    expect(replies).toHaveLength(1);
    expect(replies[0]?.payload.chat_id).toBe(group.id);
    expect(replies[0]?.payload.reply_parameters).toMatchObject({ allow_sending_without_reply: true });
    const audit = await listAudit(tdb.db, { action: "telegram.refused" });
    expect(audit).toHaveLength(2);
    expect(audit[1]?.details).toMatchObject({
      command: "/alerts",
      chat_type: "supergroup",
      chat_id: group.id,
    });
  });

  it("are refused in their Telegram language", async () => {
    const t = setup();
    await t.handle(textUpdate({ ...stranger, id: 2002, language_code: "ru" }, "/start"));
    expect(t.sent(2002)[0]).toContain("Извините");
  });

  it("get no answer (but an audit row) when the once-per-hour marker cannot be checked", async () => {
    const coord = memoryCoordinator();
    coord.setOnce = () => Promise.reject(new Error("coordination store unreachable"));
    const t = setup({ coord });
    await t.handle(textUpdate(stranger, "/start"));
    expect(t.sent(stranger.id)).toEqual([]);
    expect(await listAudit(tdb.db, { action: "telegram.refused" })).toHaveLength(1);
  });

  it("channel posts and other bots are ignored without an answer", async () => {
    const t = setup();
    await t.handle({
      update_id: 999_001,
      channel_post: {
        message_id: 1,
        date: 0,
        chat: { id: -100555, type: "channel", title: "news" },
        text: "/start",
      },
    } as never);
    await t.handle(textUpdate({ id: 3001, is_bot: true, first_name: "other" }, "/start", { chat: group }));
    expect(t.calls).toEqual([]);
    expect(await listAudit(tdb.db, { action: "telegram.refused" })).toHaveLength(0);
  });
});

describe("command rate limit", () => {
  it("answers the first command over the limit once, with when to try again; drops the rest", async () => {
    const t = setup({ commandRateLimit: { count: 3, perMs: HOUR } });
    for (let i = 0; i < 6; i++) await t.handle(textUpdate(viewer, "/whoami"));
    const replies = t.sent(viewer.id);
    expect(replies.filter((r) => r.startsWith("User id"))).toHaveLength(3);
    const limited = replies.filter((r) => !r.startsWith("User id"));
    // The clock is at 10:20, the hourly window ends at 11:00.
    expect(limited).toEqual([
      "You have sent 3 commands within the hour, the most pitwall accepts from one person.\nTry again in 40 minutes. Buttons under messages keep working meanwhile.",
    ]);
    // Plain text and button presses do not count, and buttons keep working.
    await t.handle(callbackUpdate(viewer, "al:ack:AAAAAAAAAAAAAAAA"));
    expect(t.callbackAnswers()).toHaveLength(1);
    // A new window allows commands again.
    t.advance(40 * 60 * 1000);
    await t.handle(textUpdate(viewer, "/whoami"));
    expect(t.sent(viewer.id).at(-1)).toMatch(/^User id/);
  });

  it("does not apply to admins", async () => {
    const t = setup({ commandRateLimit: { count: 2, perMs: HOUR } });
    for (let i = 0; i < 5; i++) await t.handle(textUpdate(admin, "/whoami"));
    expect(t.sent(admin.id).filter((r) => r.startsWith("User id"))).toHaveLength(5);
  });

  it("lets commands through when the coordinator fails, and says so in the log", async () => {
    const coord = memoryCoordinator();
    coord.increment = () => Promise.reject(new Error("coordination store unreachable"));
    const t = setup({ coord, commandRateLimit: { count: 1, perMs: HOUR } });
    await t.handle(textUpdate(viewer, "/whoami"));
    await t.handle(textUpdate(viewer, "/whoami"));
    expect(t.sent(viewer.id).filter((r) => r.startsWith("User id"))).toHaveLength(2);
    expect(
      t.records().some((r) => r.msg === "command rate limit unavailable; letting the command through"),
    ).toBe(true);
  });

  it("is counted per user", async () => {
    const t = setup({ commandRateLimit: { count: 1, perMs: HOUR } });
    await t.handle(textUpdate(viewer, "/whoami"));
    await t.handle(textUpdate(approver, "/whoami"));
    expect(t.sent(viewer.id)).toHaveLength(1);
    expect(t.sent(approver.id)).toHaveLength(1);
    expect(t.sent(approver.id)[0]).toMatch(/^User id/);
  });
});

describe("requireRole", () => {
  it("passes strong enough operators and tells the others which role it takes", async () => {
    const reply = vi.fn(async () => undefined);
    const answerCallbackQuery = vi.fn(async () => undefined);
    const t = (key: string, vars?: Record<string, unknown>) => `${key}${vars ? JSON.stringify(vars) : ""}`;
    const next = vi.fn(async () => undefined);
    const guard = requireRole("approver");
    const ctx = (role: "viewer" | "approver" | "admin", callback = false) =>
      ({
        operator: { id: 1, name: "x", role },
        t,
        reply,
        answerCallbackQuery,
        callbackQuery: callback ? {} : undefined,
      }) as never;

    await guard(ctx("admin"), next);
    await guard(ctx("approver"), next);
    expect(next).toHaveBeenCalledTimes(2);
    expect(hasRole(ctx("approver"), "admin")).toBe(false);

    await guard(ctx("viewer"), next);
    expect(next).toHaveBeenCalledTimes(2);
    expect(reply).toHaveBeenCalledWith('role-required{"required":"role-approver","role":"role-viewer"}');
    await guard(ctx("viewer", true), next);
    expect(answerCallbackQuery).toHaveBeenCalledWith({
      text: 'role-required{"required":"role-approver","role":"role-viewer"}',
      show_alert: false,
    });
  });
});

describe("/language", () => {
  it("shows the current language and how to switch", async () => {
    const t = setup();
    await t.handle(textUpdate(viewer, "/language"));
    expect(t.sent(viewer.id)[0]).toBe(
      "Your language: English (en).\nTo switch, send /language en for English or /language ru for Russian.",
    );
  });

  it("/language ru stores the choice, audits it, answers in Russian and survives a new bot", async () => {
    const t = setup();
    await t.handle(textUpdate(viewer, "/language ru"));
    expect(t.sent(viewer.id)[0]).toBe("Готово. Теперь я говорю с вами на языке: русский (ru).");
    await t.handle(textUpdate(viewer, "/start"));
    expect(t.sent(viewer.id)[1]).toContain("Здравствуйте, Valerie!");
    const [row] = await listAudit(tdb.db, { action: "operator.language_set" });
    expect(row).toMatchObject({ actor_type: "operator", actor_id: "1002", actor_name: "Valerie" });
    expect(row?.details).toEqual({ language: "ru", previous: "en" });

    const restarted = setup();
    await restarted.handle(textUpdate(viewer, "/whoami"));
    expect(restarted.sent(viewer.id)[0]).toContain("Язык: русский (ru)");
    // Other operators are not affected.
    await restarted.handle(textUpdate(admin, "/whoami"));
    expect(restarted.sent(admin.id)[0]).toContain("Language: English (en)");
  });

  it("rejects an unknown language without storing anything", async () => {
    const t = setup();
    await t.handle(textUpdate(viewer, "/language klingon"));
    expect(t.sent(viewer.id)[0]).toBe('I don\'t know the language "klingon". Available: en, ru.');
    expect((await tdb.db.query("select * from operator_prefs")).rowCount).toBe(0);
  });

  it("negotiates: stored choice, then configured language, then Telegram's language_code, then English", async () => {
    const operators: BotDeps["operators"] = [
      { id: 5001, role: "viewer", language: "ru" },
      { id: 5002, role: "viewer" },
      { id: 5003, role: "viewer" },
    ];
    const t = setup({ operators });
    await t.handle(textUpdate({ id: 5001, is_bot: false, first_name: "A", language_code: "en" }, "/start"));
    await t.handle(
      textUpdate({ id: 5002, is_bot: false, first_name: "B", language_code: "ru-RU" }, "/start"),
    );
    await t.handle(textUpdate({ id: 5003, is_bot: false, first_name: "C", language_code: "de" }, "/start"));
    expect(t.sent(5001)[0]).toContain("Здравствуйте");
    expect(t.sent(5002)[0]).toContain("Здравствуйте");
    expect(t.sent(5003)[0]).toContain("Hello");
    await t.handle(
      textUpdate({ id: 5001, is_bot: false, first_name: "A", language_code: "en" }, "/language en"),
    );
    await t.handle(textUpdate({ id: 5001, is_bot: false, first_name: "A", language_code: "en" }, "/start"));
    expect(t.sent(5001).at(-1)).toContain("Hello");
  });
});

describe("error boundary and logs", () => {
  it("logs each update with its id and a trace id, never the token", async () => {
    const t = setup();
    await t.handle(textUpdate(viewer, "/start"));
    const handled = t.records().find((r) => r.msg === "update handled");
    expect(handled).toMatchObject({ update_type: "message" });
    expect(handled?.update_id).toEqual(expect.any(Number));
    expect(handled?.trace_id).toMatch(/^[0-9a-f]{32}$/);
  });

  it("a failing handler is logged with its trace, the operator gets a short note, nothing leaks", async () => {
    const failingDb = Object.create(tdb.db) as typeof tdb.db;
    // pg-pool's query() calls connect() with a callback; transactions use the promise form.
    failingDb.connect = ((callback?: (err: Error) => void) => {
      const err = new Error(`connect failed for https://api.telegram.org/bot${TOKEN}/x`);
      if (callback) return void callback(err);
      return Promise.reject(err);
    }) as never;
    const t = setup({ db: failingDb });
    await t.handle(textUpdate(viewer, "/language ru"));
    const [reply] = t.sent(viewer.id);
    expect(reply).toMatch(/^Something went wrong while handling that\. .*trace [0-9a-f]{32}/);
    expect(reply).not.toContain("connect failed");
    const failure = t.records().find((r) => r.msg === "update handler failed");
    expect(failure?.trace_id).toBe(/trace ([0-9a-f]{32})/.exec(reply ?? "")?.[1]);
    expect(t.lines.join("\n")).not.toContain(TOKEN);
    expect(t.lines.join("\n")).toContain("bot[token]/x");
  });

  it("a Telegram error while answering does not escape the boundary", async () => {
    const t = setup();
    t.fail((c) => c.method === "sendMessage", 403, "Forbidden: bot was blocked by the user");
    await t.handle(textUpdate(viewer, "/start"));
    const failure = t.records().find((r) => r.msg === "Telegram refused a call while handling an update");
    expect(failure?.err).toMatchObject({ method: "sendMessage", error_code: 403 });
  });
});

describe("private chat of an operator", () => {
  it("answers in the operator's private chat", async () => {
    const t = setup();
    await t.handle(textUpdate(approver, "/start"));
    expect(t.calls.find((c) => c.method === "sendMessage")?.payload.chat_id).toBe(privateChat(approver).id);
  });
});
