// Public types of the fake Telegram Bot API server. The Bot API objects are a hand-written subset
// (only what the emulator produces), so this module does not depend on grammY at all.

import type { BotApiEmulator } from "./emulator.ts";

export interface User {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export type ChatType = "private" | "group" | "supergroup" | "channel";

export interface Chat {
  id: number;
  type: ChatType;
  title?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
  is_forum?: true;
}

export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  user?: User;
  language?: string;
  custom_emoji_id?: string;
  unix_time?: number;
  date_time_format?: string;
}

export interface InlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
  [field: string]: unknown;
}

export interface InlineKeyboardMarkup {
  inline_keyboard: InlineKeyboardButton[][];
}

export interface ReplyKeyboardMarkup {
  keyboard: Array<Array<{ text: string; [field: string]: unknown }>>;
  [field: string]: unknown;
}

export interface ReplyKeyboardRemove {
  remove_keyboard: true;
  selective?: boolean;
}

export interface ForceReply {
  force_reply: true;
  selective?: boolean;
  input_field_placeholder?: string;
}

export type ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply;

export interface PhotoSize {
  file_id: string;
  file_unique_id: string;
  width: number;
  height: number;
  file_size?: number;
}

export interface Document {
  file_id: string;
  file_unique_id: string;
  file_name?: string;
  mime_type?: string;
  file_size?: number;
}

/** A Bot API Message as the emulator renders it. */
export interface Message {
  message_id: number;
  message_thread_id?: number;
  from?: User;
  chat: Chat;
  date: number;
  edit_date?: number;
  is_topic_message?: true;
  reply_to_message?: Message;
  text?: string;
  entities?: MessageEntity[];
  caption?: string;
  caption_entities?: MessageEntity[];
  photo?: PhotoSize[];
  document?: Document;
  reply_markup?: InlineKeyboardMarkup;
  link_preview_options?: Record<string, unknown>;
}

export interface CallbackQuery {
  id: string;
  from: User;
  message?: Message;
  chat_instance: string;
  data?: string;
}

export interface Update {
  update_id: number;
  message?: Message;
  edited_message?: Message;
  callback_query?: CallbackQuery;
  [updateType: string]: unknown;
}

export interface BotCommand {
  command: string;
  description: string;
}

/** A file received in a multipart request. */
export interface UploadedFile {
  filename: string;
  size: number;
  contentType: string;
  content: Buffer;
}

/** A file attached to a stored message: uploaded bytes, a reused file_id, or a URL. */
export interface StoredFile {
  file_id: string;
  file_unique_id: string;
  file_name?: string;
  mime_type?: string;
  size: number;
  content?: Buffer;
  url?: string;
  width?: number;
  height?: number;
}

/** The current state of one message in a chat, as a test wants to see it. */
export interface StoredMessage {
  message_id: number;
  chat_id: number;
  message_thread_id?: number;
  from: User;
  /** true when the bot sent it, false for injected user messages. */
  outgoing: boolean;
  date: number;
  edit_date?: number;
  /** Visible plain text after entity parsing (text messages). */
  text?: string;
  /** Visible plain caption after entity parsing (photo and document messages). */
  caption?: string;
  /** Text or caption exactly as the bot sent it (before entity parsing). */
  source?: string;
  parse_mode?: string;
  /** Entities of the text or the caption. */
  entities: MessageEntity[];
  reply_markup?: ReplyMarkup;
  disable_notification: boolean;
  reply_to_message_id?: number;
  link_preview_options?: Record<string, unknown>;
  /** Number of successful edits. */
  edited: number;
  deleted: boolean;
  document?: StoredFile;
  photo?: StoredFile;
}

export type ApiResponse =
  | { ok: true; result: unknown; description?: string }
  | { ok: false; error_code: number; description: string; parameters?: ResponseParameters };

export interface ResponseParameters {
  retry_after?: number;
  migrate_to_chat_id?: number;
}

export interface RecordedCall {
  /** Order of arrival, from 1. */
  seq: number;
  /** Canonical method name (`sendMessage`), whatever casing the client used. */
  method: string;
  /** Parsed parameters: JSON values, typed form fields, uploaded files as {@link UploadedFile}. */
  params: Record<string, unknown>;
  /** Injected clock (ms) when the request arrived. */
  at: number;
  status: number;
  response: ApiResponse;
  /** `webhook-reply`: a method returned in the body of a webhook response. */
  via: "http" | "webhook-reply";
  /** The client went away before a long poll was answered. */
  aborted?: true;
}

export interface RateLimitViolation {
  chatId: number;
  method: string;
  at: number;
  retryAfterUntil: number;
}

export interface CallbackAnswer {
  text?: string;
  show_alert?: boolean;
  url?: string;
  cache_time?: number;
  at: number;
}

export interface UserLike {
  id: number;
  first_name?: string;
  last_name?: string;
  username?: string;
  language_code?: string;
  is_bot?: boolean;
}

export interface ChatLike {
  id: number;
  type?: ChatType;
  title?: string;
  username?: string;
  first_name?: string;
  last_name?: string;
  is_forum?: boolean;
}

