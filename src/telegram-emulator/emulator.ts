// The Bot API itself, independent of HTTP: state, method handlers, update injection and call
// recording. The HTTP server (server.ts) and webhook replies both go through `handle`.

import { normalizeParams } from "./body.ts";
import { BotApiError, badRequest, conflict, forbidden, notFound, tooManyRequests } from "./errors.ts";
import { FloodControl, type FloodLimits } from "./flood.ts";
import { fixFormattedText, formatText, type LengthUnit, textLength } from "./format.ts";
import { isInlineKeyboard, parseReplyMarkup, sameJson } from "./markup.ts";
import { type ChatState, ChatStore } from "./store.ts";
import type {
  ApiResponse,
  BotCommand,
  CallbackAnswer,
  CallbackQuery,
  Chat,
  FailureSpec,
  InjectCallbackQueryInput,
  InjectMessageInput,
  Message,
  PressButtonInput,
  RecordedCall,
  StoredFile,
  StoredMessage,
  Update,
  UploadedFile,
  User,
  WebhookState,
} from "./types.ts";
import { UpdateQueue } from "./updates.ts";
import { type WebhookConfig, WebhookDeliverer } from "./webhook.ts";

export interface EmulatorOptions {
  botUser: User;
  now: () => number;
  limits: FloodLimits;
  longPollMaxMs: number;
  lengthUnit: LengthUnit;
  webhookRetryMs: number;
  /** Whether a loopback http:// webhook is acceptable (the fake's test servers have no TLS). */
  allowInsecureLoopbackWebhook: boolean;
  /**
   * Keep only the last N recorded calls (the console runs for days; tests keep every call).
   * Default: unbounded.
   */
  maxRecordedCalls?: number;
}

/** What changed in a chat, for a live view (the console): the message's state after the change. */
export type EmulatorChange =
  | { kind: "message"; chatId: number; message: StoredMessage }
  | { kind: "callback_answer"; callbackQueryId: string; answer: CallbackAnswer };

export interface ApiRequest {
  method: string;
  params: Record<string, unknown>;
  via: RecordedCall["via"];
  /** Aborts a pending long poll when the client goes away. */
  signal?: AbortSignal;
}

export interface ApiAnswer {
  status: number;
  response: ApiResponse;
}

const MAX_MESSAGE_LENGTH = 4096;
const MAX_CAPTION_LENGTH = 1024;
const MAX_CALLBACK_ANSWER_LENGTH = 200;
const DELETE_WINDOW_MS = 48 * 60 * 60 * 1000;
const NOT_MODIFIED =
  "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message";
const CHAT_ACTIONS = new Set([
  "typing",
  "upload_photo",
  "record_video",
  "upload_video",
  "record_voice",
  "upload_voice",
  "upload_document",
  "choose_sticker",
  "find_location",
  "record_video_note",
  "upload_video_note",
]);
const COMMAND_SCOPES = new Set([
  "default",
  "all_private_chats",
  "all_group_chats",
  "all_chat_administrators",
  "chat",
  "chat_administrators",
  "chat_member",
]);

class Aborted extends Error {}

/** A successful result that carries Telegram's optional `description` (setWebhook and friends). */
class Described {
  readonly value: unknown;
  readonly description: string;
  constructor(value: unknown, description: string) {
    this.value = value;
    this.description = description;
  }
}

type Params = Record<string, unknown>;
interface CallContext {
  method: string;
  signal: AbortSignal | undefined;
}
type Handler = (this: BotApiEmulator, params: Params, context: CallContext) => unknown;

interface LongPoll {
  wake: () => void;
  fail: (error: Error) => void;
}

interface PendingFailure {
  spec: FailureSpec;
  remaining: number;
}

export class BotApiEmulator {
  readonly calls: RecordedCall[] = [];
  readonly options: EmulatorOptions;
  readonly store = new ChatStore();
  readonly updates = new UpdateQueue(100_000_001);
  readonly flood: FloodControl;
  private readonly webhookDeliverer: WebhookDeliverer;
  private webhook: WebhookConfig | undefined;
  private longPoll: LongPoll | undefined;
  private sequence = 0;
  private callbackSequence = 0;
  private readonly callListeners = new Set<(call: RecordedCall) => void>();
  private readonly changeListeners = new Set<(change: EmulatorChange) => void>();
  private readonly longPollListeners = new Set<() => void>();
  private readonly failures = new Map<string, PendingFailure[]>();
  private readonly callbackQueries = new Map<string, { query: CallbackQuery; answer?: CallbackAnswer }>();
  private readonly commands = new Map<string, BotCommand[]>();

  constructor(options: EmulatorOptions) {
    this.options = options;
    this.flood = new FloodControl(options.limits);
    this.store.rememberUser(options.botUser);
    this.webhookDeliverer = new WebhookDeliverer({
      queue: this.updates,
      current: () => this.webhook,
      executeReply: async (method, params) => {
        await this.handle({
          method,
          params: normalizeParams({ fields: params, files: new Map() }),
          via: "webhook-reply",
        });
      },
      now: options.now,
      retryMs: options.webhookRetryMs,
    });
    this.updates.onPush(() => {
      this.longPoll?.wake();
      this.webhookDeliverer.kick();
    });
  }

