/**
 * The buttons under alert and group messages (`al:`, `ag:`). Every press is answered with a toast,
 * stale or not. Acknowledge, resolve and silence need the approver role; a viewer's press is
 * refused with a toast and audited. Paging (`ag:more`) is reading, open to every operator.
 * The message itself is edited through the outbox, in the transaction of the change.
 */
import { Composer } from "grammy";
import type { ActionOutcome } from "../../../services/alerts/actions.ts";
import type { AlertsService } from "../../../services/alerts/service.ts";
import type { ActorRef } from "../../../services/alerts/types.ts";
import { writeAudit } from "../../../store/audit.ts";
import type { Db } from "../../../store/pool.ts";
import { AG_PATTERN, decodeAg } from "../../callback-data/ag.ts";
import { AL_PATTERN, decodeAl } from "../../callback-data/al.ts";
import type { BotContext } from "../../context.ts";
import { hasRole } from "../../middlewares/auth.ts";

export interface ButtonDeps {
  service: AlertsService;
  db: Db;
}

function actorOf(ctx: BotContext): ActorRef {
  const operator = ctx.operator!;
  return { type: "operator", id: String(operator.id), name: operator.name };
}

/** Approvers and admins act; a viewer gets a toast and an audit row. */
async function mayAct(ctx: BotContext, db: Db, target: string): Promise<boolean> {
  if (hasRole(ctx, "approver")) return true;
  const operator = ctx.operator;
  await writeAudit(db, {
    actor: { type: "operator", id: String(operator?.id ?? ctx.from?.id ?? "?"), name: operator?.name },
    action: "alert.action_refused",
    target,
    details: { data: ctx.callbackQuery?.data ?? null, role: operator?.role ?? null },
  }).catch((err: unknown) => ctx.log.error({ err }, "could not audit a refused alert action"));
  await ctx.answerCallbackQuery({
    text: ctx.t("alerts-toast-not-allowed", { role: ctx.t(`role-${operator?.role ?? "viewer"}`) }),
  });
  return false;
}

function toast(
  ctx: BotContext,
  outcome: ActionOutcome,
  done: (outcome: Extract<ActionOutcome, { kind: "done" }>) => string,
): string {
  switch (outcome.kind) {
    case "done":
      return done(outcome);
    case "stale":
      return ctx.t("callback-stale");
    case "already-resolved":
      return ctx.t("alerts-toast-already-resolved");
    case "already-acknowledged":
      return outcome.by
        ? ctx.t("alerts-toast-already-acknowledged", { name: outcome.by.name })
        : ctx.t("alerts-toast-already-acknowledged-all");
  }
}

export function alertButtons(deps: ButtonDeps): Composer<BotContext> {
  const { service, db } = deps;
  const until = (at: Date | undefined) => (at ? service.env.texts.stamp(at) : "?");
  const composer = new Composer<BotContext>();

  composer.callbackQuery(AL_PATTERN, async (ctx) => {
    const data = decodeAl(ctx.match);
    if (!data) {
      await ctx.answerCallbackQuery({ text: ctx.t("callback-stale") });
      return;
    }
    if (!(await mayAct(ctx, db, `alert:${data.alertId}`))) return;
    const actor = actorOf(ctx);
    let outcome: ActionOutcome;
    let text: string;
    if (data.action === "sil" && data.silenceFor === undefined) {
      outcome = await service.incidentPicker(data.alertId);
      text = toast(ctx, outcome, () => ctx.t("alerts-toast-choose-duration"));
    } else if (data.action === "sil") {
      outcome = await service.silenceIncident(data.alertId, data.silenceFor!, actor);
      text = toast(ctx, outcome, (o) => ctx.t("alerts-toast-silenced", { until: until(o.until) }));
    } else {
      outcome = await service.incident(data.action, data.alertId, actor);
      text = toast(ctx, outcome, () =>
        ctx.t(data.action === "ack" ? "alerts-toast-acknowledged" : "alerts-toast-resolved"),
      );
    }
    ctx.log.info({ alert: data.alertId, action: data.action, outcome: outcome.kind }, "alert button");
    await ctx.answerCallbackQuery({ text });
  });

  composer.callbackQuery(AG_PATTERN, async (ctx) => {
    const data = decodeAg(ctx.match);
    if (!data) {
      await ctx.answerCallbackQuery({ text: ctx.t("callback-stale") });
      return;
    }
    if (data.action === "more") {
      const outcome = await service.groupPage(data.groupId, data.page);
      await ctx.answerCallbackQuery({
        text: toast(ctx, outcome, () => ctx.t("alerts-toast-page", { page: data.page + 1 })),
      });
      return;
    }
    if (!(await mayAct(ctx, db, `alert_group:${data.groupId}`))) return;
    const actor = actorOf(ctx);
    let text: string;
    if (data.action === "sil" && data.silenceFor === undefined) {
      const outcome = await service.groupPicker(data.groupId);
      text = toast(ctx, outcome, () => ctx.t("alerts-toast-choose-duration"));
    } else if (data.action === "sil") {
      const outcome = await service.silenceGroup(data.groupId, data.silenceFor!, actor);
      text = toast(ctx, outcome, (o) =>
        ctx.t("alerts-toast-group-silenced", { until: until(o.until), count: o.count }),
      );
    } else {
      const outcome = await service.group(data.action, data.groupId, actor);
      text = toast(ctx, outcome, (o) =>
        ctx.t(data.action === "ack" ? "alerts-toast-group-acknowledged" : "alerts-toast-group-resolved", {
          count: o.count,
        }),
      );
    }
    await ctx.answerCallbackQuery({ text });
  });

  return composer;
}
