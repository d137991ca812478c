/**
 * Approvals in chat: the buttons of approval cards (`ap:`), of a run's card (`ab:`), "Deny with
 * reason" (a conversation, see deny-with-reason.ts) and `/approvals` (pending requests with their
 * buttons, active "Always allow" grants with a revoke button, paged: see list.ts).
 *
 * Only approvers and admins decide; a viewer's press gets a toast and an audit row (strangers are
 * refused before this, by the auth middleware). Every press is answered with a toast saying what
 * happened — decided, already decided by whom, expired, or no longer valid — and the card itself is
 * edited through the outbox in the transaction that decided.
 */
import { conversations, createConversation } from "@grammyjs/conversations";
import { type Bot, Composer, type Context } from "grammy";
import type { Config } from "../../../config/index.ts";
import type { Logger } from "../../../observability/logger.ts";
import { newTrace } from "../../../observability/trace.ts";
import { effectiveStatus, idsShown } from "../../../services/approvals/cards.ts";
import { postgresConversationStorage } from "../../../services/approvals/conversation-store.ts";
import type { ApprovalsService, DecideOutcome, OperatorActor } from "../../../services/approvals/service.ts";
import type { Db } from "../../../store/pool.ts";
import { AB_PATTERN, decodeAb } from "../../callback-data/ab.ts";
import { AP_PATTERN, decodeAp } from "../../callback-data/ap.ts";
import type { CommandSpec } from "../../commands.ts";
import type { BotContext, ConversationContext } from "../../context.ts";
import type { BotFeature } from "../../create-bot.ts";
import { describeError } from "../../errors.ts";
import { createI18n } from "../../i18n.ts";
import { hasRole, roleRequiredText } from "../../middlewares/auth.ts";
import { DENY_WITH_REASON, denyWithReasonConversation } from "./deny-with-reason.ts";
import { approvalList } from "./list.ts";
import { tooLateText } from "./texts.ts";

export const APPROVALS_COMMANDS: readonly CommandSpec[] = [
  { command: "approvals", descriptionKey: "cmd-approvals", role: "viewer" },
];

export interface ApprovalsFeatureDeps {
  service: ApprovalsService;
  db: Db;
  config: Config;
  log: Logger;
  localesDir?: string;
}

const OUTCOMES: Record<"ok" | "no" | "always", DecideOutcome> = {
  ok: "approve",
  no: "deny",
  always: "always",
};

function actorOf(ctx: BotContext): OperatorActor {
  const operator = ctx.operator!;
  return { id: operator.id, name: operator.name };
}

/**
 * Only updates a "Deny with reason" can concern pass through the conversations plugin (it reads
 * and writes its storage for every update it sees): `ap:why:` presses, and messages that reply to
 * one of the bot's messages (in a private chat, any message: there the approver may just type).
 */
function mayConcernConversation(ctx: BotContext): boolean {
  if (!ctx.from || ctx.chat === undefined || !ctx.operator) return false;
  const data = ctx.callbackQuery?.data;
  if (data !== undefined) return data.startsWith("ap:why:");
  const message = ctx.message;
  if (!message?.text) return false;
  if (ctx.chat.type === "private") return true;
  return message.reply_to_message?.from?.id === ctx.me.id;
}

