import { GrammyError, HttpError } from "grammy";
import { scrubToken } from "../bot/errors.ts";
import type { RateLimit } from "../coord/types.ts";
import {
  canRetry,
  DEFAULT_RETRY_POLICY as DEFAULT_REPORT_RETRY,
  type RetryPolicy as ReportRetryPolicy,
  retryDelay,
} from "../guards/retry-policy.ts";

/**
 * The outbox's rules, without I/O: which Telegram failure means what, when to try again, how
 * fast each chat may be written to. The worker acts on these decisions.
 */

/** What went wrong with one Bot API call, and so what the worker does about it. */
export type DeliveryFailure =
  /** 429: nothing of that chat is sent before retryAfterMs; not an attempt. */
  | { kind: "rate_limited"; retryAfterMs: number }
  /** The group became a supergroup: follow, remember, retry at once. */
  | { kind: "migrated"; toChatId: string }
  /** An edit to the same content: the message already shows it. Success. */
  | { kind: "not_modified" }
  /** Telegram could not parse the HTML (or counted it too long): resend as plain text. */
  | { kind: "entities" }
  /** The message to edit or delete is gone (or too old): a full edit is sent as a new message. */
  | { kind: "target_missing" }
  /** 403: the bot was blocked, kicked, or cannot write there. The whole chat retries slowly. */
  | { kind: "forbidden" }
  /** The chat or topic does not exist (for this bot): the whole chat retries slowly. */
  | { kind: "chat_unreachable" }
  /** 401/404: wrong token or API root. Every chat would fail: the worker pauses. */
  | { kind: "unauthorized" }
  /** 5xx, timeouts, network errors: the retry policy. */
  | { kind: "transient" }
  /** Any other 4xx: a bug in what pitwall sent. Logged as an error, retried slowly, never dropped. */
  | { kind: "bad_request" };

export type ClassifiedFailure = DeliveryFailure & {
  /** error_code, or "network" (for metrics). */
  code: string;
  /** Telegram's description or the network error, for logs and `last_error`. */
  description: string;
};

const NOT_MODIFIED = /message is not modified/i;
const ENTITIES =
  /can't parse entities|can't find end of|unsupported start tag|unclosed start tag|entity beginning|(?:message|text|caption) is too long|MESSAGE_TOO_LONG|ENTITY_TEXT_INVALID|ENTITIES_TOO_LONG/i;
const TARGET_MISSING =
  /message to (?:edit|delete) not found|MESSAGE_ID_INVALID|message can't be (?:edited|deleted)|message to be replied not found/i;
const CHAT_UNREACHABLE =
  /chat not found|message thread not found|TOPIC_CLOSED|TOPIC_DELETED|not enough rights|have no rights|CHAT_WRITE_FORBIDDEN|CHAT_ADMIN_REQUIRED|PEER_ID_INVALID/i;

/** Default wait when a 429 comes without retry_after (should not happen). */
const DEFAULT_RETRY_AFTER_MS = 5_000;

export function classifyTelegramError(err: unknown, token?: string): ClassifiedFailure {
  if (err instanceof GrammyError) {
    const code = String(err.error_code);
    const description = err.description;
    const migrateTo = err.parameters?.migrate_to_chat_id;
    if (migrateTo !== undefined) return { kind: "migrated", toChatId: String(migrateTo), code, description };
    if (err.error_code === 429) {
      const seconds = err.parameters?.retry_after;
      const retryAfterMs =
        typeof seconds === "number" && seconds >= 0 ? seconds * 1000 : DEFAULT_RETRY_AFTER_MS;
      return { kind: "rate_limited", retryAfterMs, code, description };
    }
    if (err.error_code === 403) return { kind: "forbidden", code, description };
    if (err.error_code === 401 || err.error_code === 404) return { kind: "unauthorized", code, description };
    if (err.error_code >= 500 || err.error_code === 408 || err.error_code === 409) {
      return { kind: "transient", code, description };
    }
    if (NOT_MODIFIED.test(description)) return { kind: "not_modified", code, description };
    if (TARGET_MISSING.test(description)) return { kind: "target_missing", code, description };
    if (ENTITIES.test(description)) return { kind: "entities", code, description };
    if (CHAT_UNREACHABLE.test(description)) return { kind: "chat_unreachable", code, description };
    return { kind: "bad_request", code, description };
  }
  // A network error's message holds the request URL, `.../bot<token>/sendMessage`: the
  // description goes to logs, the outbox row and /ready's public body, so the token is cut out.
  const description = scrubToken(
    err instanceof HttpError
      ? `${err.message}${err.error instanceof Error ? ` (${err.error.message})` : ""}`
      : err instanceof Error
        ? err.message
        : String(err),
    token,
  );
  return { kind: "transient", code: "network", description };
}

/**
 * How the outbox retries: the report's `retry:` policy (3 attempts, 1 s .. 60 s exponential;
 * src/guards/retry-policy.ts) for the first tries, then every 60 s for 24 h, then every
 * 10 minutes. Rows are never given up.
 */
export interface RetryPolicy {
  /** The report's `retry:` block (config); its attempts are the fast ones. */
  report: ReportRetryPolicy;
  /** After the report's attempts, until the row is `steadyForMs` old. */
  steadyDelayMs: number;
  steadyForMs: number;
  /** After `steadyForMs`. */
  lateDelayMs: number;
  /** 403, unknown chat, and 4xx that are pitwall's own bugs. */
  slowDelayMs: number;
  /** 401/404 (wrong token): the whole worker waits this long. */
  unauthorizedPauseMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  report: { ...DEFAULT_REPORT_RETRY },
  steadyDelayMs: 60_000,
  steadyForMs: 24 * 60 * 60 * 1000,
  lateDelayMs: 10 * 60 * 1000,
  slowDelayMs: 10 * 60 * 1000,
  unauthorizedPauseMs: 60_000,
};

/**
 * Delay before the next try after a transient failure. `attempts` counts failures so far,
 * this one included; `ageMs` is how long the row's content has waited.
 */
export function transientDelayMs(
  policy: RetryPolicy,
  attempts: number,
  ageMs: number,
  random: () => number = Math.random,
): number {
  if (ageMs >= policy.steadyForMs) return policy.lateDelayMs;
  if (canRetry(attempts, policy.report)) return retryDelay(attempts, policy.report, random);
  return policy.steadyDelayMs;
}

/** Per-chat and overall pacing, shared by every instance through the coordinator. */
export interface Pacing {
  /** A private chat. */
  private: RateLimit;
  /** Groups, supergroups and channels. */
  group: RateLimit;
  /** Every chat together. */
  global: RateLimit;
}

/**
 * Telegram's published limits are about 1 msg/s per private chat (short bursts tolerated),
 * 20/min per group and 30/s overall, and they count sliding windows. A GCRA limiter with burst B
 * and rate L lets through up to B + L - 1 in any one period, so the defaults keep B + L at or below
 * the window's size minus one, leaving room for network jitter: bursts for the first messages of
 * an incident, the sustained rate just under the limit.
 */
export const DEFAULT_PACING: Pacing = {
  private: { limit: 1, periodMs: 1_000, burst: 2 },
  group: { limit: 16, periodMs: 60_000, burst: 4 },
  global: { limit: 25, periodMs: 1_000, burst: 5 },
};

/** Negative ids are groups, supergroups and channels; `@name` is a public channel. */
export function isGroupChat(chatId: string): boolean {
  return chatId.startsWith("-") || chatId.startsWith("@");
}

export function pacingFor(pacing: Pacing, chatId: string): RateLimit {
  return isGroupChat(chatId) ? pacing.group : pacing.private;
}
