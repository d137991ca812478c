import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.ts";
import { basicPassword, hostName, passwordMatches } from "../../src/console/auth.ts";
import { demoConfig } from "../../src/console/demo.ts";
import {
  ConsoleConfigError,
  isLoopbackHost,
  LOCAL_CHATS,
  LOCAL_OPERATORS,
  localTelegramConfig,
  planLocalConsole,
} from "../../src/console/local.ts";
import { toConsoleMessage } from "../../src/console/view.ts";
import type { StoredMessage } from "../../src/telegram-emulator/index.ts";

type ConsoleSettings = Parameters<typeof planLocalConsole>[0]["console"];
const settings = (over: Partial<ConsoleSettings> = {}): { console: ConsoleSettings } => ({
  console: { enabled: "auto", allow_remote: false, password: null, ...over },
});

describe("where the console may run", () => {
  it("knows loopback addresses and names", () => {
    for (const host of [
      "127.0.0.1",
      "127.1.2.3",
      "::1",
      "[::1]",
      "localhost",
      "LOCALHOST",
      "::ffff:127.0.0.1",
    ]) {
      expect(isLoopbackHost(host), host).toBe(true);
    }
    for (const host of [
      "0.0.0.0",
      "::",
      "192.168.1.10",
      "10.0.0.1",
      "example.com",
      "127.0.0.1.evil.com",
      "",
    ]) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it("starts on loopback with the default settings", () => {
    expect(planLocalConsole(settings(), "127.0.0.1")).toEqual({
      kind: "console",
      password: null,
      allowRemote: false,
    });
  });

  it("stays API-only when console.enabled is false", () => {
    const plan = planLocalConsole(settings({ enabled: false }), "127.0.0.1");
    expect(plan).toMatchObject({ kind: "api-only" });
    if (plan.kind === "api-only") expect(plan.reason).toMatch(/console\.enabled is false.*API-only/);
  });

  it("on a non-loopback HOST: auto falls back to API-only and says why; true refuses to start", () => {
    const plan = planLocalConsole(settings(), "0.0.0.0");
    expect(plan.kind).toBe("api-only");
    if (plan.kind === "api-only") expect(plan.reason).toMatch(/HOST is 0\.0\.0\.0.*allow_remote/);
    expect(() => planLocalConsole(settings({ enabled: true }), "0.0.0.0")).toThrow(ConsoleConfigError);
    expect(() => planLocalConsole(settings({ enabled: true }), "0.0.0.0")).toThrow(/console\.password/);
  });

  it("runs remotely only with allow_remote and its password", () => {
    expect(planLocalConsole(settings({ allow_remote: true, password: "correct horse" }), "0.0.0.0")).toEqual({
      kind: "console",
      password: "correct horse",
      allowRemote: true,
    });
  });

  it("the schema refuses allow_remote without a password", () => {
    const result = parseConfig("console:\n  allow_remote: true\n", {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.path)).toContain("console.password");
  });
});

describe("the local telegram section", () => {
  it("has one operator per role, admin first, and the three group chats", () => {
    const telegram = localTelegramConfig("http://127.0.0.1:1");
    expect(telegram.operators.map((op) => op.role)).toEqual(["admin", "approver", "viewer"]);
    expect(telegram.operators.map((op) => op.id)).toEqual(LOCAL_OPERATORS.map((op) => op.id));
    const ids = Object.fromEntries(LOCAL_CHATS.map((chat) => [chat.name, chat.id]));
    expect(telegram.chats.alerts.id).toBe(ids.alerts);
    expect(telegram.chats.approvals.id).toBe(ids.approvals);
    expect(telegram.chats.digest.id).toBe(ids.digest);
    expect(telegram.chats.escalation.id).toBe(ids.alerts);
    expect(telegram.api_root).toBe("http://127.0.0.1:1");
  });
});

describe("console password", () => {
  it("reads HTTP Basic credentials (any user name)", () => {
    const header = `Basic ${Buffer.from("anyone:s3cret:with:colons").toString("base64")}`;
    expect(basicPassword(header)).toBe("s3cret:with:colons");
    expect(basicPassword("Bearer abc")).toBeUndefined();
    expect(basicPassword(undefined)).toBeUndefined();
    expect(basicPassword(`Basic ${Buffer.from("no-colon").toString("base64")}`)).toBeUndefined();
  });

  it("compares whole passwords", () => {
    expect(passwordMatches("correct horse", "correct horse")).toBe(true);
    expect(passwordMatches("correct hors", "correct horse")).toBe(false);
    expect(passwordMatches("correct horse!", "correct horse")).toBe(false);
    expect(passwordMatches(undefined, "correct horse")).toBe(false);
  });

  it("takes the host name out of a Host header", () => {
    expect(hostName("127.0.0.1:8080")).toBe("127.0.0.1");
    expect(hostName("[::1]:8080")).toBe("[::1]");
    expect(hostName("localhost")).toBe("localhost");
    expect(hostName(undefined)).toBe("");
  });
});

describe("the demo config", () => {
  it("gives the demo's breaker a short cooldown and leaves the rest alone", () => {
    const parsed = parseConfig("", {});
    if (!parsed.ok) throw new Error("defaults must parse");
    const config = demoConfig(parsed.config);
    const breaker = config.circuit_breaker.breakers.find((b) => b.name === "openai");
    expect(breaker?.timeout).toEqual({ initialMs: 20_000, maxMs: 60_000 });
    expect(config.cost_management).toEqual(parsed.config.cost_management);
    expect(config.circuit_breaker.timeout).toEqual(parsed.config.circuit_breaker.timeout);
  });
});

describe("a message as the page sees it", () => {
  const base: StoredMessage = {
    message_id: 7,
    chat_id: -1009000000001,
    from: { id: 7000000001, is_bot: true, first_name: "pitwall" },
    outgoing: true,
    date: 1_700_000_000,
    text: "Disk <full>",
    source: "<b>Disk</b> &lt;full&gt;",
    parse_mode: "HTML",
    entities: [{ type: "bold", offset: 0, length: 4 }],
    disable_notification: true,
    edited: 0,
    deleted: false,
  };

  it("carries the visible text and entities, never the HTML source", () => {
    const view = toConsoleMessage(base);
    expect(view.text).toBe("Disk <full>");
    expect(view.entities).toEqual([{ type: "bold", offset: 0, length: 4 }]);
    expect(JSON.stringify(view)).not.toContain("&lt;");
    expect(view.silent).toBe(true);
    expect(view.from).toEqual({ id: 7000000001, name: "pitwall", isBot: true });
  });

  it("keeps callback and http(s) buttons, and drops other URLs", () => {
    const view = toConsoleMessage({
      ...base,
      reply_markup: {
        inline_keyboard: [
          [
            { text: "Approve", callback_data: "ap:ok:AAAAAAAAAAAAAAAA" },
            { text: "Docs", url: "https://example.com/x" },
            { text: "Bad", url: "javascript:alert(1)" },
          ],
        ],
      },
    });
    expect(view.keyboard).toEqual([
      [
        { text: "Approve", data: "ap:ok:AAAAAAAAAAAAAAAA" },
        { text: "Docs", url: "https://example.com/x" },
        { text: "Bad" },
      ],
    ]);
  });

  it("points documents at the console's file route and marks ForceReply", () => {
    const view = toConsoleMessage({
      ...base,
      text: undefined,
      caption: "arguments",
      document: {
        file_id: "BQAC/x+y",
        file_unique_id: "u",
        file_name: "args-1.json",
        mime_type: "application/json",
        size: 12,
        content: Buffer.from("{}"),
      },
      reply_markup: { force_reply: true, selective: true },
    });
    expect(view.text).toBe("arguments");
    expect(view.document).toEqual({
      href: "/console/files/BQAC%2Fx%2By",
      name: "args-1.json",
      mime: "application/json",
      size: 12,
    });
    expect(view.forceReply).toBe(true);
  });

  it("shows a deleted message as deleted, without its text", () => {
    const view = toConsoleMessage({ ...base, deleted: true });
    expect(view).toMatchObject({ deleted: true, text: "", entities: [] });
  });
});
