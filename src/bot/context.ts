import type { ConversationFlavor } from "@grammyjs/conversations";
import type { I18nFlavor } from "@grammyjs/i18n";
import type { Context } from "grammy";
import type { Logger } from "../observability/logger.ts";
import type { TraceContext } from "../observability/trace.ts";

/** Operator roles, weakest first: each role can do everything the ones before it can. */
export const ROLES = ["viewer", "approver", "admin"] as const;
export type Role = (typeof ROLES)[number];

/** A configured operator, as the bot sees the sender of an update after authentication. */
export interface OperatorIdentity {
  id: number;
  /** The name from the config, else the Telegram name. */
  name: string;
  role: Role;
}

/** What pitwall's own middlewares put on every context. */
export interface PitwallFlavor {
  /** Set by the auth middleware for configured operators; absent for everyone else. */
  operator?: OperatorIdentity;
  /** Child logger bound to this update (update id; trace id comes from the async trace context). */
  log: Logger;
  /** The trace made for this update; audit rows written while handling it carry its id. */
  trace: TraceContext;
}

/**
 * The context inside conversations (v2): conversations build their own context objects, so the
 * outer ConversationFlavor must not be part of it (see NOTES.md). Use it as
 * `Conversation<BotContext, ConversationContext>` and give `createConversation` plugins that set
 * these props again: the i18n middleware, and one copying `log`/`trace`/`operator` from the outer
 * context (they are not carried over by themselves).
 */
export type ConversationContext = Context & I18nFlavor & PitwallFlavor;

/** The one context type of the whole bot. */
export type BotContext = ConversationFlavor<ConversationContext>;