  /** Runs one Bot API call and records it. Never throws. */
  async handle(request: ApiRequest): Promise<ApiAnswer> {
    const at = this.options.now();
    const seq = ++this.sequence;
    const method = canonicalMethod(request.method);
    let answer: ApiAnswer;
    let aborted = false;
    try {
      const failure = this.takeFailure(method);
      if (failure !== undefined) {
        throw new BotApiError(failure.status, failure.description, failure.parameters);
      }
      const handler = HANDLERS.get(method.toLowerCase());
      if (handler === undefined) throw notFound();
      const result = await handler.call(this, request.params, { method, signal: request.signal });
      answer =
        result instanceof Described
          ? { status: 200, response: { ok: true, result: result.value, description: result.description } }
          : { status: 200, response: { ok: true, result } };
    } catch (error) {
      if (error instanceof BotApiError) {
        answer = { status: error.status, response: error.toResponse() };
      } else if (error instanceof Aborted) {
        aborted = true;
        answer = {
          status: 0,
          response: { ok: false, error_code: 0, description: "Aborted: the client went away" },
        };
      } else {
        answer = {
          status: 500,
          response: { ok: false, error_code: 500, description: `Internal Server Error: ${String(error)}` },
        };
      }
    }
    const call: RecordedCall = {
      seq,
      method,
      params: request.params,
      at,
      status: answer.status,
      response: answer.response,
      via: request.via,
    };
    if (aborted) call.aborted = true;
    this.record(call);
    return answer;
  }

  /** Records a request refused before it reached a method (wrong token, unreadable body). */
  recordRefused(method: string, params: Record<string, unknown>, error: BotApiError): void {
    this.record({
      seq: ++this.sequence,
      method: canonicalMethod(method),
      params,
      at: this.options.now(),
      status: error.status,
      response: error.toResponse(),
      via: "http",
    });
  }

  // ---- test-facing API -------------------------------------------------------------------

