import { hostname } from "node:os";
import { redactText } from "../../guards/redact.ts";
import { canRetry, DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelay } from "../../guards/retry-policy.ts";
import type { Logger } from "../../observability/logger.ts";
import type { StuckRow } from "../worker.ts";
import type { Notifiers } from "./index.ts";
import type { SendResult } from "./types.ts";

/** The PagerDuty alert every delivery alert updates (one open alert, however long the outage). */
export const DELIVERY_DEDUP_KEY = "pitwall-delivery";

export interface DeliveryAlertOptions {
  notifiers: Notifiers;
  log: Logger;
  now?: () => Date;
  /** The worker's `stuckAfterMs`, for the wording. Default 2 minutes. */
  stuckAfterMs?: number;
  /**
   * At most one alert per channel this often: rows that get stuck in between are counted into
   * the next one (a long outage is one email every so often, not one per housekeeping pass).
   * Default 10 minutes.
   */
  minIntervalMs?: number;
  /** Tries per alert (the report's policy by default: 3 attempts, 1 s .. 60 s exponential). */
  retry?: RetryPolicy;
  /** PagerDuty `source`; default `pitwall@<hostname>`. */
  source?: string;
  /** Waits between tries (tests pass a fake). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface DeliveryAlertHandler {
  /** The outbox worker's `onStuck`: one email and one PagerDuty trigger for the whole batch. */
  onStuck(rows: readonly StuckRow[]): Promise<void>;
  /**
   * Delivery works again: resolves the PagerDuty alert and sends an all-clear email, when an
   * alert went out. The worker has no such callback yet (see the report); main may call it.
   */
  onRecovered(): Promise<void>;
  /** Cuts short any wait between tries (shutdown). */
  close(): void;
}

/** What one channel still has to report: the rows since its last successful alert. */
interface Backlog {
  rows: number;
  oldest: Date | null;
  chats: Map<string, number>;
  kinds: Map<string, number>;
  maxAttempts: number;
  lastError: { id: number; text: string } | null;
}

interface ChannelState {
  backlog: Backlog;
  lastSentAt: number | null;
  /** An alert went out and no all-clear has followed. */
  open: boolean;
}

const MAX_LISTED = 20;
const MAX_ERROR_CHARS = 300;

function emptyBacklog(): Backlog {
  return { rows: 0, oldest: null, chats: new Map(), kinds: new Map(), maxAttempts: 0, lastError: null };
}

function addRows(backlog: Backlog, rows: readonly StuckRow[]): void {
  for (const row of rows) {
    backlog.rows += 1;
    if (backlog.oldest === null || row.pendingSince < backlog.oldest) backlog.oldest = row.pendingSince;
    backlog.chats.set(row.chatId, (backlog.chats.get(row.chatId) ?? 0) + 1);
    backlog.kinds.set(row.kind, (backlog.kinds.get(row.kind) ?? 0) + 1);
    backlog.maxAttempts = Math.max(backlog.maxAttempts, row.attempts);
    if (row.lastError && (backlog.lastError === null || row.id >= backlog.lastError.id)) {
      backlog.lastError = { id: row.id, text: row.lastError };
    }
  }
}

/** Puts back what a failed send took out, beside what arrived meanwhile. */
function mergeBacklog(into: Backlog, from: Backlog): void {
  into.rows += from.rows;
  if (from.oldest && (into.oldest === null || from.oldest < into.oldest)) into.oldest = from.oldest;
  for (const [chat, n] of from.chats) into.chats.set(chat, (into.chats.get(chat) ?? 0) + n);
  for (const [kind, n] of from.kinds) into.kinds.set(kind, (into.kinds.get(kind) ?? 0) + n);
  into.maxAttempts = Math.max(into.maxAttempts, from.maxAttempts);
  if (from.lastError && (into.lastError === null || from.lastError.id > into.lastError.id)) {
    into.lastError = from.lastError;
  }
}

