import type { InlineKeyboardMarkup } from "grammy/types";
import { renderCaption, renderHtml, renderPlain, TELEGRAM_CAPTION_LIMIT } from "../bot/format/index.ts";
import { type Db, type DbClient, inTransaction } from "../store/pool.ts";
import type { OutboxMessage, OutboxMethod, OutboxPayload } from "./types.ts";

/** Postgres channel the worker LISTENs on; enqueue NOTIFYs it in the caller's transaction. */
export const OUTBOX_CHANNEL = "pitwall_outbox";

export interface EnqueueOptions {
  /** Applied to every text before escaping; default: the standard redactor (src/guards/redact.ts). */
  redact?: (text: string) => string;
}

const SEND_METHODS: readonly OutboxMethod[] = ["sendMessage", "sendPhoto", "sendDocument"];

function isPool(db: Db | DbClient): db is Db {
  return !("release" in db);
}

/** Chat ids are stored as text: a number, or a public `@channel`. */
export function chatKey(id: number | string): string {
  return String(id).trim();
}

/** Renders the message into what the worker sends: redacted, escaped, cut under Telegram's limits. */
export function renderPayload(msg: OutboxMessage, opts: EnqueueOptions = {}): OutboxPayload {
  const render = opts.redact === undefined ? {} : { redact: opts.redact };
  switch (msg.method) {
    case "sendMessage": {
      const payload: OutboxPayload = {
        html: renderHtml(msg.parts, render).html,
        plain: renderPlain(msg.parts, render).text,
        silent: msg.silent,
      };
      if (msg.replyMarkup !== undefined) payload.reply_markup = msg.replyMarkup;
      if (msg.linkPreview === true) payload.link_preview = true;
      return payload;
    }
    case "editMessageText":
      return {
        html: renderHtml(msg.parts, render).html,
        plain: renderPlain(msg.parts, render).text,
        reply_markup: msg.replyMarkup ?? null,
      };
    case "editMessageReplyMarkup":
      return { reply_markup: msg.replyMarkup };
    case "sendPhoto":
    case "sendDocument": {
      const payload: OutboxPayload = {
        silent: msg.silent,
        file: { base64: Buffer.from(msg.file.data).toString("base64"), filename: msg.file.filename },
      };
      if (msg.caption !== undefined) {
        payload.html = renderCaption(msg.caption, render).html;
        payload.plain = renderPlain(msg.caption, { ...render, maxLength: TELEGRAM_CAPTION_LIMIT }).text;
      }
      if (msg.replyMarkup !== undefined) payload.reply_markup = msg.replyMarkup;
      return payload;
    }
    case "deleteMessage":
      return {};
  }
}

interface PendingForTarget {
  id: number;
  method: OutboxMethod;
  payload: OutboxPayload;
  priority: number;
  pending_since: Date;
  in_flight: boolean;
}

/** Applies an edit on top of what a pending row would show: a text edit replaces text and buttons. */
function applyEdit(
  base: { method: OutboxMethod; payload: OutboxPayload },
  edit: { method: OutboxMethod; payload: OutboxPayload },
): { method: OutboxMethod; payload: OutboxPayload } {
  if (edit.method === "editMessageText") {
    const payload: OutboxPayload = { ...base.payload, reply_markup: edit.payload.reply_markup ?? null };
    if (edit.payload.html !== undefined) payload.html = edit.payload.html;
    if (edit.payload.plain !== undefined) payload.plain = edit.payload.plain;
    return { method: base.method === "sendMessage" ? "sendMessage" : "editMessageText", payload };
  }
  const reply_markup: InlineKeyboardMarkup | null = edit.payload.reply_markup ?? null;
  return { method: base.method, payload: { ...base.payload, reply_markup } };
}

const INSERT = `
  insert into outbox (kind, priority, chat_id, thread_id, method, payload, message_ref, target_ref,
                      coalesce_key, status, outcome, superseded_by, pending_since)
  values ($1, $2, coalesce((select to_chat_id from chat_migrations where from_chat_id = $3), $3), $4, $5, $6,
          $7, $8, $9, $10, $11, $12, coalesce($13, now()))
  returning id`;

interface InsertRow {
  kind: string;
  priority: number;
  chatId: string;
  threadId: number | null;
  method: OutboxMethod;
  payload: OutboxPayload;
  messageRef: string | null;
  targetRef: string | null;
  coalesceKey: string | null;
  status: "pending" | "superseded";
  outcome: string | null;
  supersededBy: number | null;
  pendingSince: Date | null;
}

