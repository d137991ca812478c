// The local Telegram that a newcomer's first run gets (DESIGN.md "Running"): no bot token and no
// `telegram` section -> an emulated Bot API in this process, three local operators (one per role),
// three group chats (alerts, approvals, digest), and the web console at /console that shows them.

import { randomBytes } from "node:crypto";
import { isIP } from "node:net";
import type { Config, TelegramConfig } from "../config/index.ts";
import type { Pacing } from "../delivery/index.ts";
import type { Logger } from "../observability/logger.ts";
import { type FakeBotApi, startFakeBotApi } from "../telegram-emulator/index.ts";

export type LocalRole = "admin" | "approver" | "viewer";

export interface LocalOperator {
  id: number;
  role: LocalRole;
  /** Shown by the bot ("approved by ...") and in the console's picker. */
  name: string;
}

/** The acting users the console's role picker switches between; admin first (the default). */
export const LOCAL_OPERATORS: readonly LocalOperator[] = [
  { id: 1001, role: "admin", name: "Ada (admin)" },
  { id: 1002, role: "approver", name: "Abe (approver)" },
  { id: 1003, role: "viewer", name: "Vic (viewer)" },
];

export type LocalChatName = "alerts" | "approvals" | "digest";

export interface LocalChat {
  name: LocalChatName;
  /** A supergroup id, as a real team's chats would be. */
  id: number;
  title: string;
}

export const LOCAL_CHATS: readonly LocalChat[] = [
  { name: "alerts", id: -1009000000001, title: "pitwall · alerts" },
  { name: "approvals", id: -1009000000002, title: "pitwall · approvals" },
  { name: "digest", id: -1009000000003, title: "pitwall · digest" },
];

export const LOCAL_BOT = { id: 7000000001, username: "pitwall_local_bot", first_name: "pitwall" } as const;

/**
 * Outbox pacing against the local Bot API. Telegram's limits protect Telegram; here they would
 * only make the console lag behind the pipeline (a burst of alerts queued at 16 per minute per
 * chat), so the console runs with pacing far above anything a person watches, and the emulator's
 * own flood control is off. Rate-limit behaviour is tested against the fake with its limits on.
 */
export const LOCAL_PACING: Pacing = {
  private: { limit: 30, periodMs: 1_000, burst: 30 },
  group: { limit: 30, periodMs: 1_000, burst: 30 },
  global: { limit: 100, periodMs: 1_000, burst: 100 },
};

export type ConsolePlan =
  | { kind: "console"; password: string | null; allowRemote: boolean }
  | { kind: "api-only"; reason: string; warn: boolean };

/** Problems the operator must fix before pitwall starts (printed without a stack). */
export class ConsoleConfigError extends Error {}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .replace(/^\[(.*)\]$/, "$1")
    .toLowerCase();
  if (bare === "localhost" || bare.endsWith(".localhost")) return true;
  if (bare === "::1" || bare === "0:0:0:0:0:0:0:1") return true;
  const v4 = bare.startsWith("::ffff:") ? bare.slice("::ffff:".length) : bare;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * Whether the no-token run gets the console (only called without a token and without a
 * `telegram` section). `console.enabled: false` keeps the API-only run. On an address other than
 * loopback the console would hand admin rights to anyone who reaches the port, so it needs
 * `console.allow_remote: true` (which the schema only accepts together with a password): with
 * `enabled: auto` pitwall then runs API-only and says why; with `enabled: true` it refuses to start.
 */
export function planLocalConsole(config: Pick<Config, "console">, host: string): ConsolePlan {
  const settings = config.console;
  if (settings.enabled === false) {
    return {
      kind: "api-only",
      warn: true,
      reason:
        "No TELEGRAM_BOT_TOKEN and console.enabled is false: running API-only (nothing is delivered to Telegram)",
    };
  }
  if (!isLoopbackHost(host) && !settings.allow_remote) {
    const why = `HOST is ${host}, not a loopback address, and console.allow_remote is not true: anyone who reaches the port would act as a pitwall admin`;
    if (settings.enabled === true) {
      throw new ConsoleConfigError(
        `${why}. Set HOST=127.0.0.1, or set console.allow_remote: true with console.password, or set TELEGRAM_BOT_TOKEN`,
      );
    }
    return {
      kind: "api-only",
      warn: true,
      reason: `No TELEGRAM_BOT_TOKEN: the local console is off (${why}); running API-only. Set HOST=127.0.0.1, or console.allow_remote: true with console.password`,
    };
  }
  return { kind: "console", password: settings.password ?? null, allowRemote: settings.allow_remote };
}

/** The `telegram` section the local run behaves as if it had been given. */
export function localTelegramConfig(apiRoot: string): TelegramConfig {
  const chat = (name: LocalChatName) => ({ id: LOCAL_CHATS.find((c) => c.name === name)!.id, thread: null });
  return {
    operators: LOCAL_OPERATORS.map(({ id, role, name }) => ({ id, role, name })),
    chats: {
      alerts: chat("alerts"),
      approvals: chat("approvals"),
      digest: chat("digest"),
      escalation: chat("alerts"),
    },
    quiet_hours: null,
    api_root: apiRoot,
    mode: "polling",
    webhook: null,
  };
}

export interface LocalTelegram {
  api: FakeBotApi;
  /** The bot token of this run: random, valid only against the local Bot API. */
  token: string;
  apiRoot: string;
  telegram: TelegramConfig;
  stop(): Promise<void>;
}

/**
 * Starts the emulated Bot API on a random loopback port (the bot and the outbox reach it over
 * HTTP exactly as they reach Telegram) and creates the local chats.
 */
export async function startLocalTelegram(opts: { log: Logger }): Promise<LocalTelegram> {
  const token = `${LOCAL_BOT.id}:${randomBytes(27).toString("base64url")}`;
  const api = await startFakeBotApi({
    token,
    botUser: { id: LOCAL_BOT.id, username: LOCAL_BOT.username, first_name: LOCAL_BOT.first_name },
    limits: { enforce: false },
    // Real long polls (Telegram holds them up to the asked timeout); the test default is 1 s.
    longPollMaxMs: 25_000,
    // The console runs for days: keep the call log short (the chats keep every message).
    maxRecordedCalls: 200,
  });
  const { emulator } = api;
  for (const operator of LOCAL_OPERATORS) {
    emulator.store.rememberUser({ id: operator.id, first_name: operator.name });
    emulator.store.ensure(operator.id, { id: operator.id, type: "private" });
  }
  for (const chat of LOCAL_CHATS)
    emulator.store.ensure(chat.id, { id: chat.id, type: "supergroup", title: chat.title });
  opts.log.debug({ api_root: api.apiRoot }, "local Bot API started");
  return {
    api,
    token,
    apiRoot: api.apiRoot,
    telegram: localTelegramConfig(api.apiRoot),
    stop: () => api.stop(),
  };
}