  /**
   * Calls `listener` after every change a user would see: a message sent, injected, edited or
   * deleted, a callback query answered. Returns a function that unsubscribes.
   */
  onChange(listener: (change: EmulatorChange) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  callsOf(method: string): RecordedCall[] {
    const wanted = method.toLowerCase();
    return this.calls.filter((call) => call.method.toLowerCase() === wanted);
  }

  waitFor(predicate: (call: RecordedCall) => boolean, timeoutMs = 5000): Promise<RecordedCall> {
    const past = this.calls.find(predicate);
    if (past !== undefined) return Promise.resolve(past);
    return new Promise((resolve, reject) => {
      const listener = (call: RecordedCall): void => {
        if (!predicate(call)) return;
        clearTimeout(timer);
        this.callListeners.delete(listener);
        resolve(call);
      };
      const timer = setTimeout(() => {
        this.callListeners.delete(listener);
        const recent = this.calls
          .slice(-10)
          .map((call) => `${call.method} ${call.status}`)
          .join(", ");
        reject(
          new Error(`waitFor: no matching call within ${timeoutMs} ms (last calls: ${recent || "none"})`),
        );
      }, timeoutMs);
      this.callListeners.add(listener);
    });
  }

  /** Resolves once a getUpdates request is parked waiting for updates (now or later). */
  waitForLongPoll(timeoutMs = 5000): Promise<void> {
    if (this.longPoll !== undefined) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const listener = (): void => {
        clearTimeout(timer);
        this.longPollListeners.delete(listener);
        resolve();
      };
      const timer = setTimeout(() => {
        this.longPollListeners.delete(listener);
        reject(new Error(`waitForLongPoll: no getUpdates request waited within ${timeoutMs} ms`));
      }, timeoutMs);
      this.longPollListeners.add(listener);
    });
  }

  messages(chatId: number | string): StoredMessage[] {
    const state = this.store.find(chatId);
    if (state === undefined) return [];
    return [...state.messages.values()].sort((a, b) => a.message_id - b.message_id).map(snapshot);
  }

  chat(chatId: number | string): Chat | undefined {
    const state = this.store.find(chatId);
    return state === undefined ? undefined : { ...state.chat };
  }

  injectMessage(input: InjectMessageInput): Update {
    const from = this.store.rememberUser(input.from);
    const chatLike = input.chat ?? { id: from.id, type: "private" as const };
    const state = this.store.ensure(chatLike.id, chatLike);
    const formatted = fixFormattedText(input.text, [], true);
    if (formatted.text === "") throw new Error("injectMessage: the text is empty after trimming");
    if (input.replyTo !== undefined && state.messages.get(input.replyTo) === undefined) {
      throw new Error(`injectMessage: message ${input.replyTo} does not exist in chat ${state.chat.id}`);
    }
    if (input.threadId !== undefined) this.markForum(state);
    const message: StoredMessage = {
      message_id: state.nextMessageId++,
      chat_id: state.chat.id,
      from,
      outgoing: false,
      date: this.unixNow(),
      text: formatted.text,
      source: input.text,
      entities: formatted.entities,
      disable_notification: false,
      edited: 0,
      deleted: false,
    };
    if (input.threadId !== undefined) message.message_thread_id = input.threadId;
    if (input.replyTo !== undefined) message.reply_to_message_id = input.replyTo;
    state.messages.set(message.message_id, message);
    this.emitMessage(message);
    return this.injectUpdate({ message: this.renderMessage(state, message) });
  }

  injectCallbackQuery(input: InjectCallbackQueryInput): Update {
    const state = this.store.find(input.chatId);
    const message = state?.messages.get(input.messageId);
    if (state === undefined || message === undefined || message.deleted) {
      throw new Error(
        `injectCallbackQuery: message ${input.messageId} does not exist in chat ${input.chatId}`,
      );
    }
    const from = this.store.rememberUser(input.from);
    const id = `${this.options.botUser.id}${String(++this.callbackSequence).padStart(9, "0")}`;
    const query: CallbackQuery = {
      id,
      from,
      message: this.renderMessage(state, message),
      chat_instance: chatInstance(state.chat.id),
      data: input.data,
    };
    this.callbackQueries.set(id, { query });
    return this.injectUpdate({ callback_query: query });
  }

  pressButton(input: PressButtonInput): Update {
    const state = this.store.find(input.chatId);
    const message = state?.messages.get(input.messageId);
    const markup = message?.reply_markup;
    const buttons = isInlineKeyboard(markup) ? markup.inline_keyboard.flat() : [];
    const button = buttons.find((candidate) => candidate.text === input.text);
    if (button?.callback_data === undefined) {
      const available = buttons.map((candidate) => JSON.stringify(candidate.text)).join(", ") || "none";
      throw new Error(
        `pressButton: no callback button ${JSON.stringify(input.text)} on message ${input.messageId} in chat ${input.chatId} (buttons: ${available})`,
      );
    }
    return this.injectCallbackQuery({ ...input, data: button.callback_data });
  }

  injectUpdate(body: Omit<Update, "update_id">): Update {
    const { update } = this.updates.push(structuredClone(body));
    return structuredClone(update);
  }

  callbackAnswer(callbackQueryId: string): CallbackAnswer | undefined {
    const answer = this.callbackQueries.get(callbackQueryId)?.answer;
    return answer === undefined ? undefined : { ...answer };
  }

  myCommands(
    options: { scope?: Record<string, unknown>; language_code?: string } = {},
  ): BotCommand[] | undefined {
    const stored = this.commands.get(
      commandsKey(options.scope ?? { type: "default" }, options.language_code ?? ""),
    );
    return stored?.map((command) => ({ ...command }));
  }

  webhookInfo(): WebhookState {
    const info: WebhookState = {
      url: this.webhook?.url ?? "",
      pending_update_count: this.updates.pending().length,
    };
    if (this.webhook === undefined) return info;
    if (this.webhook.secretToken !== undefined) info.secret_token = this.webhook.secretToken;
    info.max_connections = this.webhook.maxConnections;
    const allowed = this.updates.allowedTypes();
    if (allowed !== undefined) info.allowed_updates = allowed;
    if (this.webhook.lastErrorDate !== undefined) info.last_error_date = this.webhook.lastErrorDate;
    if (this.webhook.lastErrorMessage !== undefined) info.last_error_message = this.webhook.lastErrorMessage;
    return info;
  }

  migrateChat(fromChatId: number, toChatId: number): void {
    const from = this.store.ensure(fromChatId);
    this.store.ensure(toChatId, {
      id: toChatId,
      type: "supergroup",
      ...(from.chat.title ? { title: from.chat.title } : {}),
    });
    from.migratedTo = toChatId;
  }

  setBlocked(chatId: number | string, blocked: boolean): void {
    let state = this.store.find(chatId);
    if (state === undefined) {
      const id = Number(chatId);
      if (!Number.isSafeInteger(id) || id === 0) throw new Error(`setBlocked: unknown chat ${chatId}`);
      state = this.store.ensure(id);
    }
    state.blocked = blocked;
  }

  failNext(method: string, spec: FailureSpec, times = 1): void {
    const key = method === "*" ? "*" : method.toLowerCase();
    const queue = this.failures.get(key) ?? [];
    queue.push({ spec, remaining: times });
    this.failures.set(key, queue);
  }

  /** Answers a pending long poll (used when the server stops) and stops webhook delivery. */
  shutdown(): void {
    this.longPoll?.wake();
    this.webhookDeliverer.stop();
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private record(call: RecordedCall): void {
    this.calls.push(call);
    const max = this.options.maxRecordedCalls;
    if (max !== undefined && this.calls.length > max) this.calls.splice(0, this.calls.length - max);
    for (const listener of [...this.callListeners]) listener(call);
  }

  private emit(change: EmulatorChange): void {
    for (const listener of [...this.changeListeners]) {
      try {
        listener(change);
      } catch {
        // A viewer's failure must not fail the Bot API call that caused the change.
      }
    }
  }

  private emitMessage(message: StoredMessage): void {
    if (this.changeListeners.size === 0) return;
    this.emit({ kind: "message", chatId: message.chat_id, message: snapshot(message) });
  }

  private takeFailure(method: string): FailureSpec | undefined {
    for (const key of [method.toLowerCase(), "*"]) {
      const queue = this.failures.get(key);
      const next = queue?.[0];
      if (queue === undefined || next === undefined) continue;
      if (--next.remaining <= 0) queue.shift();
      return next.spec;
    }
    return undefined;
  }

  private unixNow(): number {
    return Math.floor(this.options.now() / 1000);
  }

  private markForum(state: ChatState): void {
    if (state.chat.type === "supergroup") state.chat = { ...state.chat, is_forum: true };
  }

  /** Resolves chat_id for a method that acts in a chat, with Telegram's chat-level refusals. */
  private targetChat(params: Params, missing = "chat_id is empty"): ChatState {
    const raw = params.chat_id;
    let state: ChatState | undefined;
    if (raw === undefined || raw === null || raw === "") throw badRequest(missing);
    if (typeof raw === "number" && Number.isSafeInteger(raw) && raw !== 0) {
      state = this.store.ensure(raw);
    } else if (typeof raw === "string") {
      state = this.store.find(raw);
    }
    if (state === undefined) throw badRequest("chat not found");
    if (state.migratedTo !== undefined) {
      throw new BotApiError(400, "Bad Request: group chat was upgraded to a supergroup chat", {
        migrate_to_chat_id: state.migratedTo,
      });
    }
    if (state.blocked) {
      if (state.chat.type === "private") throw forbidden("bot was blocked by the user");
      throw forbidden(`bot was kicked from the ${state.chat.type === "group" ? "group" : "supergroup"} chat`);
    }
    return state;
  }

  private checkFlood(state: ChatState, method: string): void {
    const kind = state.chat.type === "private" ? "private" : "group";
    const retryAfter = this.flood.check(state.chat.id, kind, method, this.options.now());
    if (retryAfter > 0) throw tooManyRequests(retryAfter);
  }

  private consumeFlood(state: ChatState): void {
    this.flood.consume(
      state.chat.id,
      state.chat.type === "private" ? "private" : "group",
      this.options.now(),
    );
  }

  private resolveUser = (id: number): User | undefined => this.store.user(id);

  private formatMessageText(params: Params): { text: string; entities: StoredMessage["entities"] } {
    const text = stringParam(params.text);
    if (text === undefined || text === "") throw badRequest("message text is empty");
    const formatted = formatText(text, params.parse_mode, params.entities, {
      allowEmpty: false,
      resolveUser: this.resolveUser,
    });
    if (textLength(formatted.text, this.options.lengthUnit) > MAX_MESSAGE_LENGTH) {
      throw badRequest("message is too long");
    }
    return formatted;
  }

  private formatCaption(params: Params): { text: string; entities: StoredMessage["entities"] } {
    const formatted = formatText(stringParam(params.caption), params.parse_mode, params.caption_entities, {
      allowEmpty: true,
      resolveUser: this.resolveUser,
    });
    if (textLength(formatted.text, this.options.lengthUnit) > MAX_CAPTION_LENGTH) {
      throw badRequest("message caption is too long");
    }
    return formatted;
  }

  private replyTarget(state: ChatState, params: Params): number | undefined {
    const replyParameters = params.reply_parameters;
    let messageId: unknown = params.reply_to_message_id;
    let allowWithout = params.allow_sending_without_reply === true;
    let target = state;
    if (typeof replyParameters === "object" && replyParameters !== null) {
      const reply = replyParameters as Record<string, unknown>;
      messageId = typeof reply.message_id === "string" ? Number(reply.message_id) : reply.message_id;
      allowWithout = reply.allow_sending_without_reply === true;
      if (reply.chat_id !== undefined && reply.chat_id !== state.chat.id) {
        const other = this.store.find(reply.chat_id as number | string);
        if (other === undefined) throw badRequest("message to be replied not found");
        target = other;
      }
    } else if (typeof replyParameters === "string") {
      throw badRequest("can't parse reply parameters JSON object");
    }
    if (typeof messageId !== "number" || messageId === 0) return undefined;
    const replied = target.messages.get(messageId);
    if (replied === undefined || replied.deleted) {
      if (allowWithout) return undefined;
      throw badRequest("message to be replied not found");
    }
    return target === state ? messageId : undefined;
  }

  private storeOutgoing(state: ChatState, params: Params, content: Partial<StoredMessage>): StoredMessage {
    const message: StoredMessage = {
      message_id: state.nextMessageId++,
      chat_id: state.chat.id,
      from: this.options.botUser,
      outgoing: true,
      date: this.unixNow(),
      entities: [],
      disable_notification: params.disable_notification === true,
      edited: 0,
      deleted: false,
      ...content,
    };
    if (typeof params.parse_mode === "string" && params.parse_mode !== "") {
      message.parse_mode = params.parse_mode;
    }
    if (typeof params.message_thread_id === "number" && params.message_thread_id !== 0) {
      message.message_thread_id = params.message_thread_id;
      this.markForum(state);
    }
    const replyTo = this.replyTarget(state, params);
    if (replyTo !== undefined) message.reply_to_message_id = replyTo;
    state.messages.set(message.message_id, message);
    this.emitMessage(message);
    return message;
  }

  private messageToEdit(state: ChatState, params: Params): StoredMessage {
    const messageId = params.message_id;
    if (typeof messageId !== "number" || messageId === 0) {
      throw badRequest("message identifier is not specified");
    }
    const message = state.messages.get(messageId);
    if (message === undefined || message.deleted) throw badRequest("message to edit not found");
    if (!message.outgoing) throw badRequest("message can't be edited");
    return message;
  }

  private applyEdit(state: ChatState, message: StoredMessage, changes: Partial<StoredMessage>): Message {
    Object.assign(message, changes);
    if (changes.reply_markup === undefined) delete message.reply_markup;
    message.edited += 1;
    message.edit_date = this.unixNow();
    this.consumeFlood(state);
    this.emitMessage(message);
    return this.renderMessage(state, message);
  }

  private uploadedFile(params: Params, field: string, missing: string): StoredFile {
    const value = params[field];
    if (value === undefined || value === "") throw badRequest(missing);
    if (isUploadedFile(value)) {
      if (value.size === 0) throw badRequest("file must be non-empty");
      const dimensions = field === "photo" ? imageSize(value.content) : undefined;
      return this.store.addFile({
        file_name: value.filename,
        mime_type: mimeType(value),
        size: value.size,
        content: value.content,
        ...(dimensions ?? {}),
      });
    }
    if (typeof value === "string") {
      const known = this.store.file(value);
      if (known !== undefined) return known;
      if (/^https?:\/\//i.test(value)) return this.store.addFile({ size: 0, url: value });
    }
    throw badRequest("wrong file identifier/HTTP URL specified");
  }

  renderMessage(state: ChatState, message: StoredMessage, withReply = true): Message {
    const rendered: Message = {
      message_id: message.message_id,
      from: { ...message.from },
      chat: { ...state.chat },
      date: message.date,
    };
    if (message.message_thread_id !== undefined) {
      rendered.message_thread_id = message.message_thread_id;
      if (state.chat.is_forum) rendered.is_topic_message = true;
    }
    if (withReply && message.reply_to_message_id !== undefined) {
      const replied = state.messages.get(message.reply_to_message_id);
      if (replied !== undefined && !replied.deleted) {
        rendered.reply_to_message = this.renderMessage(state, replied, false);
      }
    }
    if (message.edit_date !== undefined) rendered.edit_date = message.edit_date;
    if (message.text !== undefined) {
      rendered.text = message.text;
      if (message.entities.length > 0) rendered.entities = structuredClone(message.entities);
    }
    if (message.photo !== undefined) {
      rendered.photo = [
        {
          file_id: message.photo.file_id,
          file_unique_id: message.photo.file_unique_id,
          width: message.photo.width ?? 0,
          height: message.photo.height ?? 0,
          file_size: message.photo.size,
        },
      ];
    }
    if (message.document !== undefined) {
      const document = message.document;
      rendered.document = {
        file_id: document.file_id,
        file_unique_id: document.file_unique_id,
        file_size: document.size,
      };
      if (document.file_name !== undefined) rendered.document.file_name = document.file_name;
      if (document.mime_type !== undefined) rendered.document.mime_type = document.mime_type;
    }
    if (message.caption !== undefined && message.caption !== "") {
      rendered.caption = message.caption;
      if (message.entities.length > 0) rendered.caption_entities = structuredClone(message.entities);
    }
    if (isInlineKeyboard(message.reply_markup)) rendered.reply_markup = structuredClone(message.reply_markup);
    if (message.link_preview_options !== undefined) {
      rendered.link_preview_options = structuredClone(message.link_preview_options);
    }
    return rendered;
  }

  // ---- methods -----------------------------------------------------------------------------

  getMe(): unknown {
    return {
      ...this.options.botUser,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
      can_connect_to_business: false,
      has_main_web_app: false,
    };
  }

  async getUpdates(params: Params, context: CallContext): Promise<unknown> {
    if (this.webhook !== undefined) {
      throw conflict(
        "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
      );
    }
    const offset = integerParam(params.offset, 0);
    const limit = Math.min(100, Math.max(1, integerParam(params.limit, 100)));
    const timeoutSeconds = Math.max(0, integerParam(params.timeout, 0));
    if (Array.isArray(params.allowed_updates)) {
      this.updates.setAllowed(
        params.allowed_updates.filter((type): type is string => typeof type === "string"),
      );
    }
    const ready = this.updates.take(offset, limit);
    if (ready.length > 0 || timeoutSeconds === 0) return ready;

    // Telegram keeps one long poll per bot: a newer one terminates the older (Client::abort_long_poll).
    this.longPoll?.fail(
      conflict("terminated by other getUpdates request; make sure that only one bot instance is running"),
    );
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        context.signal?.removeEventListener("abort", onAbort);
        if (this.longPoll === poll) this.longPoll = undefined;
        if (error === undefined) resolve();
        else reject(error);
      };
      const poll: LongPoll = { wake: () => finish(), fail: (error) => finish(error) };
      const onAbort = (): void => finish(new Aborted());
      const timer = setTimeout(finish, Math.min(timeoutSeconds * 1000, this.options.longPollMaxMs));
      this.longPoll = poll;
      for (const listener of [...this.longPollListeners]) listener();
      if (context.signal?.aborted) onAbort();
      else context.signal?.addEventListener("abort", onAbort);
    });
    return this.updates.take(offset, limit);
  }

  setWebhook(params: Params): unknown {
    const url = stringParam(params.url) ?? "";
    if (url === "") return this.deleteWebhook(params);
    const secretToken = stringParam(params.secret_token);
    if (secretToken !== undefined && secretToken.length > 256) throw badRequest("secret token is too long");
    if (secretToken !== undefined && !/^[A-Za-z0-9_-]*$/.test(secretToken)) {
      throw badRequest("secret token contains unallowed characters");
    }
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw badRequest("invalid webhook URL specified");
    }
    const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(parsed.hostname);
    const secure =
      parsed.protocol === "https:" ||
      (parsed.protocol === "http:" && loopback && this.options.allowInsecureLoopbackWebhook);
    if (!secure) throw badRequest("bad webhook: An HTTPS URL must be provided for webhook");
    const maxConnections = Math.min(100, Math.max(1, integerParam(params.max_connections, 40)));
    if (Array.isArray(params.allowed_updates)) {
      this.updates.setAllowed(
        params.allowed_updates.filter((type): type is string => typeof type === "string"),
      );
    }
    const dropPending = params.drop_pending_updates === true;
    const current = this.webhook;
    if (
      current !== undefined &&
      current.url === url &&
      current.secretToken === (secretToken || undefined) &&
      current.maxConnections === maxConnections &&
      !dropPending
    ) {
      return new Described(true, "Webhook is already set");
    }
    this.longPoll?.fail(conflict("terminated by setWebhook request"));
    if (dropPending) this.updates.clear();
    this.webhookDeliverer.reset();
    this.webhook = { url, secretToken: secretToken || undefined, maxConnections };
    this.webhookDeliverer.kick();
    return new Described(true, "Webhook was set");
  }

  deleteWebhook(params: Params): unknown {
    if (params.drop_pending_updates === true) this.updates.clear();
    const wasSet = this.webhook !== undefined;
    this.webhook = undefined;
    this.webhookDeliverer.reset();
    return new Described(true, wasSet ? "Webhook was deleted" : "Webhook is already deleted");
  }

  getWebhookInfo(): unknown {
    const info = this.webhookInfo();
    const { secret_token: _secret, ...visible } = info;
    return { ...visible, has_custom_certificate: false };
  }

  sendMessage(params: Params, context: CallContext): unknown {
    const state = this.targetChat(params);
    this.checkFlood(state, context.method);
    const formatted = this.formatMessageText(params);
    const replyMarkup = parseReplyMarkup(params.reply_markup, { inlineOnly: false });
    const message = this.storeOutgoing(state, params, {
      text: formatted.text,
      entities: formatted.entities,
      source: stringParam(params.text) ?? "",
      ...(replyMarkup === undefined ? {} : { reply_markup: replyMarkup }),
      ...(isObject(params.link_preview_options) ? { link_preview_options: params.link_preview_options } : {}),
    });
    this.consumeFlood(state);
    return this.renderMessage(state, message);
  }

  sendPhoto(params: Params, context: CallContext): unknown {
    return this.sendMedia(params, context, "photo", "there is no photo in the request");
  }

  sendDocument(params: Params, context: CallContext): unknown {
    return this.sendMedia(params, context, "document", "there is no document in the request");
  }

  private sendMedia(
    params: Params,
    context: CallContext,
    field: "photo" | "document",
    missing: string,
  ): unknown {
    const state = this.targetChat(params);
    this.checkFlood(state, context.method);
    const caption = this.formatCaption(params);
    const replyMarkup = parseReplyMarkup(params.reply_markup, { inlineOnly: false });
    const file = this.uploadedFile(params, field, missing);
    const message = this.storeOutgoing(state, params, {
      caption: caption.text,
      entities: caption.entities,
      source: stringParam(params.caption) ?? "",
      [field]: file,
      ...(replyMarkup === undefined ? {} : { reply_markup: replyMarkup }),
    });
    this.consumeFlood(state);
    return this.renderMessage(state, message);
  }

  sendChatAction(params: Params): unknown {
    this.targetChat(params);
    const action = stringParam(params.action);
    if (action === undefined || !CHAT_ACTIONS.has(action)) {
      throw badRequest("wrong parameter action in request");
    }
    return true;
  }

  getChat(params: Params): unknown {
    const state = this.targetChat(params);
    return { ...state.chat, accent_color_id: 0, max_reaction_count: 11 };
  }

  editMessageText(params: Params, context: CallContext): unknown {
    if (params.inline_message_id !== undefined) {
      throw badRequest("inline messages are not supported by the fake Bot API");
    }
    const state = this.targetChat(params);
    this.checkFlood(state, context.method);
    const message = this.messageToEdit(state, params);
    if (message.text === undefined) throw badRequest("there is no text in the message to edit");
    const formatted = this.formatMessageText(params);
    const replyMarkup = parseReplyMarkup(params.reply_markup, { inlineOnly: true });
    if (
      formatted.text === message.text &&
      sameJson(formatted.entities, message.entities) &&
      sameJson(replyMarkup, isInlineKeyboard(message.reply_markup) ? message.reply_markup : undefined)
    ) {
      throw badRequest(NOT_MODIFIED);
    }
    const changes: Partial<StoredMessage> = {
      text: formatted.text,
      entities: formatted.entities,
      source: stringParam(params.text) ?? "",
      reply_markup: replyMarkup,
    };
    if (isObject(params.link_preview_options)) changes.link_preview_options = params.link_preview_options;
    this.updateParseMode(message, params);
    return this.applyEdit(state, message, changes);
  }

  editMessageCaption(params: Params, context: CallContext): unknown {
    if (params.inline_message_id !== undefined) {
      throw badRequest("inline messages are not supported by the fake Bot API");
    }
    const state = this.targetChat(params);
    this.checkFlood(state, context.method);
    const message = this.messageToEdit(state, params);
    if (message.caption === undefined) throw badRequest("there is no caption in the message to edit");
    const caption = this.formatCaption(params);
    const replyMarkup = parseReplyMarkup(params.reply_markup, { inlineOnly: true });
    if (
      caption.text === message.caption &&
      sameJson(caption.entities, message.entities) &&
      sameJson(replyMarkup, isInlineKeyboard(message.reply_markup) ? message.reply_markup : undefined)
    ) {
      throw badRequest(NOT_MODIFIED);
    }
    this.updateParseMode(message, params);
    return this.applyEdit(state, message, {
      caption: caption.text,
      entities: caption.entities,
      source: stringParam(params.caption) ?? "",
      reply_markup: replyMarkup,
    });
  }

  editMessageReplyMarkup(params: Params, context: CallContext): unknown {
    if (params.inline_message_id !== undefined) {
      throw badRequest("inline messages are not supported by the fake Bot API");
    }
    const state = this.targetChat(params);
    this.checkFlood(state, context.method);
    const message = this.messageToEdit(state, params);
    const replyMarkup = parseReplyMarkup(params.reply_markup, { inlineOnly: true });
    if (sameJson(replyMarkup, isInlineKeyboard(message.reply_markup) ? message.reply_markup : undefined)) {
      throw badRequest(NOT_MODIFIED);
    }
    return this.applyEdit(state, message, { reply_markup: replyMarkup });
  }

  private updateParseMode(message: StoredMessage, params: Params): void {
    if (typeof params.parse_mode === "string" && params.parse_mode !== "") {
      message.parse_mode = params.parse_mode;
    } else delete message.parse_mode;
  }

  deleteMessage(params: Params): unknown {
    const state = this.targetChat(params, "chat identifier is not specified");
    const messageId = params.message_id;
    if (typeof messageId !== "number" || messageId === 0) {
      throw badRequest("message identifier is not specified");
    }
    const message = state.messages.get(messageId);
    if (message === undefined || message.deleted) throw badRequest("message to delete not found");
    if (this.options.now() - message.date * 1000 >= DELETE_WINDOW_MS) {
      throw badRequest("message can't be deleted");
    }
    message.deleted = true;
    this.emitMessage(message);
    return true;
  }

  answerCallbackQuery(params: Params): unknown {
    const id = stringParam(params.callback_query_id);
    const entry = id === undefined ? undefined : this.callbackQueries.get(id);
    if (entry === undefined || entry.answer !== undefined) {
      throw badRequest("query is too old and response timeout expired or query ID is invalid");
    }
    const text = stringParam(params.text);
    if (text !== undefined && textLength(text, "codepoint") > MAX_CALLBACK_ANSWER_LENGTH) {
      throw badRequest("MESSAGE_TOO_LONG");
    }
    const answer: CallbackAnswer = { at: this.options.now() };
    if (text !== undefined && text !== "") answer.text = text;
    if (params.show_alert === true) answer.show_alert = true;
    const url = stringParam(params.url);
    if (url !== undefined && url !== "") answer.url = url;
    if (typeof params.cache_time === "number") answer.cache_time = params.cache_time;
    entry.answer = answer;
    if (id !== undefined) this.emit({ kind: "callback_answer", callbackQueryId: id, answer: { ...answer } });
    return true;
  }

  setMyCommands(params: Params): unknown {
    const key = this.commandsKeyOf(params);
    const raw = params.commands ?? [];
    if (!Array.isArray(raw)) throw badRequest("can't parse commands JSON object");
    if (raw.length > 100) throw badRequest("BOT_COMMANDS_TOO_MUCH");
    const commands = raw.map((item): BotCommand => {
      if (typeof item !== "object" || item === null) {
        throw badRequest("can't parse BotCommand: expected an Object");
      }
      const { command, description } = item as Record<string, unknown>;
      if (typeof command !== "string") {
        throw badRequest("can't parse BotCommand: Can't find field \"command\"");
      }
      if (typeof description !== "string") {
        throw badRequest("can't parse BotCommand: Can't find field \"description\"");
      }
      const name = command.trim().replace(/^\//, "");
      if (name === "") throw badRequest("command must be non-empty");
      if ([...name].length > 32) throw badRequest("command length must not exceed 32");
      const text = description.trim();
      if (text === "") throw badRequest("command description must be non-empty");
      if ([...text].length > 256) throw badRequest("command description length must not exceed 256");
      if (!/^[a-z0-9_]+$/.test(name)) throw badRequest("BOT_COMMAND_INVALID");
      return { command: name, description: text };
    });
    if (commands.length === 0) this.commands.delete(key);
    else this.commands.set(key, commands);
    return true;
  }

  getMyCommands(params: Params): unknown {
    return this.commands.get(this.commandsKeyOf(params)) ?? [];
  }

  deleteMyCommands(params: Params): unknown {
    this.commands.delete(this.commandsKeyOf(params));
    return true;
  }

  private commandsKeyOf(params: Params): string {
    const scope = params.scope ?? { type: "default" };
    if (typeof scope !== "object" || scope === null || Array.isArray(scope)) {
      throw badRequest("can't parse BotCommandScope JSON object");
    }
    const type = (scope as Record<string, unknown>).type;
    if (typeof type !== "string" || !COMMAND_SCOPES.has(type)) {
      throw badRequest("can't parse BotCommandScope: Unsupported type specified");
    }
    const language = stringParam(params.language_code) ?? "";
    if (!/^([a-z]{2})?$/.test(language)) throw badRequest("invalid language code specified");
    return commandsKey(scope as Record<string, unknown>, language);
  }
}