async function insert(client: Db | DbClient, row: InsertRow): Promise<number> {
  const { rows } = await client.query<{ id: number }>(INSERT, [
    row.kind,
    row.priority,
    row.chatId,
    row.threadId,
    row.method,
    JSON.stringify(row.payload),
    row.messageRef,
    row.targetRef,
    row.coalesceKey,
    row.status,
    row.outcome,
    row.supersededBy,
    row.pendingSince,
  ]);
  return rows[0]!.id;
}

/**
 * Queues one message. Pass the client of your transaction (`inTransaction`) so the state change
 * and the message that reports it commit together; a pool runs it in a transaction of its own.
 * Edits of one message coalesce: the newest pending edit carries the content, older pending ones
 * are marked superseded (never deleted); an edit of a message whose send has not gone out yet is
 * folded into that send. Returns the id of the row written for this call.
 */
export async function enqueue(
  db: Db | DbClient,
  msg: OutboxMessage,
  opts: EnqueueOptions = {},
): Promise<number> {
  if (isPool(db)) return inTransaction(db, (client) => enqueue(client, msg, opts));
  const payload = renderPayload(msg, opts);
  const base: InsertRow = {
    kind: msg.kind,
    priority: msg.priority,
    chatId: chatKey(msg.chat.id),
    threadId: msg.chat.thread ?? null,
    method: msg.method,
    payload,
    messageRef: null,
    targetRef: null,
    coalesceKey: null,
    status: "pending",
    outcome: null,
    supersededBy: null,
    pendingSince: null,
  };
  let id: number;
  switch (msg.method) {
    case "sendMessage":
    case "sendPhoto":
    case "sendDocument":
      id = await insert(db, { ...base, messageRef: msg.messageRef ?? null });
      break;
    case "deleteMessage":
      id = await insert(db, { ...base, targetRef: msg.targetRef });
      break;
    case "editMessageText":
    case "editMessageReplyMarkup":
      id = await enqueueEdit(db, { ...base, targetRef: msg.targetRef, coalesceKey: msg.targetRef });
      break;
  }
  // Delivered at commit, so the worker never wakes before the row is visible.
  await db.query("select pg_notify($1, '')", [OUTBOX_CHANNEL]);
  return id;
}

async function enqueueEdit(client: DbClient, edit: InsertRow): Promise<number> {
  const ref = edit.targetRef!;
  // Locks the rows this edit may merge with; the worker's claim skips locked rows meanwhile.
  const { rows } = await client.query<PendingForTarget>(
    `select id, method, payload, priority, pending_since,
            coalesce(claimed_until > now(), false) as in_flight
       from outbox
      where status = 'pending'
        and ((message_ref = $1 and method = any($2)) or (coalesce_key = $1 and target_ref = $1))
      order by id
      for update`,
    [ref, SEND_METHODS],
  );
  const idle = rows.filter((r) => !r.in_flight);
  const send = idle.find((r) => r.method === "sendMessage");
  const edits = idle.filter((r) => r.method === "editMessageText" || r.method === "editMessageReplyMarkup");
  if (send) {
    // The message has not gone out yet: send it with the newest content straight away.
    let merged = { method: send.method, payload: send.payload };
    for (const older of edits) merged = applyEdit(merged, older);
    merged = applyEdit(merged, edit);
    const priority = Math.min(send.priority, edit.priority, ...edits.map((e) => e.priority));
    await client.query("update outbox set payload = $2, priority = $3, as_plain = false where id = $1", [
      send.id,
      JSON.stringify(merged.payload),
      priority,
    ]);
    await supersede(client, edits, send.id);
    return insert(client, { ...edit, status: "superseded", outcome: "folded", supersededBy: send.id });
  }
  if (edits.length === 0) return insert(client, edit);
  let merged: { method: OutboxMethod; payload: OutboxPayload } = { method: edits[0]!.method, payload: {} };
  for (const older of edits) merged = applyEdit(merged, older);
  merged = applyEdit(merged, edit);
  const oldest = new Date(Math.min(...edits.map((e) => e.pending_since.getTime())));
  const id = await insert(client, {
    ...edit,
    method: merged.method,
    payload: merged.payload,
    priority: Math.min(edit.priority, ...edits.map((e) => e.priority)),
    pendingSince: oldest,
  });
  await supersede(client, edits, id);
  return id;
}

async function supersede(client: DbClient, rows: readonly PendingForTarget[], by: number): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    "update outbox set status = 'superseded', superseded_by = $2, claimed_by = null, claimed_until = null where id = any($1)",
    [rows.map((r) => r.id), by],
  );
}

/** Deletes delivered and superseded rows older than `olderThanMs` (the retention job); never pending ones. */
export async function pruneDelivered(db: Db, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query(
    "delete from outbox where status <> 'pending' and created_at < now() - make_interval(secs => $1::float8 / 1000)",
    [olderThanMs],
  );
  return rowCount ?? 0;
}
