import type { Transformer } from "grammy";
import type { Chat, Message, Update, User, UserFromGetMe } from "grammy/types";
import { type BotDeps, createBot, type PitwallBot } from "../../src/bot/create-bot.ts";

export const TOKEN = "123456789:AAF-test-token-for-pitwall-bot-tests_x";

export const BOT_INFO = {
  id: 424242,
  is_bot: true,
  first_name: "pitwall",
  username: "pitwall_test_bot",
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
} as UserFromGetMe;

export const admin: User = {
  id: 1001,
  is_bot: false,
  first_name: "Ada",
  last_name: "Admin",
  language_code: "en",
};
export const viewer: User = { id: 1002, is_bot: false, first_name: "Val", language_code: "en" };
export const approver: User = { id: 1003, is_bot: false, first_name: "Apu", language_code: "en" };
export const stranger: User = {
  id: 2001,
  is_bot: false,
  first_name: "Stan",
  username: "stan",
  language_code: "en",
};

export const OPERATORS: BotDeps["operators"] = [
  { id: admin.id, role: "admin" },
  { id: viewer.id, role: "viewer", name: "Valerie" },
  { id: approver.id, role: "approver" },
];

export interface ApiCall {
  method: string;
  payload: Record<string, unknown>;
}

let nextUpdateId = 1;
let nextMessageId = 1;

export function privateChat(user: User): Chat.PrivateChat {
  return { id: user.id, type: "private", first_name: user.first_name };
}

export const group: Chat.SupergroupChat = { id: -1001234567890, type: "supergroup", title: "ops" };

/** A text message update; a leading "/command" gets its bot_command entity, as Telegram sends it. */
export function textUpdate(
  from: User,
  text: string,
  opts: { chat?: Chat; threadId?: number; replyTo?: Message } = {},
): Update {
  const command = /^\/\S+/.exec(text);
  const message = {
    message_id: nextMessageId++,
    date: Math.floor(Date.now() / 1000),
    chat: opts.chat ?? privateChat(from),
    from,
    text,
    ...(command
      ? { entities: [{ type: "bot_command" as const, offset: 0, length: command[0].length }] }
      : {}),
    ...(opts.threadId !== undefined
      ? { message_thread_id: opts.threadId, is_topic_message: true as const }
      : {}),
    ...(opts.replyTo ? { reply_to_message: opts.replyTo } : {}),
  } as Message;
  return { update_id: nextUpdateId++, message } as Update;
}

export function callbackUpdate(from: User, data: string, chat: Chat = privateChat(from)): Update {
  return {
    update_id: nextUpdateId++,
    callback_query: {
      id: `cq${nextUpdateId}`,
      from,
      chat_instance: "ci",
      data,
      message: {
        message_id: nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        chat,
        from: BOT_INFO,
        text: "an old message",
      } as Message,
    },
  };
}

/**
 * The bot without a network: every Bot API call is recorded and answered by a stub (installed as
 * the outermost transformer, so it also sees what handlers send). `fail` makes chosen calls fail
 * with a Telegram error.
 */
export function offlineBot(deps: BotDeps) {
  const bot: PitwallBot = createBot(TOKEN, deps);
  bot.botInfo = BOT_INFO;
  const calls: ApiCall[] = [];
  const failures: Array<{ match: (call: ApiCall) => boolean; error_code: number; description: string }> = [];
  const stub: Transformer = async (_prev, method, payload) => {
    const call = { method, payload: (payload ?? {}) as Record<string, unknown> };
    calls.push(call);
    const failure = failures.find((f) => f.match(call));
    if (failure) return { ok: false, error_code: failure.error_code, description: failure.description };
    if (method === "sendMessage") {
      const result = {
        message_id: nextMessageId++,
        date: Math.floor(Date.now() / 1000),
        chat: { id: call.payload.chat_id, type: "private" },
        from: BOT_INFO,
        text: call.payload.text,
      };
      // biome-ignore lint/suspicious/noExplicitAny: the stub answers every method with its own shape
      return { ok: true, result } as any;
    }
    // biome-ignore lint/suspicious/noExplicitAny: see above
    return { ok: true, result: true } as any;
  };
  bot.api.config.use(stub);
  return {
    bot,
    calls,
    /** Texts the bot sent to a chat, in order. */
    sent: (chatId: number) =>
      calls
        .filter((c) => c.method === "sendMessage" && c.payload.chat_id === chatId)
        .map((c) => String(c.payload.text)),
    callbackAnswers: () => calls.filter((c) => c.method === "answerCallbackQuery").map((c) => c.payload),
    fail(match: (call: ApiCall) => boolean, error_code: number, description: string) {
      failures.push({ match, error_code, description });
    },
    /** Handles one update the way the poller does (errors go to bot.catch). */
    async handle(update: Update) {
      await bot.handleUpdate(update).catch((err) => bot.errorHandler(err));
    },
  };
}
