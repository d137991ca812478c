/**
 * "Deny with reason" as a @grammyjs/conversations v2 conversation (parallel: many approvers, many
 * approvals at once; state in Postgres, so it survives restarts and leader changes).
 *
 * The approver who pressed the button gets, in the same chat (and topic):
 * - a selective ForceReply question that mentions them (Telegram opens the reply field for them
 *   alone; in privacy mode bots still see replies to their own messages), and
 * - a quick-reason picker under it: inline buttons `ap:why:<reasonId>`, ids minted for this one
 *   question (the wire format stays `ap:<action>:<16 base62>`; see callback-data/ap.ts).
 * The conversation waits only for that user: their reply to the question, or their press on the
 * picker, until the approval expires. Everything else is passed on untouched (other approvers'
 * replies never reach it: its state is stored per chat and approver). Every side effect — reading
 * the approval, sending, deciding — runs inside `conversation.external`, so replays repeat none.
 */
import type { Conversation } from "@grammyjs/conversations";
import type { InlineKeyboardButton } from "grammy/types";
import { newId } from "../../../guards/approvals/index.ts";
import { effectiveStatus } from "../../../services/approvals/cards.ts";
import type { ApprovalsService } from "../../../services/approvals/service.ts";
import { decodeAp, encodeAp } from "../../callback-data/ap.ts";
import type { BotContext, ConversationContext } from "../../context.ts";
import { b, code, link, renderHtml } from "../../format/index.ts";
import { tooLateText } from "./texts.ts";

export const DENY_WITH_REASON = "approval-deny-with-reason";

/** Quick reasons offered under the question (Fluent ids `approval-quick-<key>`). */
export const QUICK_REASONS = ["risky", "wrong", "later", "talk"] as const;

interface Question {
  ok: true;
  userId: number;
  chatId: number;
  promptMessageId: number;
  /** reason id -> the reason's text in the approver's language; "" for cancel. */
  choices: Record<string, string>;
  /** Real time (ms) until which the question waits: the approval's expiry. */
  deadlineMs: number;
}

type Setup = Question | { ok: false };

type Answer =
  | { kind: "reason"; text: string; via: "reply" | "button" }
  | { kind: "cancel" }
  | { kind: "other" };

function classify(ctx: ConversationContext, question: Question, privateChat: boolean): Answer {
  if (ctx.from?.id !== question.userId) return { kind: "other" };
  const data = ctx.callbackQuery?.data;
  if (data !== undefined) {
    const decoded = decodeAp(data);
    if (decoded?.action !== "why") return { kind: "other" };
    const choice = question.choices[decoded.id];
    if (choice === undefined) return { kind: "other" };
    return choice === "" ? { kind: "cancel" } : { kind: "reason", text: choice, via: "button" };
  }
  const message = ctx.message;
  const text = message?.text?.trim();
  if (!message || !text || text.startsWith("/")) return { kind: "other" };
  const replied = message.reply_to_message?.message_id === question.promptMessageId;
  // In a private chat the approver may just type: every message there is for the bot.
  if (!replied && !privateChat) return { kind: "other" };
  return { kind: "reason", text, via: "reply" };
}

