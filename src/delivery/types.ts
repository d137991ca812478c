import type { InlineKeyboardMarkup } from "grammy/types";
import type { Part } from "../bot/format/index.ts";

/**
 * Claim order of outbox rows (lower first): an agent waits on an approval, an operator on a new
 * alert; edits of alerts can lag a little; the digest can wait for everything else.
 */
export const PRIORITY = {
  /** Approval prompts and the edits that show a decision. */
  APPROVAL: 0,
  /** New alert messages (also escalations, mode changes). */
  NEW_ALERT: 1,
  /** Edits of alert messages (repeat counts, acknowledged, resolved). */
  ALERT_EDIT: 2,
  /** The daily digest and its chart. */
  DIGEST: 3,
} as const;

export type Priority = (typeof PRIORITY)[keyof typeof PRIORITY];

/** A chat, or a forum topic in it. */
export interface ChatTarget {
  id: number | string;
  /** message_thread_id of a forum topic. */
  thread?: number;
}

export type OutboxMethod =
  | "sendMessage"
  | "editMessageText"
  | "editMessageReplyMarkup"
  | "sendPhoto"
  | "sendDocument"
  | "deleteMessage";

interface Common {
  /** What the message is about (`alert`, `alert_edit`, `approval_prompt`, `digest`, ...): logs, metrics. */
  kind: string;
  priority: Priority;
  chat: ChatTarget;
}

interface Sending {
  /** disable_notification: decide with `isSilent` (src/guards/loudness.ts). */
  silent: boolean;
  /** Names the sent message so later edits can target it (`alert:<id>`); a later send of the same name takes it over. */
  messageRef?: string;
}

export interface SendText extends Common, Sending {
  method: "sendMessage";
  parts: readonly Part[];
  replyMarkup?: InlineKeyboardMarkup;
  /** Link previews are off unless asked for. */
  linkPreview?: boolean;
}

/** Replaces the text and the buttons of a message: no `replyMarkup` means no buttons (as in Telegram). */
export interface EditText extends Common {
  method: "editMessageText";
  targetRef: string;
  parts: readonly Part[];
  replyMarkup?: InlineKeyboardMarkup;
}

/** Replaces only the buttons; `null` removes them. */
export interface EditMarkup extends Common {
  method: "editMessageReplyMarkup";
  targetRef: string;
  replyMarkup: InlineKeyboardMarkup | null;
}

export interface SendFile extends Common, Sending {
  method: "sendPhoto" | "sendDocument";
  file: { data: Uint8Array; filename: string };
  /** Cut under 1024 visible characters. */
  caption?: readonly Part[];
  replyMarkup?: InlineKeyboardMarkup;
}

export interface DeleteMessage extends Common {
  method: "deleteMessage";
  targetRef: string;
}

/** One message to deliver, by the Bot API method that delivers it. */
export type OutboxMessage = SendText | EditText | EditMarkup | SendFile | DeleteMessage;

/** What is stored in `outbox.payload`: everything the worker needs, already rendered and redacted. */
export interface OutboxPayload {
  /** Text (sendMessage, editMessageText) or caption (sendPhoto, sendDocument) as Bot API HTML. */
  html?: string;
  /** The same visible text without markup: sent when Telegram cannot parse the HTML. */
  plain?: string;
  /** Absent: leave as is (sends: none). `null` on an edit: remove the buttons. */
  reply_markup?: InlineKeyboardMarkup | null;
  silent?: boolean;
  link_preview?: boolean;
  file?: { base64: string; filename: string };
}

export type OutboxStatus = "pending" | "sent" | "superseded";

/** How a delivered row ended. */
export type OutboxOutcome = "sent" | "plain" | "not_modified" | "target_missing" | "folded";
