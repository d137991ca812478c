import { performance } from "node:perf_hooks";
import { type Api, InputFile } from "grammy";
import type { InlineKeyboardMarkup } from "grammy/types";
import type { Coordinator } from "../coord/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { type Db, type DbClient, inTransaction } from "../store/pool.ts";
import { OUTBOX_CHANNEL } from "./outbox.ts";
import {
  type ClassifiedFailure,
  classifyTelegramError,
  DEFAULT_PACING,
  DEFAULT_RETRY_POLICY,
  type Pacing,
  pacingFor,
  type RetryPolicy,
  transientDelayMs,
} from "./policy.ts";
import type { OutboxMethod, OutboxOutcome, OutboxPayload } from "./types.ts";

/** A row that has waited longer than `stuckAfterMs`: the delivery alert reports these. */
export interface StuckRow {
  id: number;
  kind: string;
  chatId: string;
  method: OutboxMethod;
  attempts: number;
  lastError: string | null;
  pendingSince: Date;
}

export interface OutboxWorkerStatus {
  /** `degraded`: Telegram is failing, a chat cannot be reached, or rows wait too long. */
  state: "ok" | "degraded";
  /** Why it is degraded, for `/ready`'s body. */
  reasons: string[];
  lastError?: { at: string; method: string; chatId: string; code: string; description: string };
  lastSuccessAt?: string;
  /** Rows not yet delivered (as of the last housekeeping pass). */
  depth: number;
  oldestPendingAgeMs: number | null;
  /** Chats pitwall cannot deliver to (bot blocked, chat gone) that have rows waiting. */
  unreachableChats: number;
  running: boolean;
}

export interface OutboxWorkerOptions {
  db: Db;
  coord: Pick<Coordinator, "rateLimit">;
  /** An Api with no auto-retry transformer: the outbox owns retries (see `createOutboxApi`). */
  api: Api;
  log: Logger;
  metrics?: Pick<Metrics, "telegramErrors" | "notifications" | "outboxDepth" | "sendLatency" | "outboxWait">;
  /** Shown as the claim owner in the table and logs. */
  instanceId: string;
  pacing?: Partial<Pacing>;
  retry?: Partial<RetryPolicy>;
  /**
   * A claimed row is anyone's again this long after its claim (the crash case). Default 25 s:
   * after an instance dies, the chats whose rows it held stay quiet this long, so it is kept
   * short; it must stay well above callTimeoutMs.
   */
  leaseMs?: number;
  /** Each Bot API call is aborted after this; must be well under the lease. Default 10 s. */
  callTimeoutMs?: number;
  /** Rows (one per chat) sent at the same time. Default 8. */
  maxInFlight?: number;
  /** Longest sleep when nothing is due and no notification arrives. Default 1 s. */
  pollMs?: number;
  /** A row undelivered this long raises the delivery alert. Default 2 minutes. */
  stuckAfterMs?: number;
  /** Depth, status and stuck rows are refreshed this often. Default 5 s. */
  housekeepingMs?: number;
  /**
   * Called once per row undelivered for `stuckAfterMs`, with every row that got there since the
   * last pass (so a Telegram outage makes one email, not hundreds). main wires email/PagerDuty
   * when configured; the default logs an error.
   */
  onStuck?: (rows: readonly StuckRow[]) => Promise<void>;
  /**
   * Called once when, after this worker reported stuck rows, no row waits longer than
   * `stuckAfterMs` any more (resolves the delivery alert: PagerDuty resolve, all-clear email).
   */
  onRecovered?: () => Promise<void>;
  /** LISTEN for new rows (default true); without it new rows wait for the poll. */
  listen?: boolean;
}

export interface OutboxWorker {
  start(): void;
  /** No new claims; resolves once every call in flight has finished and been recorded. */
  stop(): Promise<void>;
  /** Wakes the loop now (new rows in this process; NOTIFY does this across instances). */
  wake(): void;
  /** One housekeeping pass now (tests, /ready refresh). */
  housekeeping(): Promise<void>;
  status(): OutboxWorkerStatus;
}

interface ClaimedRow {
  id: number;
  kind: string;
  priority: number;
  chat_id: string;
  thread_id: number | null;
  method: OutboxMethod;
  payload: OutboxPayload;
  message_ref: string | null;
  target_ref: string | null;
  as_plain: boolean;
  attempts: number;
  age_ms: number;
  target_chat_id: string | null;
  target_message_id: number | null;
  /** This claim's owner token. */
  claimed_by: string;
}

