/**
 * The daily digest: collect the last 24 hours, render them (text, headline, chart, email), and
 * deliver them exactly once per local date: the row of the date is claimed in the transaction that
 * queues the digest chat's messages, so two instances, a brief second leader, a restart or the
 * schedule and the catch-up racing each other still send one. The email copy goes after commit,
 * with its own retries (at least once).
 */

import type { Part } from "../../bot/format/index.ts";
import type { Config } from "../../config/index.ts";
import { enqueue, PRIORITY } from "../../delivery/index.ts";
import type { ChatTarget } from "../../delivery/types.ts";
import type { Logger } from "../../observability/logger.ts";
import { type Db, inTransaction } from "../../store/pool.ts";
import { digestChartPng } from "./chart.ts";
import {
  type BudgetStatusesAt,
  collectDigest,
  type DigestData,
  type DigestWindow,
  windowEndingAt,
} from "./collect.ts";
import {
  type DigestEmail,
  type DigestMeta,
  digestCaption,
  digestEmail,
  digestText,
  summarize,
} from "./render.ts";
import type { DigestSchedule } from "./schedule.ts";
import {
  claimDigest,
  claimEmail,
  digestExistsFrom,
  digestsInstalledAt,
  dueEmails,
  emailFailed,
  emailSent,
  recordOutboxRows,
} from "./store.ts";
import type { Translate } from "./texts.ts";

/**
 * After its scheduled time, the schedule's own run has this long to claim the date before the
 * catch-up does (and marks it late).
 */
export const CATCH_UP_GRACE_MS = 5 * 60_000;
const EMAIL_LEASE_MS = 2 * 60_000;
const EMAIL_MAX_ATTEMPTS = 12;
const EMAIL_FIRST_RETRY_MS = 60_000;
const EMAIL_MAX_RETRY_MS = 30 * 60_000;

/** Sends the digest by email; answers like the notifiers: `{ok: false, retryable}` or a throw is a failure. */
export interface DigestMailer {
  send(message: { subject: string; text: string; html?: string }): Promise<unknown>;
}

export interface DigestServiceDeps {
  config: Config;
  db: Db;
  log: Logger;
  now: () => Date;
  schedule: DigestSchedule;
  /** The digest chat, when Telegram is on. */
  chat: ChatTarget | null;
  /** The email copy, when digest.email is configured. */
  mailer: DigestMailer | null;
  /** The team's language (digest chat and email). */
  t: Translate;
  /** Budget statuses at an instant: ops' budgetStatuses, so the digest's budget lines match /budgets. */
  budgetStatuses: BudgetStatusesAt;
}

/** One digest, rendered for every channel. */
export interface BuiltDigest {
  data: DigestData;
  meta: DigestMeta;
  caption: Part[];
  text: Part[];
  png: Uint8Array;
}

export type ScheduledOutcome =
  | { kind: "sent"; date: string; late: boolean }
  | { kind: "already-sent"; date: string }
  | { kind: "not-due" }
  | { kind: "nowhere-to-send" };

export interface DigestService {
  /** Collects and renders a digest of `window` in the words of `t`. */
  build(window: DigestWindow, meta: DigestMeta, t: Translate): Promise<BuiltDigest>;
  /** The last 24 hours up to now, for `/digest`. */
  onDemand(t: Translate): Promise<BuiltDigest>;
  /**
   * The schedule's run (`schedule`), or the catch-up (`catch_up`: on leader start and every
   * minute): sends the digest of the latest scheduled time that has no digest yet, unless a newer
   * one went out. The catch-up waits CATCH_UP_GRACE_MS past the scheduled time and marks what it
   * sends late.
   */
  runScheduled(trigger: "schedule" | "catch_up"): Promise<ScheduledOutcome>;
  /** Attempts the emails that are due (first tries that were interrupted, and retries). */
  retryEmails(): Promise<void>;
}

interface NotifierFailure {
  ok: false;
  retryable?: boolean;
  error?: string;
}

function isFailure(result: unknown): result is NotifierFailure {
  return typeof result === "object" && result !== null && (result as { ok?: unknown }).ok === false;
}