export function approvalsFeature(deps: ApprovalsFeatureDeps): BotFeature {
  const { service } = deps;
  const operators = new Map(
    (deps.config.telegram?.operators ?? []).map((operator) => [operator.id, operator]),
  );
  // Conversations build their own context objects: i18n, logger and operator are set again there.
  const i18n = createI18n({
    db: deps.db,
    operators,
    log: deps.log,
    ...(deps.localesDir === undefined ? {} : { localesDir: deps.localesDir }),
  });

  const install = (bot: Bot<BotContext>) => {
    const feature = new Composer<BotContext>();

    const branch = feature.filter(mayConcernConversation);
    branch.use(
      conversations<BotContext, ConversationContext>({
        storage: {
          type: "key",
          // Bump when the steps of deny-with-reason.ts change: replays of old state would misalign.
          version: 1,
          prefix: "approvals:",
          // One record per approver and chat: approvers never contend for one row, and another
          // user's reply can never reach someone else's question.
          getStorageKey: (ctx) => `${ctx.chat?.id}:${ctx.from?.id}`,
          adapter: postgresConversationStorage(deps.db),
        },
      }),
    );
    branch.use(
      createConversation<BotContext, ConversationContext>(denyWithReasonConversation(service), {
        id: DENY_WITH_REASON,
        parallel: true,
        plugins: [
          i18n.middleware() as unknown as (ctx: Context, next: () => Promise<void>) => Promise<void>,
          async (ctx: ConversationContext, next) => {
            const from = ctx.from;
            const operator = from ? operators.get(from.id) : undefined;
            if (operator && from) {
              ctx.operator = { id: operator.id, role: operator.role, name: operator.name ?? from.first_name };
            }
            ctx.trace = newTrace();
            ctx.log = deps.log.child({ update_id: ctx.update.update_id, conversation: DENY_WITH_REASON });
            await next();
          },
        ],
      }),
    );
    branch.callbackQuery(AP_PATTERN, async (ctx, next) => {
      const data = decodeAp(ctx.match);
      if (data?.action !== "why" || !hasRole(ctx, "approver")) return next();
      const row = await service.get(data.id);
      // Not an approval: a quick reason of a question that has ended (the handler below says so).
      if (!row) return next();
      if (effectiveStatus(row, service.cardContext().now) !== "pending") {
        await ctx.answerCallbackQuery({ text: tooLateText(ctx, service, row).slice(0, 200) });
        return;
      }
      const opened = await service.openReasonPrompt(row.id, ctx.from.id, String(ctx.chat?.id ?? ctx.from.id));
      if (!opened) {
        await ctx.answerCallbackQuery({ text: ctx.t("approval-toast-why-asked") });
        return;
      }
      await ctx.answerCallbackQuery({ text: ctx.t("approval-toast-why") });
      try {
        await ctx.conversation.enter(DENY_WITH_REASON, row.id);
      } catch (err) {
        // The question could not be asked (Telegram refused it): let the approver press again.
        await service.closeReasonPrompt(row.id, ctx.from.id).catch(() => undefined);
        throw err;
      }
    });

    /** A press by an operator who may not decide: audited, and told which role it takes. */
    async function refuseNonApprover(ctx: BotContext, target: string, action: string): Promise<void> {
      await service
        .auditRefusal(actorOf(ctx), target, { action, role: ctx.operator?.role ?? null })
        .catch((err: unknown) =>
          ctx.log.error({ err: describeError(err) }, "could not audit a refused press"),
        );
      await ctx.answerCallbackQuery({ text: roleRequiredText(ctx, "approver") });
    }

    feature.callbackQuery(AP_PATTERN, async (ctx) => {
      const data = decodeAp(ctx.match);
      if (!data) return;
      if (!hasRole(ctx, "approver")) {
        await refuseNonApprover(ctx, data.id, data.action);
        return;
      }
      const row = await service.get(data.id);
      if (!row) {
        if (data.action === "always") {
          const grant = await service.getGrant(data.id);
          if (grant) {
            const revoked = await service.revokeGrant(grant.id, actorOf(ctx));
            await ctx.answerCallbackQuery({
              text:
                revoked.kind === "revoked"
                  ? ctx.t("approval-toast-revoked", { tool: grant.tool, agent: grant.agent })
                  : ctx.t("approval-toast-grant-gone"),
            });
            return;
          }
        }
        await ctx.answerCallbackQuery({ text: ctx.t("callback-stale") });
        return;
      }
      if (data.action === "why") {
        // Reached only without the conversation branch (a press outside any chat): plain refusal.
        await ctx.answerCallbackQuery({ text: ctx.t("callback-stale") });
        return;
      }
      const result = await service.decide(row.id, OUTCOMES[data.action], actorOf(ctx), undefined, row);
      switch (result.kind) {
        case "decided": {
          const { now, texts } = service.cardContext();
          const text =
            result.grant !== undefined
              ? ctx.t("approval-toast-always", { until: texts.at(result.grant.expires_at, now) })
              : ctx.t(result.row.status === "approved" ? "approval-toast-approved" : "approval-toast-denied");
          await ctx.answerCallbackQuery({ text: text.slice(0, 200) });
          return;
        }
        case "too_late":
          await ctx.answerCallbackQuery({ text: tooLateText(ctx, service, result.row).slice(0, 200) });
          return;
        case "unknown":
          await ctx.answerCallbackQuery({ text: ctx.t("callback-stale") });
          return;
      }
    });

    feature.callbackQuery(AB_PATTERN, async (ctx) => {
      const data = decodeAb(ctx.match);
      if (!data) return;
      if (!hasRole(ctx, "approver")) {
        await refuseNonApprover(ctx, data.batchId, `batch_${data.action}`);
        return;
      }
      if (data.action === "review") {
        const result = await service.review(data.batchId, actorOf(ctx));
        await ctx.answerCallbackQuery({
          text:
            result.kind === "done"
              ? ctx.t("approval-toast-review", { n: result.cards })
              : result.kind === "nothing"
                ? ctx.t("approval-toast-nothing-pending")
                : ctx.t("callback-stale"),
        });
        return;
      }
      // Approve exactly what the pressed card shows (its text as Telegram holds it now).
      const message = ctx.callbackQuery.message;
      const shown = idsShown(message && "text" in message ? (message.text ?? "") : "");
      const result = await service.approveShown(data.batchId, shown, actorOf(ctx));
      if (result.kind === "unknown") {
        await ctx.answerCallbackQuery({ text: ctx.t("callback-stale") });
        return;
      }
      const parts = [
        result.approved.length > 0
          ? ctx.t("approval-toast-approved-all", { n: result.approved.length })
          : ctx.t("approval-toast-nothing-pending"),
      ];
      if (result.notShown > 0) parts.push(ctx.t("approval-toast-not-shown", { n: result.notShown }));
      await ctx.answerCallbackQuery({ text: parts.join(" ").slice(0, 200) });
    });

    feature.use(approvalList(service));

    bot.use(feature);
  };

  return { name: "approvals", commands: APPROVALS_COMMANDS, install };
}
