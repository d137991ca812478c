/**
 * Ops in chat: `/budgets`, `/breakers`, `/health`, `/mode` for every operator; `/breaker_reset`,
 * `/breaker_trip` and `/mode_set` for admins (each audited by the service that makes the change).
 * Replies go straight back (`ctx.reply`): the operator is waiting for them.
 */
import type { Bot } from "grammy";
import { BreakerState } from "../../../guards/circuit-breaker.ts";
import { BREAKER_NAME } from "../../../services/ops/breakers.ts";
import { opsTimeZone } from "../../../services/ops/context.ts";
import type { OpsServices } from "../../../services/ops/services.ts";
import type { Actor } from "../../../store/audit.ts";
import type { CommandSpec } from "../../commands.ts";
import type { BotContext } from "../../context.ts";
import type { BotFeature } from "../../create-bot.ts";
import { type Part, renderHtml } from "../../format/index.ts";
import { requireRole } from "../../middlewares/auth.ts";
import { breakersMessage } from "./breakers.ts";
import { budgetsMessage } from "./budgets.ts";
import { healthMessage } from "./health.ts";
import { modeMessage, parseModeCommand } from "./mode.ts";

export const OPS_COMMANDS: readonly CommandSpec[] = [
  { command: "health", descriptionKey: "cmd-health", role: "viewer" },
  { command: "budgets", descriptionKey: "cmd-budgets", role: "viewer" },
  { command: "breakers", descriptionKey: "cmd-breakers", role: "viewer" },
  { command: "mode", descriptionKey: "cmd-mode", role: "viewer" },
  { command: "breaker_reset", descriptionKey: "cmd-breaker-reset", role: "admin" },
  { command: "breaker_trip", descriptionKey: "cmd-breaker-trip", role: "admin" },
  { command: "mode_set", descriptionKey: "cmd-mode-set", role: "admin" },
];

async function replyParts(ctx: BotContext, parts: Part[]): Promise<void> {
  await ctx.reply(renderHtml(parts).html, {
    parse_mode: "HTML",
    link_preview_options: { is_disabled: true },
  });
}

function operatorActor(ctx: BotContext): Actor {
  const operator = ctx.operator!;
  return { type: "operator", id: String(operator.id), name: operator.name };
}

export function opsFeature(services: OpsServices): BotFeature {
  const { ctx: ops } = services;
  const timeZone = opsTimeZone(ops.config);

  const install = (bot: Bot<BotContext>) => {
    bot.command("budgets", async (ctx) => {
      if (!ctx.operator) return;
      await replyParts(ctx, budgetsMessage(ctx, await services.budgets(), ops.now(), timeZone));
    });

    bot.command("breakers", async (ctx) => {
      if (!ctx.operator) return;
      await replyParts(ctx, breakersMessage(ctx, await services.breakers.list(), ops.now(), timeZone));
    });

    bot.command("health", async (ctx) => {
      if (!ctx.operator) return;
      const [databaseOk, current, breakers, checks] = await Promise.all([
        services.databaseOk(),
        services.mode.current().catch(() => ({ mode: "FULL" as const, reasons: [] })),
        services.breakers.list().catch(() => []),
        services.checks().catch(() => []),
      ]);
      const open = breakers
        .filter((entry) => entry.snapshot.state === BreakerState.Open)
        .map((entry) => entry.name);
      await replyParts(
        ctx,
        healthMessage(
          ctx,
          {
            databaseOk,
            mode: current.mode,
            modeReasons: current.reasons,
            breakers: { total: breakers.length, open },
            checks,
          },
          ops.now(),
          timeZone,
        ),
      );
    });

    bot.command("mode", async (ctx) => {
      if (!ctx.operator) return;
      await replyParts(ctx, modeMessage(ctx, await services.mode.view(), ops.now(), timeZone));
    });

    const breakerCommand = (command: "breaker_reset" | "breaker_trip") =>
      bot.command(command, requireRole("admin"), async (ctx) => {
        const name = ctx.match.trim();
        if (name === "") {
          await ctx.reply(ctx.t("ops-breaker-usage", { command }));
          return;
        }
        if (!BREAKER_NAME.test(name)) {
          await ctx.reply(ctx.t("ops-breaker-bad-name", { name: name.slice(0, 80) }));
          return;
        }
        const actor = operatorActor(ctx);
        const change =
          command === "breaker_reset"
            ? await services.breakers.reset(name, actor)
            : await services.breakers.trip(name, actor);
        if (!change.known) {
          await ctx.reply(
            change.names.length > 0
              ? ctx.t("ops-breaker-unknown", { name, names: change.names.join(", ") })
              : ctx.t("ops-breaker-unknown-none", { name }),
          );
          return;
        }
        const previous = ctx.t(`ops-breaker-${(change.previous ?? "closed").replace("_", "-")}`);
        const changed = change.result?.transition !== undefined;
        const key =
          command === "breaker_reset"
            ? changed
              ? "ops-breaker-reset-done"
              : "ops-breaker-reset-noop"
            : changed
              ? "ops-breaker-trip-done"
              : "ops-breaker-trip-noop";
        await ctx.reply(ctx.t(key, { name, previous }));
      });
    breakerCommand("breaker_reset");
    breakerCommand("breaker_trip");

    bot.command("mode_set", requireRole("admin"), async (ctx) => {
      const command = parseModeCommand(ctx.match);
      switch (command.kind) {
        case "usage":
          await ctx.reply(ctx.t("ops-mode-set-usage"));
          return;
        case "reason_required":
          await ctx.reply(ctx.t("ops-mode-set-reason-required"));
          return;
        case "unpin": {
          const outcome = await services.mode.unpin(operatorActor(ctx));
          await ctx.reply(
            outcome.wasPinned
              ? ctx.t("ops-mode-set-unpinned", { mode: outcome.mode })
              : ctx.t("ops-mode-set-not-pinned", { mode: outcome.mode }),
          );
          return;
        }
        case "pin": {
          const outcome = await services.mode.pin(command.mode, command.reason, operatorActor(ctx));
          await ctx.reply(ctx.t("ops-mode-set-pinned", { mode: outcome.mode, previous: outcome.previous }));
          return;
        }
      }
    });
  };

  return { name: "ops", commands: OPS_COMMANDS, install };
}
