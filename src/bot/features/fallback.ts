import { Composer } from "grammy";
import type { BotContext } from "../context.ts";

/**
 * Installed after every other feature: whatever none of them handled ends here.
 * - Every callback query is answered, even stale or unknown ones (buttons on old messages, data
 *   from a newer or older version): the client would otherwise spin, and a toast says why.
 * - An unknown command gets a pointer to /help: always in private; in groups only when it names
 *   this bot ("/foo@pitwall_bot"), since a bare "/foo" there may be meant for another bot.
 * - Other text in private gets the same pointer; in groups it is conversation between people.
 */
export const fallbackFeature = new Composer<BotContext>();

fallbackFeature.on("callback_query", async (ctx) => {
  ctx.log.debug({ data: ctx.callbackQuery.data?.slice(0, 64) }, "unhandled callback query");
  await ctx.answerCallbackQuery({ text: ctx.t("callback-stale") });
});

fallbackFeature.on("message:text", async (ctx) => {
  const text = ctx.message.text;
  const isPrivate = ctx.chat.type === "private";
  if (!text.startsWith("/")) {
    if (isPrivate) await ctx.reply(ctx.t("text-hint"));
    return;
  }
  const [command = "/", target] = (text.split(/\s/, 1)[0] ?? "").split("@");
  const forThisBot = target?.toLowerCase() === ctx.me.username.toLowerCase();
  if (target !== undefined && !forThisBot) return;
  if (!isPrivate && !forThisBot) return;
  await ctx.reply(ctx.t("unknown-command", { command: command.slice(0, 33) }));
});
