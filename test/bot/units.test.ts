import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GrammyError, HttpError } from "grammy";
import { describe, expect, it } from "vitest";
import {
  COMMANDS,
  type CommandSpec,
  commandsFor,
  registerCommands,
  roleAtLeast,
} from "../../src/bot/commands.ts";
import { describeError, scrubToken, shortError } from "../../src/bot/errors.ts";
import { DEFAULT_LOCALES_DIR, LANGUAGES, toLanguage } from "../../src/bot/i18n.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { OPERATORS, offlineBot } from "./harness.ts";
import { memoryCoordinator } from "./memory-coordinator.ts";

const TOKEN = "7712345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

describe("scrubToken / describeError", () => {
  it("removes the token from URLs in messages, given or by shape", () => {
    const text = `request to https://api.telegram.org/bot${TOKEN}/getMe failed, reason: ECONNREFUSED`;
    expect(scrubToken(text, TOKEN)).toBe(
      "request to https://api.telegram.org/bot[token]/getMe failed, reason: ECONNREFUSED",
    );
    expect(scrubToken(text)).not.toContain(TOKEN);
    expect(scrubToken("short:TOKEN in text", "short:TOKEN")).toBe("[token] in text");
  });

  it("describes grammY errors without payloads or tokens", () => {
    const network = new HttpError(
      "Network request for 'getMe' failed!",
      new Error(`request to http://x/bot${TOKEN}/getMe failed`),
    );
    expect(describeError(network, TOKEN)).toEqual({
      name: "HttpError",
      message: "Network request for 'getMe' failed!",
      cause: "request to http://x/bot[token]/getMe failed",
    });
    const refused = new GrammyError(
      "Call to 'sendMessage' failed!",
      {
        ok: false,
        error_code: 429,
        description: "Too Many Requests: retry after 5",
        parameters: { retry_after: 5 },
      },
      "sendMessage",
      { chat_id: 1, text: "secret-ish message text" },
    );
    const described = describeError(refused, TOKEN);
    expect(described).toMatchObject({ method: "sendMessage", error_code: 429, retry_after: 5 });
    expect(JSON.stringify(described)).not.toContain("secret-ish");
    expect(shortError(refused)).toBe("sendMessage: 429 Too Many Requests: retry after 5");
    expect(describeError(new Error("boom"), TOKEN, { stack: true }).stack).toContain("boom");
  });
});

describe("command registry", () => {
  const registry: CommandSpec[] = [
    { command: "help", descriptionKey: "cmd-help", role: "viewer" },
    { command: "approve", descriptionKey: "cmd-help", role: "approver" },
    { command: "breaker_reset", descriptionKey: "cmd-help", role: "admin" },
  ];

  it("orders roles viewer < approver < admin", () => {
    expect(roleAtLeast("admin", "approver")).toBe(true);
    expect(roleAtLeast("approver", "admin")).toBe(false);
    expect(roleAtLeast("viewer", "viewer")).toBe(true);
    expect(commandsFor("viewer", registry).map((c) => c.command)).toEqual(["help"]);
    expect(commandsFor("approver", registry).map((c) => c.command)).toEqual(["help", "approve"]);
    expect(commandsFor("admin", registry).map((c) => c.command)).toEqual([
      "help",
      "approve",
      "breaker_reset",
    ]);
  });

  it("holds valid Telegram command names", () => {
    for (const spec of COMMANDS) expect(spec.command).toMatch(/^[a-z0-9_]{1,32}$/);
    expect(new Set(COMMANDS.map((c) => c.command)).size).toBe(COMMANDS.length);
  });

  it("sets menus per language for the default scope and each operator's chat; a failing chat is skipped", async () => {
    const t = offlineBot({
      operators: OPERATORS,
      db: undefined as never,
      coord: memoryCoordinator(),
      log: silentLogger(),
    });
    t.fail(
      (c) => (c.payload.scope as { chat_id?: number } | undefined)?.chat_id === 1001,
      400,
      "Bad Request: chat not found",
    );
    await registerCommands(t.bot.api, {
      operators: [
        { id: 1001, role: "admin" },
        { id: 1002, role: "viewer" },
      ],
      translate: (language, key) => `${language}:${key}`,
      log: silentLogger(),
      commands: registry,
    });
    const calls = t.calls.filter((c) => c.method === "setMyCommands").map((c) => c.payload);
    const summary = calls.map((p) => ({
      scope: p.scope,
      language: p.language_code ?? "(default)",
      commands: (p.commands as Array<{ command: string; description: string }>).map((c) => c.command),
    }));
    expect(summary).toEqual([
      { scope: { type: "default" }, language: "(default)", commands: ["help"] },
      { scope: { type: "default" }, language: "ru", commands: ["help"] },
      // The admin's chat fails once ("chat not found") and is not retried in other languages.
      {
        scope: { type: "chat", chat_id: 1001 },
        language: "(default)",
        commands: ["help", "approve", "breaker_reset"],
      },
      { scope: { type: "chat", chat_id: 1002 }, language: "(default)", commands: ["help"] },
      { scope: { type: "chat", chat_id: 1002 }, language: "ru", commands: ["help"] },
    ]);
    const ruMenu = calls[1]?.commands as Array<{ description: string }> | undefined;
    expect(ruMenu?.[0]?.description).toBe("ru:cmd-help");
  });
});

describe("locales", () => {
  const ids = (language: string) => {
    const dir = join(DEFAULT_LOCALES_DIR, language);
    const found = new Map<string, string>();
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ftl"))) {
      for (const match of readFileSync(join(dir, file), "utf8").matchAll(/^([a-z][a-z0-9-]*)\s*=/gm)) {
        found.set(match[1]!, file);
      }
    }
    return found;
  };

  it("every language has the same message ids, in the same files", () => {
    const english = ids("en");
    for (const language of LANGUAGES) expect(ids(language)).toEqual(english);
  });

  it("every command in the registry and every role has its texts", () => {
    const english = ids("en");
    for (const spec of COMMANDS) expect(english.has(spec.descriptionKey)).toBe(true);
    for (const role of ["viewer", "approver", "admin"]) {
      expect(english.has(`role-${role}`)).toBe(true);
      expect(english.has(`start-can-${role}`)).toBe(true);
    }
    for (const language of LANGUAGES) expect(english.has(`language-name-${language}`)).toBe(true);
  });

  it("maps Telegram language codes to supported languages", () => {
    expect(toLanguage("ru")).toBe("ru");
    expect(toLanguage("ru-RU")).toBe("ru");
    expect(toLanguage("EN_us")).toBe("en");
    expect(toLanguage("de")).toBeUndefined();
    expect(toLanguage(undefined)).toBeUndefined();
  });
});