function listCounts(counts: Map<string, number>): string {
  const entries = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = entries.slice(0, MAX_LISTED).map(([name, n]) => `${name} (${n})`);
  if (entries.length > MAX_LISTED) shown.push(`+${entries.length - MAX_LISTED} more`);
  return shown.join(", ");
}

function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 120) return `${m} min`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** The last Telegram error, without secrets (a URL may carry the bot token) and short. */
function safeError(text: string): string {
  const clean = redactText(text).replace(/\s+/g, " ").trim();
  return clean.length > MAX_ERROR_CHARS ? `${clean.slice(0, MAX_ERROR_CHARS - 1)}…` : clean;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * The delivery alert (DESIGN.md, Delivery): when outbox rows stay undelivered, tell the
 * operators through the channels that do not depend on Telegram. It reports counts, ages, chats,
 * kinds and the last error, never what the messages say (approval arguments, alert texts). This
 * handler is the one place its sends are retried: the worker calls it once per batch and moves on.
 */
export function createDeliveryAlertHandler(opts: DeliveryAlertOptions): DeliveryAlertHandler {
  const { notifiers } = opts;
  const log = opts.log.child({ component: "delivery_alert" });
  const now = opts.now ?? (() => new Date());
  const stuckAfterMs = opts.stuckAfterMs ?? 120_000;
  const minIntervalMs = opts.minIntervalMs ?? 600_000;
  const retry = opts.retry ?? DEFAULT_RETRY_POLICY;
  const source = opts.source ?? `pitwall@${hostname()}`;
  const sleep = opts.sleep ?? abortableSleep;
  const closing = new AbortController();

  const channels = {
    email: { backlog: emptyBacklog(), lastSentAt: null, open: false } as ChannelState,
    pagerduty: { backlog: emptyBacklog(), lastSentAt: null, open: false } as ChannelState,
  };
  type Channel = keyof typeof channels;

  async function withRetries(channel: Channel, what: string, send: () => Promise<SendResult>) {
    for (let attempt = 1; ; attempt++) {
      const result = await send();
      if (result.ok) return result;
      const again = result.retryable && canRetry(attempt, retry) && !closing.signal.aborted;
      if (!again) {
        log.error(
          { channel, attempt, retryable: result.retryable, error: result.error },
          result.retryable ? "%s failed; tries used up" : "%s failed and will not succeed as configured",
          what,
        );
        return result;
      }
      const delayMs = retryDelay(attempt, retry);
      log.warn({ channel, attempt, retry_in_ms: delayMs, error: result.error }, "%s failed; retrying", what);
      await sleep(delayMs, closing.signal);
    }
  }

  function describe(backlog: Backlog, at: Date) {
    const oldestAgeMs = backlog.oldest ? at.getTime() - backlog.oldest.getTime() : 0;
    const noun = backlog.rows === 1 ? "message" : "messages";
    return {
      headline: `${backlog.rows} Telegram ${noun} undelivered for over ${duration(stuckAfterMs)} (oldest waiting ${duration(oldestAgeMs)})`,
      oldestAgeMs,
      lastError: backlog.lastError ? safeError(backlog.lastError.text) : null,
    };
  }

  async function alertByEmail(at: Date): Promise<void> {
    const email = notifiers.email;
    const state = channels.email;
    if (!email || state.backlog.rows === 0) return;
    const b = state.backlog;
    state.backlog = emptyBacklog();
    const d = describe(b, at);
    const text = [
      `pitwall: ${d.headline}.`,
      "It keeps every message and keeps retrying; nothing is discarded.",
      "",
      `Undelivered: ${b.rows}${state.open ? " more since the last delivery alert" : ""}`,
      `Oldest waiting since: ${b.oldest?.toISOString() ?? "-"} (${duration(d.oldestAgeMs)} ago)`,
      `Chats: ${listCounts(b.chats)}`,
      `Kinds: ${listCounts(b.kinds)}`,
      `Most attempts on one message: ${b.maxAttempts}`,
      `Last error: ${d.lastError ?? "none recorded"}`,
      "",
      "What to check: GET /ready on pitwall shows the delivery state; is Telegram reachable from",
      "pitwall, is the bot token valid, is the bot still a member of these chats?",
      `(sent by ${source} at ${at.toISOString()})`,
    ].join("\n");
    const result = await withRetries("email", "delivery alert email", () =>
      email.send({ subject: `[pitwall] delivery stuck: ${d.headline}`, text }),
    );
    // Carried into the next alert after a retryable failure; a permanent one will not improve
    // by carrying the rows on (the log has it).
    if (!result.ok && result.retryable) mergeBacklog(state.backlog, b);
    if (result.ok) {
      state.lastSentAt = at.getTime();
      state.open = true;
    }
  }

  async function alertByPagerDuty(at: Date): Promise<void> {
    const pagerduty = notifiers.pagerduty;
    const state = channels.pagerduty;
    if (!pagerduty || state.backlog.rows === 0) return;
    const b = state.backlog;
    state.backlog = emptyBacklog();
    const d = describe(b, at);
    const result = await withRetries("pagerduty", "delivery alert trigger", () =>
      pagerduty.trigger({
        dedupKey: DELIVERY_DEDUP_KEY,
        summary: `pitwall: ${d.headline}`,
        severity: "critical",
        source,
        component: "telegram-delivery",
        group: "pitwall",
        class: "delivery",
        timestamp: at,
        customDetails: {
          undelivered: b.rows,
          oldest_pending_since: b.oldest?.toISOString() ?? null,
          oldest_age_seconds: Math.round(d.oldestAgeMs / 1000),
          chats: Object.fromEntries(b.chats),
          kinds: Object.fromEntries(b.kinds),
          max_attempts: b.maxAttempts,
          last_error: d.lastError,
        },
      }),
    );
    if (!result.ok && result.retryable) mergeBacklog(state.backlog, b);
    if (result.ok) {
      state.lastSentAt = at.getTime();
      state.open = true;
    }
  }

  function due(state: ChannelState, at: Date): boolean {
    return state.lastSentAt === null || at.getTime() - state.lastSentAt >= minIntervalMs;
  }

  return {
    async onStuck(rows) {
      if (rows.length === 0) return;
      const at = now();
      const sends: Promise<void>[] = [];
      if (notifiers.email) {
        addRows(channels.email.backlog, rows);
        if (due(channels.email, at)) sends.push(alertByEmail(at));
      }
      if (notifiers.pagerduty) {
        addRows(channels.pagerduty.backlog, rows);
        if (due(channels.pagerduty, at)) sends.push(alertByPagerDuty(at));
      }
      if (sends.length === 0) {
        if (!notifiers.email && !notifiers.pagerduty) {
          log.error(
            { rows: rows.length, chats: [...new Set(rows.map((r) => r.chatId))] },
            "Telegram messages undelivered for over %s and no email or PagerDuty is configured",
            duration(stuckAfterMs),
          );
        } else {
          log.warn(
            { rows: rows.length, min_interval_ms: minIntervalMs },
            "more Telegram messages undelivered; they go into the next delivery alert",
          );
        }
        return;
      }
      await Promise.all(sends);
    },

    async onRecovered() {
      const at = now();
      const sends: Promise<unknown>[] = [];
      const email = notifiers.email;
      if (email && channels.email.open) {
        sends.push(
          withRetries("email", "delivery all-clear email", () =>
            email.send({
              subject: "[pitwall] Telegram delivery recovered",
              text: `pitwall delivers Telegram messages again; the messages that waited have been sent.\n(sent by ${source} at ${at.toISOString()})`,
            }),
          ),
        );
      }
      const pagerduty = notifiers.pagerduty;
      if (pagerduty && channels.pagerduty.open) {
        sends.push(
          withRetries("pagerduty", "delivery alert resolve", () => pagerduty.resolve(DELIVERY_DEDUP_KEY)),
        );
      }
      await Promise.all(sends);
      // A new outage alerts at once, whatever the outcome here.
      for (const state of Object.values(channels)) {
        state.backlog = emptyBacklog();
        state.lastSentAt = null;
        state.open = false;
      }
    },

    close() {
      closing.abort();
    },
  };
}
