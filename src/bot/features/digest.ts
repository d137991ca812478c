/**
 * `/digest` (any operator): the digest of the last 24 hours, sent to the asking operator in
 * private: the chart with its headline, then the full text. It goes straight out (not through the
 * outbox, where the digest waits behind everything else): the operator is waiting for it. Asked
 * in a group, the group gets a one-line pointer, not the digest.
 */
import { GrammyError, InputFile } from "grammy";
import type { CommandSpec } from "../commands.ts";
import type { BotContext } from "../context.ts";
import type { BotFeature } from "../create-bot.ts";
import type { Part } from "../format/index.ts";
import { renderCaption, renderHtml } from "../format/index.ts";

export const DIGEST_COMMANDS: readonly CommandSpec[] = [
  { command: "digest", descriptionKey: "cmd-digest", role: "viewer" },
];

export interface OnDemandDigest {
  caption: Part[];
  text: Part[];
  png: Uint8Array;
}

export interface DigestFeatureDeps {
  /** Builds the digest of the last 24 hours in the words of `t`. */
  onDemand(t: (key: string, vars?: Record<string, string | number>) => string): Promise<OnDemandDigest>;
}

/** The operator has not opened a private chat with the bot (or blocked it). */
function privateChatClosed(err: unknown): boolean {
  return err instanceof GrammyError && (err.error_code === 403 || /chat not found/i.test(err.description));
}

export function digestFeature(deps: DigestFeatureDeps): BotFeature {
  return {
    name: "digest",
    commands: DIGEST_COMMANDS,
    install(bot) {
      bot.command("digest", async (ctx: BotContext) => {
        const operator = ctx.operator;
        if (!operator || !ctx.chat) return;
        const inPrivate = ctx.chat.type === "private";
        const digest = await deps.onDemand((key, vars) => ctx.t(key, vars));
        // The private chat with a user has the user's id.
        const chatId = operator.id;
        try {
          await ctx.api.sendPhoto(chatId, new InputFile(digest.png, "digest.png"), {
            caption: renderCaption(digest.caption).html,
            parse_mode: "HTML",
            disable_notification: true,
          });
          await ctx.api.sendMessage(chatId, renderHtml(digest.text).html, {
            parse_mode: "HTML",
            disable_notification: true,
            link_preview_options: { is_disabled: true },
          });
        } catch (err) {
          if (inPrivate || !privateChatClosed(err)) throw err;
          ctx.log.info({ operator: operator.id }, "/digest: cannot write to the operator in private");
          await ctx.reply(ctx.t("digest-private-blocked", { bot: ctx.me.username }));
          return;
        }
        if (!inPrivate) await ctx.reply(ctx.t("digest-sent-private"));
      });
    },
  };
}