export function denyWithReasonConversation(service: ApprovalsService) {
  return async function denyWithReason(
    conversation: Conversation<BotContext, ConversationContext>,
    ctx: ConversationContext,
    approvalId: string,
  ): Promise<void> {
    const privateChat = ctx.chat?.type === "private";
    const setup = await conversation.external(async (outer): Promise<Setup> => {
      const operator = outer.operator;
      const chat = outer.chat;
      const row = await service.get(approvalId);
      if (!operator || !chat || !row || effectiveStatus(row, service.cardContext().now) !== "pending") {
        return { ok: false };
      }
      const texts = service.texts;
      const now = service.cardContext().now;
      const threadId = outer.callbackQuery?.message?.is_topic_message
        ? outer.callbackQuery.message.message_thread_id
        : undefined;
      const thread = threadId === undefined ? {} : { message_thread_id: threadId };
      const cardMessageId = outer.callbackQuery?.message?.message_id;
      const question = renderHtml([
        link(`tg://user?id=${operator.id}`, operator.name),
        ", ",
        outer.t("approval-why-question", { agent: row.agent }),
        " ",
        code(row.tool),
        " · ",
        code(row.id),
        "\n",
        outer.t("approval-why-how", { at: texts.at(row.expires_at, now) }),
      ]);
      const prompt = await outer.api.sendMessage(chat.id, question.html, {
        parse_mode: "HTML",
        ...thread,
        ...(cardMessageId === undefined
          ? {}
          : { reply_parameters: { message_id: cardMessageId, allow_sending_without_reply: true } }),
        reply_markup: {
          force_reply: true,
          selective: true,
          input_field_placeholder: outer.t("approval-why-placeholder").slice(0, 64),
        },
      });
      const choices: Record<string, string> = {};
      const buttons: InlineKeyboardButton[][] = [];
      for (const key of QUICK_REASONS) {
        const id = newId();
        const text = outer.t(`approval-quick-${key}`);
        choices[id] = text;
        buttons.push([{ text, callback_data: encodeAp({ action: "why", id }) }]);
      }
      const cancelId = newId();
      choices[cancelId] = "";
      buttons.push([
        {
          text: `↩️ ${outer.t("approval-quick-cancel")}`,
          callback_data: encodeAp({ action: "why", id: cancelId }),
        },
      ]);
      const picker = await outer.api
        .sendMessage(
          chat.id,
          renderHtml([outer.t("approval-quick-title", { name: operator.name }), " ", b(row.tool)]).html,
          {
            parse_mode: "HTML",
            ...thread,
            reply_markup: { inline_keyboard: buttons },
            disable_notification: true,
          },
        )
        .catch((err: unknown) => {
          // The question alone still works: the approver can type the reason.
          outer.log.warn({ err: { message: (err as Error).message } }, "could not send the quick reasons");
          return undefined;
        });
      await service.recordReasonPrompt(
        approvalId,
        operator.id,
        { id: String(chat.id), thread: threadId ?? null },
        { prompt: prompt.message_id, picker: picker?.message_id ?? null },
      );
      const msLeft = row.expires_at.getTime() - now.getTime();
      return {
        ok: true,
        userId: operator.id,
        chatId: chat.id,
        promptMessageId: prompt.message_id,
        choices,
        deadlineMs: Date.now() + msLeft,
      };
    });
    if (!setup.ok) return;

    for (;;) {
      const left = setup.deadlineMs - (await conversation.now());
      if (left <= 0) break;
      // Past the deadline the plugin ends the conversation and passes the update on.
      const next = await conversation.wait({ maxMilliseconds: left });
      const answer = classify(next, setup, privateChat);
      if (answer.kind === "other") await conversation.skip({ next: true });
      if (answer.kind === "cancel") {
        await conversation.external(async (outer) => {
          await service.closeReasonPrompt(approvalId, setup.userId);
          await outer
            .answerCallbackQuery({ text: outer.t("approval-toast-why-cancelled") })
            .catch(() => undefined);
        });
        return;
      }
      if (answer.kind !== "reason") continue;
      await conversation.external(async (outer) => {
        const operator = outer.operator;
        if (!operator) return;
        const result = await service.decide(
          approvalId,
          "deny",
          { id: operator.id, name: operator.name },
          answer.text,
        );
        let text: string;
        if (result.kind === "decided") {
          text = outer.t("approval-toast-denied-reason", {
            reason: result.row.decision_reason ?? answer.text,
          });
        } else if (result.kind === "too_late") {
          await service.closeReasonPrompt(approvalId, setup.userId);
          text = tooLateText(outer, service, result.row);
        } else {
          await service.closeReasonPrompt(approvalId, setup.userId);
          text = outer.t("callback-stale");
        }
        if (answer.via === "button") {
          await outer.answerCallbackQuery({ text: text.slice(0, 200) }).catch(() => undefined);
        } else if (outer.message) {
          await outer.reply(text, {
            reply_parameters: { message_id: outer.message.message_id, allow_sending_without_reply: true },
            disable_notification: true,
          });
        }
      });
      return;
    }
    await conversation.external(() => service.closeReasonPrompt(approvalId, setup.userId));
  };
}
