import { Composer } from "grammy";
import { COMMANDS, type CommandSpec, commandsFor } from "../commands.ts";
import type { BotContext } from "../context.ts";
import { languageName } from "./language.ts";

/**
 * /start, /help and /whoami: who the operator is to pitwall and what they can do now. `commands`
 * is the registry /help lists (default: COMMANDS; tests pass their own).
 */
export function startFeature(deps: { commands?: readonly CommandSpec[] } = {}): Composer<BotContext> {
  const registry = deps.commands ?? COMMANDS;
  const feature = new Composer<BotContext>();

  feature.command("start", async (ctx) => {
    const operator = ctx.operator;
    if (!operator) return;
    const lines = [
      ctx.t("start-greeting", { name: operator.name, role: ctx.t(`role-${operator.role}`) }),
      ctx.t(`start-can-${operator.role}`),
      ctx.t("start-next"),
    ];
    await ctx.reply(lines.join("\n\n"));
  });

  feature.command("help", async (ctx) => {
    const operator = ctx.operator;
    if (!operator) return;
    // Built from the registry, so it lists exactly the commands this role can use now.
    const commands = commandsFor(operator.role, registry).map(
      (spec) => `/${spec.command} - ${ctx.t(spec.descriptionKey)}`,
    );
    await ctx.reply(
      [
        ctx.t("help-header", { role: ctx.t(`role-${operator.role}`) }),
        commands.join("\n"),
        ctx.t("help-footer"),
      ].join("\n\n"),
    );
  });

  feature.command("whoami", async (ctx) => {
    const operator = ctx.operator;
    if (!operator || !ctx.chat) return;
    const language = await ctx.i18n.getLocale();
    // Ids go in as strings: Fluent would format numbers with digit grouping ("123,456").
    const lines = [
      ctx.t("whoami-text", {
        userId: String(operator.id),
        name: operator.name,
        role: ctx.t(`role-${operator.role}`),
        language: languageName(ctx, language),
        chatId: String(ctx.chat.id),
      }),
    ];
    const threadId = ctx.msg?.is_topic_message ? ctx.msg.message_thread_id : undefined;
    if (threadId !== undefined) lines.push(ctx.t("whoami-thread", { threadId: String(threadId) }));
    await ctx.reply(lines.join("\n"));
  });

  return feature;
}
