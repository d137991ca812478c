import { Composer } from "grammy";
import { writeAudit } from "../../store/audit.ts";
import { type Db, inTransaction } from "../../store/pool.ts";
import type { BotContext } from "../context.ts";
import { LANGUAGES, toLanguage } from "../i18n.ts";
import { storeLanguage } from "../prefs.ts";

/** "English (en)", in the language being spoken. */
export function languageName(ctx: BotContext, language: string): string {
  return `${ctx.t(`language-name-${toLanguage(language) ?? "en"}`)} (${language})`;
}

/**
 * /language shows the operator's language and how to switch; `/language ru` stores the choice
 * (it wins over the config and the Telegram app's language, and survives restarts), audits it,
 * and answers in the new language. Language buttons would need a new callback-data prefix, and
 * callback data is a fixed wire format, so switching is by argument only.
 */
export function languageFeature(deps: { db: Db }): Composer<BotContext> {
  const feature = new Composer<BotContext>();
  feature.command("language", async (ctx) => {
    const operator = ctx.operator;
    if (!operator) return;
    const current = await ctx.i18n.getLocale();
    const argument = ctx.match.trim();
    if (!argument) {
      await ctx.reply(
        [ctx.t("language-current", { language: languageName(ctx, current) }), ctx.t("language-how-to")].join(
          "\n",
        ),
      );
      return;
    }
    const chosen = toLanguage(argument);
    if (!chosen || argument.length > 10) {
      await ctx.reply(
        ctx.t("language-unknown", { code: argument.slice(0, 20), available: LANGUAGES.join(", ") }),
      );
      return;
    }
    await inTransaction(deps.db, async (client) => {
      await storeLanguage(client, operator.id, chosen);
      await writeAudit(client, {
        actor: { type: "operator", id: String(operator.id), name: operator.name },
        action: "operator.language_set",
        target: `operator:${operator.id}`,
        details: { language: chosen, previous: current },
      });
    });
    ctx.i18n.useLocale(chosen);
    ctx.log.info({ operator: operator.id, language: chosen }, "operator changed language");
    await ctx.reply(ctx.t("language-set", { language: languageName(ctx, chosen) }));
  });
  return feature;
}