const HANDLERS = new Map<string, Handler>();
const CANONICAL = new Map<string, string>();
for (const name of [
  "getMe",
  "getUpdates",
  "setWebhook",
  "deleteWebhook",
  "getWebhookInfo",
  "sendMessage",
  "sendPhoto",
  "sendDocument",
  "sendChatAction",
  "getChat",
  "editMessageText",
  "editMessageCaption",
  "editMessageReplyMarkup",
  "deleteMessage",
  "answerCallbackQuery",
  "setMyCommands",
  "getMyCommands",
  "deleteMyCommands",
] as const) {
  HANDLERS.set(name.toLowerCase(), BotApiEmulator.prototype[name] as Handler);
  CANONICAL.set(name.toLowerCase(), name);
}

/** Method names are case-insensitive in the Bot API; calls are recorded under the documented spelling. */
export function canonicalMethod(method: string): string {
  return CANONICAL.get(method.toLowerCase()) ?? method;
}

function commandsKey(scope: Record<string, unknown>, languageCode: string): string {
  const { type, chat_id: chatId, user_id: userId } = scope;
  return JSON.stringify([type, chatId ?? null, userId ?? null, languageCode]);
}

function chatInstance(chatId: number): string {
  return String((BigInt(chatId) * 7919n + 104729n) % 9_000_000_000_000_000_000n);
}

