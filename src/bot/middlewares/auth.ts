import type { MiddlewareFn } from "grammy";
import type { User } from "grammy/types";
import type { Coordinator } from "../../coord/types.ts";
import { writeAudit } from "../../store/audit.ts";
import type { Db } from "../../store/pool.ts";
import { roleAtLeast } from "../commands.ts";
import type { BotContext, Role } from "../context.ts";
import { describeError } from "../errors.ts";
import { updateType } from "./logging.ts";

/** A configured operator as createBot receives it. */
export interface OperatorConfig {
  id: number;
  role: Role;
  name?: string;
  language?: string;
}

export const HOUR_MS = 60 * 60 * 1000;

/** True when the update comes from an operator whose role is at least `role`. */
export function hasRole(ctx: BotContext, role: Role): boolean {
  return ctx.operator !== undefined && roleAtLeast(ctx.operator.role, role);
}

/** "First Last" or "@username", the way Telegram shows the user. */
export function telegramName(user: User): string {
  const full = [user.first_name, user.last_name].filter(Boolean).join(" ").trim();
  return full || (user.username ? `@${user.username}` : String(user.id));
}

export interface AuthOptions {
  operators: ReadonlyMap<number, OperatorConfig>;
  db: Db;
  coord: Coordinator;
  /** How long one refusal in chat covers a stranger (default one hour). */
  refusalWindowMs?: number;
}

/**
 * Serves configured operators only. It sets `ctx.operator` and passes operators on; everyone else
 * is refused:
 * - a message in private, or addressed to the bot in a group (a command, a reply to the bot, a
 *   mention), gets one polite reply per user per refusal window - shared across instances through
 *   the coordinator, so a stranger who keeps writing is not answered every time;
 * - a button press always gets a toast: it is seen only by the presser, and every callback query
 *   must be answered anyway so the client stops its spinner;
 * - every refused update is audited (actor type 'stranger', action 'telegram.refused');
 * - anything else from a stranger (group chatter with privacy mode off, member updates,
 *   reactions, other bots) is dropped silently: it was not a request to the bot.
 * Updates without a sender (channel posts) are dropped before this.
 */
export function auth(opts: AuthOptions): MiddlewareFn<BotContext> {
  const windowMs = opts.refusalWindowMs ?? HOUR_MS;
  return async (ctx, next) => {
    const from = ctx.from;
    if (!from) return;
    const operator = opts.operators.get(from.id);
    if (operator) {
      ctx.operator = { id: operator.id, role: operator.role, name: operator.name ?? telegramName(from) };
      return next();
    }
    if (from.is_bot) return;

    const callback = ctx.callbackQuery;
    if (!callback && !addressedToBot(ctx)) return;

    await writeAudit(opts.db, {
      actor: { type: "stranger", id: String(from.id), name: telegramName(from) },
      action: "telegram.refused",
      target: ctx.chat ? `chat:${ctx.chat.id}` : undefined,
      details: {
        update_type: updateType(ctx),
        chat_id: ctx.chat?.id ?? null,
        chat_type: ctx.chat?.type ?? null,
        ...(commandOf(ctx) ? { command: commandOf(ctx) } : {}),
        ...(from.username ? { username: from.username } : {}),
      },
    }).catch((err: unknown) => {
      // The refusal still happens; the log keeps the trace of it.
      ctx.log.error({ err: describeError(err), stranger: from.id }, "could not audit a refused update");
    });
    ctx.log.info(
      { stranger: from.id, update_type: updateType(ctx), chat_id: ctx.chat?.id },
      "refused a stranger",
    );

    if (callback) {
      await ctx.answerCallbackQuery({ text: ctx.t("stranger-refusal-toast") });
      return;
    }
    const first = await opts.coord.setOnce(`tg-refusal:${from.id}`, windowMs).catch((err: unknown) => {
      // Without the shared marker we cannot know whether they were answered: stay silent.
      ctx.log.warn({ err: describeError(err) }, "could not check the refusal marker; not answering");
      return false;
    });
    if (!first) return;
    const inGroup = ctx.chat?.type !== "private";
    await ctx.reply(ctx.t("stranger-refusal", { userId: String(from.id) }), {
      // In a group, quote the message so it is clear whom the bot answers.
      ...(inGroup && ctx.msg
        ? { reply_parameters: { message_id: ctx.msg.message_id, allow_sending_without_reply: true } }
        : {}),
    });
  };
}

/** The command word of a message that starts with one ("/help@pitwall_bot" -> "/help"). */
function commandOf(ctx: BotContext): string | undefined {
  const text = ctx.message?.text;
  if (!text?.startsWith("/")) return undefined;
  return text.slice(0, 64).split(/[\s@]/, 1)[0];
}

/** Whether a message from a stranger was meant for the bot (always true in private). */
function addressedToBot(ctx: BotContext): boolean {
  const message = ctx.message;
  if (!message) return false;
  if (ctx.chat?.type === "private") return true;
  const text = message.text ?? message.caption ?? "";
  const username = ctx.me.username.toLowerCase();
  if (text.startsWith("/")) {
    // "/cmd@other_bot" is for another bot in the same group.
    const target = text.split(/\s/, 1)[0]?.split("@")[1];
    return target === undefined || target.toLowerCase() === username;
  }
  if (message.reply_to_message?.from?.id === ctx.me.id) return true;
  return text.toLowerCase().includes(`@${username}`);
}

/** "This needs the approver role; yours is viewer.", in the operator's language. */
export function roleRequiredText(ctx: BotContext, role: Role): string {
  return ctx.t("role-required", {
    required: ctx.t(`role-${role}`),
    role: ctx.operator ? ctx.t(`role-${ctx.operator.role}`) : "-",
  });
}

/**
 * Guard for a handler that needs a stronger role (later features: `/breaker_reset`, approval
 * buttons): operators below it are told which role it takes instead of getting silence.
 */
export function requireRole(role: Role): MiddlewareFn<BotContext> {
  return async (ctx, next) => {
    if (hasRole(ctx, role)) return next();
    const text = roleRequiredText(ctx, role);
    if (ctx.callbackQuery) {
      await ctx.answerCallbackQuery({ text, show_alert: false });
      return;
    }
    await ctx.reply(text);
  };
}