/** Claims are serialised on this advisory lock so "one row in flight per chat" holds across instances. */
const CLAIM_LOCK_ID = 727_010;

const SEND_METHODS = ["sendMessage", "sendPhoto", "sendDocument"];

/**
 * The sets every candidate is checked against, computed once per statement (materialized, and
 * used through hashed NOT IN): the plan stays linear in pending rows even when the table's
 * statistics are stale, as they are when a storm fills an empty outbox.
 * - busy: chats with a row in flight under a live lease (one row in flight per chat);
 * - blocked: chats waiting out pacing, a 429 or a slow retry;
 * - unsent: names of messages whose send is still pending (their edits wait).
 */
const CLAIM_SETS = `
busy as materialized (
  select chat_id, max(claimed_until) as until
    from outbox where status = 'pending' and claimed_until > now() group by chat_id
),
blocked as materialized (
  select chat_id, blocked_until from delivery_chats where blocked_until > now()
),
unsent as materialized (
  select distinct message_ref from outbox
   where status = 'pending' and message_ref is not null and method = any($SEND::text[])
)`;

/**
 * Heads of chats: per chat the first eligible row in (priority, next_attempt_at, id) order, where
 * eligible means due, not claimed under a live lease, its chat neither busy nor blocked, and, for
 * an edit, its target's send already out. Then the best heads, locked with SKIP LOCKED and leased
 * in the same statement.
 */
const CLAIM_SQL = `
with ${CLAIM_SETS.replace("$SEND", "$4")},
heads as materialized (
  select distinct on (o.chat_id) o.id, o.priority, o.next_attempt_at
    from outbox o
   where o.status = 'pending'
     and o.next_attempt_at <= now()
     and (o.claimed_until is null or o.claimed_until <= now())
     and o.chat_id not in (select chat_id from busy)
     and o.chat_id not in (select chat_id from blocked)
     and (o.target_ref is null or o.target_ref not in (select message_ref from unsent))
   order by o.chat_id, o.priority, o.next_attempt_at, o.id
),
picked as (
  select o.id
    from heads h join outbox o on o.id = h.id
   where o.status = 'pending'
   order by h.priority, h.next_attempt_at, h.id
   limit $2
   for update of o skip locked
)
update outbox u
   set claimed_by = $1, claimed_until = now() + make_interval(secs => $3::float8 / 1000)
  from picked
 where u.id = picked.id
returning u.id, u.kind, u.priority, u.chat_id, u.thread_id, u.method, u.payload, u.message_ref, u.target_ref,
          u.as_plain, u.attempts, u.claimed_by, u.next_attempt_at,
          (extract(epoch from now() - u.pending_since) * 1000)::float8 as age_ms,
          (select m.chat_id from telegram_messages m where m.ref = u.target_ref) as target_chat_id,
          (select m.message_id from telegram_messages m where m.ref = u.target_ref) as target_message_id`;

/**
 * Milliseconds until some row could be claimed: its own time, its chat's block, a live lease in
 * its chat. Rows waiting for their target's send are left out: its completion wakes the loop.
 */
const NEXT_DUE_SQL = `
with ${CLAIM_SETS.replace("$SEND", "$1")}
select (extract(epoch from min(greatest(o.next_attempt_at,
                                        coalesce(o.claimed_until, o.next_attempt_at),
                                        coalesce(c.blocked_until, o.next_attempt_at),
                                        coalesce(b.until, o.next_attempt_at))) - now()) * 1000)::float8 as due_ms
  from outbox o
  left join blocked c on c.chat_id = o.chat_id
  left join busy b on b.chat_id = o.chat_id
 where o.status = 'pending'
   and (o.target_ref is null or o.target_ref not in (select message_ref from unsent))`;

const MIN_SLEEP_MS = 5;
/** A claimed row waits this long at most for a slot of the overall limit before it is put back. */
const GLOBAL_WAIT_MS = 2_000;

/** grammY types signals with the `abort-controller` polyfill; Node's own AbortSignal is what it uses. */
type ApiSignal = Parameters<Api["raw"]["sendMessage"]>[1];