function snapshot(message: StoredMessage): StoredMessage {
  const copy: StoredMessage = {
    ...message,
    from: { ...message.from },
    entities: structuredClone(message.entities),
  };
  if (message.reply_markup !== undefined) copy.reply_markup = structuredClone(message.reply_markup);
  if (message.link_preview_options !== undefined) {
    copy.link_preview_options = structuredClone(message.link_preview_options);
  }
  if (message.document !== undefined) copy.document = { ...message.document };
  if (message.photo !== undefined) copy.photo = { ...message.photo };
  return copy;
}

function stringParam(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

function integerParam(value: unknown, fallback: number): number {
  if (typeof value === "number" && Number.isFinite(value)) return Math.trunc(value);
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return Number(value.trim());
  return fallback;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isUploadedFile(value: unknown): value is UploadedFile {
  return isObject(value) && Buffer.isBuffer(value.content) && typeof value.filename === "string";
}

const MIME_BY_EXTENSION: Record<string, string> = {
  json: "application/json",
  txt: "text/plain",
  csv: "text/csv",
  log: "text/plain",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  svg: "image/svg+xml",
  zip: "application/zip",
};

/** Telegram detects the type from the name; multipart clients usually send application/octet-stream. */
function mimeType(file: UploadedFile): string {
  const extension = /\.([A-Za-z0-9]+)$/.exec(file.filename)?.[1]?.toLowerCase();
  const guessed =
    extension !== undefined && Object.hasOwn(MIME_BY_EXTENSION, extension)
      ? MIME_BY_EXTENSION[extension]
      : undefined;
  if (guessed !== undefined) return guessed;
  return file.contentType === "" ? "application/octet-stream" : file.contentType;
}

/** Width and height of a PNG or JPEG, so photo messages look like Telegram's. */
function imageSize(content: Buffer): { width: number; height: number } | undefined {
  if (content.length >= 24 && content.readUInt32BE(0) === 0x89504e47) {
    return { width: content.readUInt32BE(16), height: content.readUInt32BE(20) };
  }
  if (content.length >= 4 && content[0] === 0xff && content[1] === 0xd8) {
    let position = 2;
    while (position + 9 < content.length && content[position] === 0xff) {
      const marker = content[position + 1]!;
      const length = content.readUInt16BE(position + 2);
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
        return { height: content.readUInt16BE(position + 5), width: content.readUInt16BE(position + 7) };
      }
      position += 2 + length;
    }
  }
  return undefined;
}