function emailRetryDelay(attempts: number): number {
  return Math.min(EMAIL_MAX_RETRY_MS, EMAIL_FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
}

export function createDigestService(deps: DigestServiceDeps): DigestService {
  const { config, db, log, schedule } = deps;
  const timeZone = config.digest.timezone;

  const build: DigestService["build"] = async (window, meta, t) => {
    const data = await collectDigest({ db, config, budgetStatuses: deps.budgetStatuses }, window);
    const title =
      meta.date === undefined ? t("digest-title-on-demand") : t("digest-title", { date: meta.date });
    return {
      data,
      meta,
      caption: digestCaption(data, meta, t),
      text: digestText(data, meta, t),
      png: digestChartPng(data, { t, timeZone, title }),
    };
  };

  const deliverEmail = async (date: string): Promise<void> => {
    if (!deps.mailer) return;
    const now = deps.now().getTime();
    const claimed = await claimEmail(db, date, now, EMAIL_LEASE_MS);
    if (!claimed) return;
    let result: unknown;
    try {
      result = await deps.mailer.send(claimed.payload);
    } catch (err) {
      result = { ok: false, retryable: true, error: err instanceof Error ? err.message : String(err) };
    }
    const after = deps.now().getTime();
    if (!isFailure(result)) {
      await emailSent(db, date, after);
      log.info({ date, attempts: claimed.attempts }, "digest emailed");
      return;
    }
    const error = result.error ?? "email not sent";
    const retry = result.retryable !== false && claimed.attempts < EMAIL_MAX_ATTEMPTS;
    await emailFailed(db, date, { error, retryAt: retry ? after + emailRetryDelay(claimed.attempts) : null });
    if (retry) log.warn({ date, attempts: claimed.attempts, error }, "digest email failed; will retry");
    else log.error({ date, attempts: claimed.attempts, error }, "digest email failed; giving up");
  };

  const runScheduled: DigestService["runScheduled"] = async (trigger) => {
    if (!deps.chat && !deps.mailer) return { kind: "nowhere-to-send" };
    const now = deps.now().getTime();
    const slot = schedule.latestSlot(now);
    if (!slot) return { kind: "not-due" };
    const lateBy = now - slot.at;
    if (trigger === "catch_up" && lateBy < CATCH_UP_GRACE_MS) return { kind: "not-due" };
    if (await digestExistsFrom(db, slot.date)) return { kind: "already-sent", date: slot.date };
    if (trigger === "catch_up") {
      // A schedule that passed before pitwall had digests at all was not missed.
      const installedAt = await digestsInstalledAt(db);
      if (installedAt !== null && installedAt > slot.at) return { kind: "not-due" };
    }
    const late = lateBy >= CATCH_UP_GRACE_MS;
    const meta: DigestMeta = {
      timeZone,
      date: slot.date,
      ...(late ? { late: { scheduledAt: slot.at, sentAt: now } } : {}),
    };
    const digest = await build(windowEndingAt(slot.at), meta, deps.t);
    const email: DigestEmail | null = deps.mailer ? digestEmail(digest.data, meta, deps.t) : null;
    const summary = summarize(digest.data);

    const claimed = await inTransaction(db, async (client) => {
      const won = await claimDigest(client, {
        date: slot.date,
        scheduledAt: slot.at,
        windowStart: digest.data.window.start,
        windowEnd: digest.data.window.end,
        late,
        createdAt: now,
        email,
        summary: { ...summary, providers: summary.providers.slice(0, 20) },
      });
      if (!won) return false;
      if (deps.chat) {
        // The chart with its headline first, then the full text (one chat delivers in queue order).
        const photo = await enqueue(client, {
          method: "sendPhoto",
          kind: "digest",
          priority: PRIORITY.DIGEST,
          chat: deps.chat,
          file: { data: digest.png, filename: `digest-${slot.date}.png` },
          caption: digest.caption,
          silent: true,
        });
        const text = await enqueue(client, {
          method: "sendMessage",
          kind: "digest",
          priority: PRIORITY.DIGEST,
          chat: deps.chat,
          parts: digest.text,
          silent: true,
        });
        await recordOutboxRows(client, slot.date, { photo, text });
      }
      return true;
    });
    if (!claimed) return { kind: "already-sent", date: slot.date };
    log.info(
      { date: slot.date, late, trigger, chat: deps.chat !== null, email: email !== null },
      late ? "daily digest queued (late)" : "daily digest queued",
    );
    if (email) {
      // Queued with the row: a failure here is retried by the catch-up's email pass.
      await deliverEmail(slot.date).catch((err: unknown) =>
        log.warn({ err, date: slot.date }, "digest email not attempted; will retry"),
      );
    }
    return { kind: "sent", date: slot.date, late };
  };

  return {
    build,
    onDemand(t) {
      const now = deps.now().getTime();
      return build(windowEndingAt(now), { timeZone }, t);
    },
    runScheduled,
    async retryEmails() {
      if (!deps.mailer) return;
      for (const date of await dueEmails(db, deps.now().getTime())) await deliverEmail(date);
    },
  };
}