export interface InjectMessageInput {
  from: UserLike;
  /** Defaults to the private chat with `from`. */
  chat?: ChatLike;
  text: string;
  /** message_id in the same chat this message replies to. */
  replyTo?: number;
  /** Forum topic. */
  threadId?: number;
}

export interface InjectCallbackQueryInput {
  from: UserLike;
  chatId: number | string;
  messageId: number;
  data: string;
}

export interface PressButtonInput {
  from: UserLike;
  chatId: number | string;
  messageId: number;
  /** Visible text of the callback button to press. */
  text: string;
}

export interface FailureSpec {
  status: number;
  description: string;
  parameters?: ResponseParameters & Record<string, unknown>;
}

export interface WebhookState {
  url: string;
  secret_token?: string;
  max_connections?: number;
  allowed_updates?: string[];
  pending_update_count: number;
  last_error_date?: number;
  last_error_message?: string;
}

export interface FakeBotApiLimits {
  /** Private chats: sustained messages per second (token bucket refill). Default 1. */
  perChatPerSecond?: number;
  /** Private chats: bucket capacity, the burst Telegram tolerates. Default 3. */
  privateBurst?: number;
  /** Groups and supergroups: messages per sliding minute. Default 20. */
  perGroupPerMinute?: number;
  /** All chats together: messages per sliding second. Default 30. */
  globalPerSecond?: number;
  /** Default true. */
  enforce?: boolean;
}

export interface FakeBotApiOptions {
  /** Default "123456:TEST-TOKEN". */
  token?: string;
  /** Default: id from the token, username "pitwall_test_bot". */
  botUser?: { id: number; username: string; first_name: string };
  /** Injectable clock in ms; default Date.now. Drives dates, rate limits and violations. */
  now?: () => number;
  limits?: FakeBotApiLimits;
  /** Cap for the getUpdates `timeout` (real milliseconds). Default 1000. */
  longPollMaxMs?: number;
  /**
   * How the 4096 / 1024 limits count characters. Telegram counts Unicode code points
   * (tdlib `utf8_length`); "utf16" is a stricter mode. Default "codepoint".
   */
  lengthUnit?: "codepoint" | "utf16";
  /** Listen address; default 127.0.0.1 and a free port. */
  host?: string;
  port?: number;
  /** Largest request body accepted (Telegram: 50 MB uploads). Default 52 428 800. */
  maxBodyBytes?: number;
  /** Real-time delay before re-delivering an update the webhook refused. Default 200 ms. */
  webhookRetryMs?: number;
  /** Keep only the last N recorded calls (a long-running server); default: every call. */
  maxRecordedCalls?: number;
}

export interface FakeBotApi {
  /** e.g. http://127.0.0.1:PORT; grammY builds `${apiRoot}/bot${token}/${method}`. */
  readonly apiRoot: string;
  readonly token: string;
  readonly botUser: User;
  /** The Bot API behind the HTTP face: chats, files, change events (the console reads these). */
  readonly emulator: BotApiEmulator;
  /** Every request, in the order the answers went out (a long poll is recorded when it ends). */
  readonly calls: RecordedCall[];
  callsOf(method: string): RecordedCall[];
  /** Snapshot of a chat: every message with its current state, deleted ones included. */
  messages(chatId: number | string): StoredMessage[];
  /** The message with the highest id in the chat (deleted or not). */
  lastMessage(chatId: number | string): StoredMessage | undefined;
  chat(chatId: number | string): Chat | undefined;
  /**
   * Adds a user's message to the chat and queues its update. Like every inject*, it returns the
   * update even when allowed_updates filters it out (it is then not queued).
   */
  injectMessage(input: InjectMessageInput): Update;
  injectCallbackQuery(input: InjectCallbackQueryInput): Update;
  /** Finds a callback button by its text on a stored message and presses it. */
  pressButton(input: PressButtonInput): Update;
  injectUpdate(update: Omit<Update, "update_id">): Update;
  /** Updates not yet confirmed by getUpdates (or delivered to the webhook). */
  pendingUpdates(): Update[];
  callbackAnswer(callbackQueryId: string): CallbackAnswer | undefined;
  /** Resolves on the first matching call, past or future; rejects after `timeoutMs` (default 5000). */
  waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs?: number): Promise<RecordedCall>;
  /** Resolves once a getUpdates request is parked waiting for updates (a bot is polling). */
  waitForLongPoll(timeoutMs?: number): Promise<void>;
  myCommands(options?: { scope?: Record<string, unknown>; language_code?: string }): BotCommand[] | undefined;
  webhookInfo(): WebhookState;
  migrateChat(fromChatId: number, toChatId: number): void;
  blockBot(chatId: number | string): void;
  unblockBot(chatId: number | string): void;
  /** The next `times` calls of `method` ("*" for any) get this error. */
  failNext(method: string, response: FailureSpec, times?: number): void;
  /**
   * "reset" (default): every connection is destroyed at once, like a refused/reset connection.
   * "hang": requests are accepted and never answered, for client timeouts.
   */
  setDown(down: boolean, mode?: "reset" | "hang"): void;
  rateLimitViolations(): RateLimitViolation[];
  resetRateLimits(): void;
  stop(): Promise<void>;
}