function numericChatId(chatId: string): number | string {
  return /^-?\d+$/.test(chatId) ? Number(chatId) : chatId;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function createOutboxWorker(opts: OutboxWorkerOptions): OutboxWorker {
  const { db, coord, api, log, metrics, instanceId } = opts;
  const pacing: Pacing = { ...DEFAULT_PACING, ...opts.pacing };
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
  const leaseMs = opts.leaseMs ?? 25_000;
  const callTimeoutMs = opts.callTimeoutMs ?? Math.min(10_000, Math.floor(leaseMs / 2));
  const maxInFlight = opts.maxInFlight ?? 8;
  const pollMs = opts.pollMs ?? 1_000;
  const stuckAfterMs = opts.stuckAfterMs ?? 120_000;
  const housekeepingMs = opts.housekeepingMs ?? 5_000;
  const onStuck =
    opts.onStuck ??
    (async (rows: readonly StuckRow[]) => {
      log.error(
        { rows: rows.map((r) => ({ id: r.id, kind: r.kind, chat_id: r.chatId, last_error: r.lastError })) },
        "outbox rows undelivered for over %d s and no delivery alert channel is configured",
        Math.round(stuckAfterMs / 1000),
      );
    });

  let running = false;
  let loopDone: Promise<void> = Promise.resolve();
  const inFlight = new Set<Promise<void>>();
  let claimSeq = 0;
  /** Set when the overall limit refuses or the token is rejected: no claims before this. */
  let pausedUntil = 0;
  let wakeRequested = false;
  let wakeUp: (() => void) | undefined;
  let housekeepingTimer: NodeJS.Timeout | undefined;
  let housekeepingRun: Promise<void> | undefined;
  let listener: DbClient | undefined;
  let listenRetry: NodeJS.Timeout | undefined;
  const listenerCleanup = new Map<DbClient, () => void>();

  // status
  let lastError: OutboxWorkerStatus["lastError"];
  let lastSuccessAt: string | undefined;
  let lastCallFailed = false;
  let dbFailing = false;
  let depth = 0;
  let oldestPendingAgeMs: number | null = null;
  let unreachableChats = 0;

  function wake(): void {
    wakeRequested = true;
    wakeUp?.();
  }

  function sleep(ms: number): Promise<void> {
    if (wakeRequested || !running) {
      wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        wakeRequested = false;
        resolve();
      }
      wakeUp = done;
    });
  }

  async function claim(limit: number): Promise<ClaimedRow[]> {
    const token = `${instanceId}#${++claimSeq}`;
    const rows = await inTransaction(db, async (client) => {
      await client.query("select pg_advisory_xact_lock($1)", [CLAIM_LOCK_ID]);
      const { rows } = await client.query<ClaimedRow & { next_attempt_at: Date }>(CLAIM_SQL, [
        token,
        limit,
        leaseMs,
        SEND_METHODS,
      ]);
      return rows;
    });
    return rows.sort(
      (a, b) => a.priority - b.priority || +a.next_attempt_at - +b.next_attempt_at || a.id - b.id,
    );
  }

  async function nextDueMs(): Promise<number> {
    const { rows } = await db.query<{ due_ms: number | null }>(NEXT_DUE_SQL, [SEND_METHODS]);
    const due = rows[0]?.due_ms;
    return due === null || due === undefined ? pollMs : due;
  }

  async function loop(): Promise<void> {
    let dbBackoffMs = 0;
    while (running) {
      try {
        const wait = pausedUntil - Date.now();
        if (wait > 0) {
          await sleep(wait);
          continue;
        }
        const free = maxInFlight - inFlight.size;
        if (free <= 0) {
          await sleep(pollMs); // a finishing row wakes the loop
          continue;
        }
        const rows = await claim(free);
        for (const row of rows) track(deliver(row));
        if (rows.length === free) continue;
        const dueMs = await nextDueMs();
        if (dbFailing) {
          dbFailing = false;
          log.info("outbox database reachable again");
        }
        dbBackoffMs = 0;
        await sleep(Math.min(pollMs, Math.max(MIN_SLEEP_MS, dueMs)));
      } catch (err) {
        dbBackoffMs = Math.min(10_000, Math.max(250, dbBackoffMs * 2));
        if (!dbFailing) log.warn({ err: { message: errorText(err) } }, "outbox claim failed; retrying");
        dbFailing = true;
        await sleep(dbBackoffMs);
      }
    }
  }

  function track(work: Promise<void>): void {
    inFlight.add(work);
    void work.finally(() => {
      inFlight.delete(work);
      wake();
    });
  }

  async function deliver(row: ClaimedRow): Promise<void> {
    try {
      if (Date.now() < pausedUntil) {
        // Claimed while a pause was being decided (the claim was already under way).
        await release(row, { delayMs: 0 });
        return;
      }
      const isTargeted = row.method.startsWith("edit") || row.method === "deleteMessage";
      if (isTargeted && row.target_message_id === null) {
        await targetMissing(row, "its message was never sent or is unknown");
        return;
      }
      const chatId = row.target_chat_id ?? row.chat_id;
      try {
        // The overall pace first, waiting here a little for a slot: a refusal there then costs
        // nothing of the chat's own budget, and the row keeps its place.
        if (!(await globalSlot())) {
          await release(row, { delayMs: 0 });
          return;
        }
        const perChat = await coord.rateLimit(`tg:chat:${chatId}`, pacingFor(pacing, chatId));
        if (!perChat.allowed) {
          await blockChat(row, perChat.retryAfterMs, "pacing");
          return;
        }
      } catch (err) {
        log.warn({ err: { message: errorText(err) }, row: row.id }, "pacing unavailable; row put back");
        await release(row, { delayMs: 1_000 });
        return;
      }
      const startedAt = performance.now();
      let messageId: number | null;
      try {
        messageId = await call(row, chatId);
      } catch (err) {
        metrics?.sendLatency.observe({ method: row.method }, (performance.now() - startedAt) / 1000);
        await failed(row, chatId, classifyTelegramError(err, api.token));
        return;
      }
      metrics?.sendLatency.observe({ method: row.method }, (performance.now() - startedAt) / 1000);
      await delivered(row, chatId, messageId, row.as_plain ? "plain" : "sent");
    } catch (err) {
      // The database failed around the call: the lease expires and the row is tried again.
      log.error({ err: { message: errorText(err) }, row: row.id }, "outbox row could not be recorded");
    }
  }

  /** Waits up to GLOBAL_WAIT_MS for the overall limit; false (and claims pause) when it stays shut. */
  async function globalSlot(): Promise<boolean> {
    const deadline = Date.now() + GLOBAL_WAIT_MS;
    for (;;) {
      const overall = await coord.rateLimit("tg:global", pacing.global);
      if (overall.allowed) return true;
      if (!running || Date.now() + overall.retryAfterMs > deadline) {
        pausedUntil = Math.max(pausedUntil, Date.now() + overall.retryAfterMs);
        return false;
      }
      await new Promise((resolve) => setTimeout(resolve, overall.retryAfterMs));
    }
  }

  async function call(row: ClaimedRow, chatId: string): Promise<number | null> {
    const p = row.payload;
    const signal = AbortSignal.timeout(callTimeoutMs) as unknown as ApiSignal;
    const chat_id = numericChatId(chatId);
    const thread = row.thread_id === null ? {} : { message_thread_id: row.thread_id };
    const markup = (m: InlineKeyboardMarkup | null | undefined) => (m ? { reply_markup: m } : {});
    const text = row.as_plain ? (p.plain ?? "") : (p.html ?? "");
    const mode = row.as_plain ? {} : { parse_mode: "HTML" as const };
    const preview = { link_preview_options: { is_disabled: p.link_preview !== true } };
    switch (row.method) {
      case "sendMessage": {
        const sent = await api.raw.sendMessage(
          {
            chat_id,
            text,
            ...mode,
            ...thread,
            ...preview,
            ...markup(p.reply_markup),
            disable_notification: p.silent === true,
          },
          signal,
        );
        return sent.message_id;
      }
      case "editMessageText": {
        await api.raw.editMessageText(
          {
            chat_id,
            message_id: row.target_message_id!,
            text,
            ...mode,
            ...preview,
            ...markup(p.reply_markup),
          },
          signal,
        );
        return row.target_message_id;
      }
      case "editMessageReplyMarkup": {
        await api.raw.editMessageReplyMarkup(
          { chat_id, message_id: row.target_message_id!, ...markup(p.reply_markup) },
          signal,
        );
        return row.target_message_id;
      }
      case "sendPhoto":
      case "sendDocument": {
        const file = new InputFile(Buffer.from(p.file?.base64 ?? "", "base64"), p.file?.filename ?? "file");
        const caption = p.html === undefined ? {} : { caption: text, ...mode };
        const common = {
          chat_id,
          ...caption,
          ...thread,
          ...markup(p.reply_markup),
          disable_notification: p.silent === true,
        };
        const sent =
          row.method === "sendPhoto"
            ? await api.raw.sendPhoto({ ...common, photo: file }, signal)
            : await api.raw.sendDocument({ ...common, document: file }, signal);
        return sent.message_id;
      }
      case "deleteMessage": {
        await api.raw.deleteMessage({ chat_id, message_id: row.target_message_id! }, signal);
        return row.target_message_id;
      }
    }
  }

  /** Records a delivered row, names its message, and clears a chat problem the success disproves. */
  async function delivered(
    row: ClaimedRow,
    chatId: string,
    messageId: number | null,
    outcome: OutboxOutcome,
  ): Promise<void> {
    const recorded = await withDbRetry(() =>
      inTransaction(db, async (client) => {
        const { rows } = await client.query<{ wait_s: number }>(
          `update outbox
              set status = 'sent', outcome = $3, sent_at = now(), telegram_message_id = $4,
                  claimed_until = null, last_error = case when $3 = 'sent' then null else last_error end
            where id = $1 and status = 'pending' and claimed_by = $2
            returning (extract(epoch from now() - pending_since))::float8 as wait_s`,
          [row.id, row.claimed_by, outcome, messageId],
        );
        if (rows.length === 0) return null;
        const isSend = SEND_METHODS.includes(row.method);
        if (isSend && row.message_ref !== null && messageId !== null) {
          await client.query(
            `insert into telegram_messages (ref, chat_id, thread_id, message_id) values ($1, $2, $3, $4)
             on conflict (ref) do update set chat_id = excluded.chat_id, thread_id = excluded.thread_id,
               message_id = excluded.message_id, updated_at = now()`,
            [row.message_ref, chatId, row.thread_id, messageId],
          );
        }
        await client.query(
          "update delivery_chats set problem = null, problem_since = null where chat_id = $1 and problem is not null",
          [row.chat_id],
        );
        return rows[0]!.wait_s;
      }),
    );
    lastSuccessAt = new Date().toISOString();
    lastCallFailed = false;
    if (recorded === null) {
      log.warn({ row: row.id }, "outbox row was taken over by another worker while it was being sent");
      return;
    }
    metrics?.notifications.inc({ kind: row.kind, channel: "telegram" });
    metrics?.outboxWait.observe(recorded);
    log.debug(
      { row: row.id, kind: row.kind, method: row.method, chat_id: chatId, outcome },
      "outbox row delivered",
    );
  }

  /** Puts a claimed row back (not an attempt), optionally later and with changes. */
  async function release(
    row: ClaimedRow,
    change: { delayMs: number; attempts?: number; lastError?: string; asPlain?: boolean },
  ): Promise<void> {
    await withDbRetry(() =>
      db.query(
        `update outbox
            set claimed_by = null, claimed_until = null,
                next_attempt_at = case when $3::float8 > 0
                                       then now() + make_interval(secs => $3::float8 / 1000)
                                       else next_attempt_at end,
                attempts = coalesce($4, attempts), last_error = coalesce($5, last_error),
                as_plain = coalesce($6, as_plain)
          where id = $1 and status = 'pending' and claimed_by = $2`,
        [
          row.id,
          row.claimed_by,
          change.delayMs,
          change.attempts ?? null,
          change.lastError ?? null,
          change.asPlain ?? null,
        ],
      ),
    );
  }

  /** Nothing of the row's chat is sent for `ms`; the row goes back untouched. Shared by every instance. */
  async function blockChat(
    row: ClaimedRow,
    ms: number,
    reason: "pacing" | "rate_limit" | "forbidden" | "chat_unreachable",
    problem?: string,
    change: { attempts?: number; lastError?: string } = {},
  ): Promise<void> {
    await withDbRetry(() =>
      inTransaction(db, async (client) => {
        await client.query(
          `insert into delivery_chats (chat_id, blocked_until, reason, problem, problem_since)
           values ($1, now() + make_interval(secs => $2::float8 / 1000), $3, $4, case when $4::text is null then null else now() end)
           on conflict (chat_id) do update
             set blocked_until = greatest(delivery_chats.blocked_until, excluded.blocked_until),
                 reason = excluded.reason,
                 problem = coalesce(excluded.problem, delivery_chats.problem),
                 problem_since = coalesce(delivery_chats.problem_since, excluded.problem_since),
                 updated_at = now()`,
          [row.chat_id, ms, reason, problem ?? null],
        );
        // next_attempt_at stays: the chat's block holds every row of it, and the rows keep their order.
        await client.query(
          `update outbox
              set claimed_by = null, claimed_until = null,
                  attempts = coalesce($3, attempts), last_error = coalesce($4, last_error)
            where id = $1 and status = 'pending' and claimed_by = $2`,
          [row.id, row.claimed_by, change.attempts ?? null, change.lastError ?? null],
        );
      }),
    );
  }

  function noteFailure(row: ClaimedRow, chatId: string, f: ClassifiedFailure): void {
    lastError = {
      at: new Date().toISOString(),
      method: row.method,
      chatId,
      code: f.code,
      description: f.description,
    };
    if (f.kind !== "rate_limited" && f.kind !== "not_modified" && f.kind !== "target_missing") {
      lastCallFailed = true;
    }
    metrics?.telegramErrors.inc({ method: row.method, code: f.code });
  }

  async function failed(row: ClaimedRow, chatId: string, f: ClassifiedFailure): Promise<void> {
    if (f.kind !== "not_modified") noteFailure(row, chatId, f);
    const ctx = {
      row: row.id,
      kind: row.kind,
      method: row.method,
      chat_id: chatId,
      code: f.code,
      error: f.description,
    };
    const lastErr = `${f.code}: ${f.description}`;
    switch (f.kind) {
      case "not_modified":
        await delivered(row, chatId, row.target_message_id, "not_modified");
        return;
      case "rate_limited":
        log.warn({ ...ctx, retry_after_ms: f.retryAfterMs }, "Telegram rate limit hit; the chat waits");
        await blockChat(row, f.retryAfterMs, "rate_limit", undefined, { lastError: lastErr });
        return;
      case "migrated":
        await migrateChat(row.chat_id, f.toChatId);
        log.info({ ...ctx, to_chat_id: f.toChatId }, "chat migrated to a supergroup; following it");
        await release(row, { delayMs: 0, lastError: lastErr });
        return;
      case "entities":
        if (!row.as_plain) {
          log.warn(ctx, "Telegram refused the HTML of a message; resending it as plain text");
          await release(row, { delayMs: 0, asPlain: true, lastError: lastErr });
          return;
        }
        break;
      case "target_missing":
        await targetMissing(row, f.description);
        return;
      case "forbidden":
      case "chat_unreachable": {
        const attempts = row.attempts + 1;
        log.warn(
          { ...ctx, retry_in_ms: retry.slowDelayMs },
          "cannot deliver to this chat (bot blocked, removed, or chat unknown); retrying slowly",
        );
        await blockChat(row, retry.slowDelayMs, f.kind, lastErr, { attempts, lastError: lastErr });
        return;
      }
      case "unauthorized":
        pausedUntil = Math.max(pausedUntil, Date.now() + retry.unauthorizedPauseMs);
        log.error(ctx, "Telegram rejected the bot token or API root; delivery paused");
        await release(row, { delayMs: 0, lastError: lastErr });
        return;
      case "transient": {
        const attempts = row.attempts + 1;
        const delayMs = transientDelayMs(retry, attempts, row.age_ms);
        log.warn({ ...ctx, attempts, retry_in_ms: delayMs }, "Telegram call failed; will retry");
        await release(row, { delayMs, attempts, lastError: lastErr });
        return;
      }
      case "bad_request":
        break;
    }
    // A request Telegram will not take as it is: pitwall's bug. Kept and retried slowly.
    const attempts = row.attempts + 1;
    log.error(
      { ...ctx, attempts, retry_in_ms: retry.slowDelayMs },
      "Telegram refused an outbox row; retrying slowly",
    );
    await release(row, { delayMs: retry.slowDelayMs, attempts, lastError: lastErr });
  }

  /**
   * The message an edit or delete acts on is gone (deleted by someone, too old to edit, or never
   * named). A full text edit still carries what the operator must see: it goes out as a new
   * (silent) message that takes over the name. A buttons-only edit or a delete has nothing left to do.
   */
  async function targetMissing(row: ClaimedRow, why: string): Promise<void> {
    if (row.method === "editMessageText" && row.target_ref !== null) {
      log.warn(
        { row: row.id, kind: row.kind, target: row.target_ref, why },
        "message to edit is gone; sending it anew",
      );
      await withDbRetry(() =>
        db.query(
          `update outbox
              set method = 'sendMessage', message_ref = target_ref, target_ref = null, coalesce_key = null,
                  thread_id = coalesce(thread_id, (select m.thread_id from telegram_messages m where m.ref = target_ref)),
                  payload = payload || '{"silent": true}'::jsonb, claimed_by = null, claimed_until = null,
                  next_attempt_at = now(), last_error = $3
            where id = $1 and status = 'pending' and claimed_by = $2`,
          [row.id, row.claimed_by, why],
        ),
      );
      return;
    }
    log.warn(
      { row: row.id, kind: row.kind, method: row.method, target: row.target_ref, why },
      "message is gone; nothing to change",
    );
    await delivered(row, row.target_chat_id ?? row.chat_id, null, "target_missing");
  }

  async function migrateChat(fromChatId: string, toChatId: string): Promise<void> {
    await withDbRetry(() =>
      inTransaction(db, async (client) => {
        await client.query(
          `insert into chat_migrations (from_chat_id, to_chat_id) values ($1, $2)
           on conflict (from_chat_id) do update set to_chat_id = excluded.to_chat_id, migrated_at = now()`,
          [fromChatId, toChatId],
        );
        await client.query("update chat_migrations set to_chat_id = $2 where to_chat_id = $1", [
          fromChatId,
          toChatId,
        ]);
        await client.query("update outbox set chat_id = $2 where chat_id = $1 and status = 'pending'", [
          fromChatId,
          toChatId,
        ]);
        await client.query("update telegram_messages set chat_id = $2 where chat_id = $1", [
          fromChatId,
          toChatId,
        ]);
      }),
    );
  }

  /** A write after a Telegram call is retried briefly: losing it would mean a duplicate send. */
  async function withDbRetry<T>(fn: () => Promise<T>): Promise<T> {
    let delay = 100;
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, delay));
        delay *= 2;
      }
    }
  }

  /** This worker reported stuck rows and has not yet seen delivery recover. */
  let stuckReported = false;

  async function housekeeping(): Promise<void> {
    const { rows } = await db.query<{ depth: number; oldest_ms: number | null; unreachable: number }>(
      `select (select count(*) from outbox where status = 'pending')::int as depth,
              (select (extract(epoch from now() - min(pending_since)) * 1000)::float8
                 from outbox where status = 'pending') as oldest_ms,
              (select count(*) from delivery_chats c
                where c.problem is not null
                  and exists (select 1 from outbox o where o.chat_id = c.chat_id and o.status = 'pending'))::int as unreachable`,
    );
    const stats = rows[0];
    depth = stats?.depth ?? 0;
    oldestPendingAgeMs = stats?.oldest_ms ?? null;
    unreachableChats = stats?.unreachable ?? 0;
    metrics?.outboxDepth.set(depth);

    const overdue = await db.query<{ id: number; kind: string; chat_id: string; last_error: string | null }>(
      `update outbox set overdue_logged_at = now()
        where id in (select id from outbox
                      where status = 'pending' and overdue_logged_at is null
                        and pending_since < now() - make_interval(secs => $1::float8 / 1000)
                      limit 100 for update skip locked)
        returning id, kind, chat_id, last_error`,
      [retry.steadyForMs],
    );
    for (const r of overdue.rows) {
      log.error(
        { row: r.id, kind: r.kind, chat_id: r.chat_id, last_error: r.last_error },
        "outbox row undelivered for %d h; it is kept and retried every %d minutes",
        Math.round(retry.steadyForMs / 3_600_000),
        Math.round(retry.lateDelayMs / 60_000),
      );
    }

    const stuck = await db.query<{
      id: number;
      kind: string;
      chat_id: string;
      method: OutboxMethod;
      attempts: number;
      last_error: string | null;
      pending_since: Date;
    }>(
      `update outbox set stuck_alerted_at = now()
        where id in (select id from outbox
                      where status = 'pending' and stuck_alerted_at is null
                        and pending_since < now() - make_interval(secs => $1::float8 / 1000)
                      order by id limit 500 for update skip locked)
        returning id, kind, chat_id, method, attempts, last_error, pending_since`,
      [stuckAfterMs],
    );
    if (stuck.rows.length === 0 && stuckReported && (oldestPendingAgeMs ?? 0) <= stuckAfterMs) {
      stuckReported = false;
      await opts.onRecovered?.().catch((err: unknown) => {
        log.error({ err: { message: errorText(err) } }, "delivery recovery notice failed");
      });
    }
    if (stuck.rows.length > 0) {
      stuckReported = true;
      const report: StuckRow[] = stuck.rows
        .sort((a, b) => a.id - b.id)
        .map((r) => ({
          id: r.id,
          kind: r.kind,
          chatId: r.chat_id,
          method: r.method,
          attempts: r.attempts,
          lastError: r.last_error,
          pendingSince: r.pending_since,
        }));
      try {
        await onStuck(report);
      } catch (err) {
        log.error(
          { err: { message: errorText(err) }, rows: report.map((r) => r.id) },
          "delivery alert failed",
        );
      }
    }
  }

  function scheduleHousekeeping(): void {
    housekeepingTimer = setTimeout(async () => {
      housekeepingRun = housekeeping().catch((err) => {
        log.warn({ err: { message: errorText(err) } }, "outbox housekeeping failed");
      });
      await housekeepingRun;
      housekeepingRun = undefined;
      if (running) scheduleHousekeeping();
    }, housekeepingMs);
    housekeepingTimer.unref();
  }

  /**
   * A pooled connection kept for LISTEN; it is destroyed, never returned to the pool, so no
   * other query inherits its subscription or its listeners.
   */
  async function startListening(): Promise<void> {
    if (!running || opts.listen === false) return;
    let client: DbClient | undefined;
    try {
      client = await db.connect();
      const c = client;
      const onNotification = (n: { channel: string }) => {
        if (n.channel === OUTBOX_CHANNEL) wake();
      };
      const onError = (err: Error) => {
        log.warn(
          { err: { message: errorText(err) } },
          "outbox LISTEN connection lost; polling until it is back",
        );
        dropListener(c);
        scheduleListen();
      };
      c.on("notification", onNotification);
      c.on("error", onError);
      listenerCleanup.set(c, () => {
        c.off("notification", onNotification);
        c.off("error", onError);
      });
      await c.query(`listen ${OUTBOX_CHANNEL}`);
      if (!running) {
        dropListener(c);
        return;
      }
      listener = c;
      wake(); // rows may have arrived while not listening
    } catch (err) {
      if (client) dropListener(client);
      log.warn({ err: { message: errorText(err) } }, "outbox cannot LISTEN; polling until it can");
      scheduleListen();
    }
  }

  function dropListener(c: DbClient): void {
    if (listener === c) listener = undefined;
    const cleanup = listenerCleanup.get(c);
    if (!cleanup) return; // already dropped
    listenerCleanup.delete(c);
    cleanup();
    c.on("error", () => undefined); // a late socket error must not crash the process
    c.release(true);
  }

  function scheduleListen(): void {
    if (!running) return;
    clearTimeout(listenRetry);
    listenRetry = setTimeout(() => void startListening(), 2_000);
    listenRetry.unref();
  }

  return {
    start() {
      if (running) return;
      running = true;
      void startListening();
      housekeepingRun = housekeeping()
        .catch((err) => log.warn({ err: { message: errorText(err) } }, "outbox housekeeping failed"))
        .finally(() => {
          housekeepingRun = undefined;
        });
      scheduleHousekeeping();
      loopDone = loop();
    },

    async stop() {
      if (!running) {
        await loopDone;
        return;
      }
      running = false;
      wake();
      clearTimeout(housekeepingTimer);
      clearTimeout(listenRetry);
      await loopDone;
      await Promise.allSettled([...inFlight]);
      await housekeepingRun;
      if (listener) dropListener(listener);
    },

    wake,
    housekeeping,

    status() {
      const reasons: string[] = [];
      if (lastCallFailed && lastError) reasons.push(`last Telegram call failed: ${lastError.description}`);
      if (unreachableChats > 0)
        reasons.push(`${unreachableChats} chat(s) unreachable (bot blocked or chat gone)`);
      if (oldestPendingAgeMs !== null && oldestPendingAgeMs > stuckAfterMs) {
        reasons.push(`oldest undelivered message waits ${Math.round(oldestPendingAgeMs / 1000)} s`);
      }
      if (dbFailing) reasons.push("outbox database unreachable");
      const status: OutboxWorkerStatus = {
        state: reasons.length > 0 ? "degraded" : "ok",
        reasons,
        depth,
        oldestPendingAgeMs,
        unreachableChats,
        running,
      };
      if (lastError) status.lastError = lastError;
      if (lastSuccessAt) status.lastSuccessAt = lastSuccessAt;
      return status;
    },
  };
}
