/**
 * The digest's words. In the digest chat and by email it is read by the whole team, so it is
 * written in the team's language (the first admin's configured language, else English); `/digest`
 * answers in the asking operator's language through `ctx.t`.
 */
import { I18n } from "@grammyjs/i18n";
import { DEFAULT_LOCALES_DIR, type Language, toLanguage } from "../../bot/i18n.ts";
import type { Config } from "../../config/index.ts";

export type TranslationVars = Record<string, string | number>;

/** Translates a Fluent id of locales/<language>/digest.ftl into one language. */
export type Translate = (key: string, vars?: TranslationVars) => string;

let shared: I18n | undefined;

/** A translator for one language, from the repository's Fluent files (loaded once per process). */
export function digestTranslator(language: Language, localesDir: string = DEFAULT_LOCALES_DIR): Translate {
  let i18n = localesDir === DEFAULT_LOCALES_DIR ? shared : undefined;
  if (!i18n) {
    // No isolation marks around placeables: they show up as junk in mail clients and chats.
    i18n = new I18n({ defaultLocale: "en", fluentBundleOptions: { useIsolating: false } });
    i18n.loadLocalesDirSync(localesDir);
    if (localesDir === DEFAULT_LOCALES_DIR) shared = i18n;
  }
  const loaded = i18n;
  return (key, vars) => loaded.t(language, key, vars);
}

/** The team's language: the first admin's configured language, else the first operator's, else English. */
export function teamLanguage(config: Pick<Config, "telegram">): Language {
  const operators = config.telegram?.operators ?? [];
  const first = operators.find((operator) => operator.role === "admin") ?? operators[0];
  return toLanguage(first?.language) ?? "en";
}
