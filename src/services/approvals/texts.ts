/**
 * Words and times of the approval cards. A card is read by everyone in the approvals chat, so it is
 * written in the team's language (the first admin's configured language, else English) and the
 * team's time zone (`digest.timezone`). Toasts and command answers use the presser's own language
 * through `ctx.t` instead.
 */

import { I18n } from "@grammyjs/i18n";
import { DEFAULT_LOCALES_DIR, type Language, toLanguage } from "../../bot/i18n.ts";
import type { Config } from "../../config/index.ts";
import { localClockOrDateTime } from "../../guards/local-time.ts";

export type TranslationVars = Record<string, string | number>;

export interface CardTexts {
  language: Language;
  timeZone: string;
  t(key: string, vars?: TranslationVars): string;
  /** "14:05" (with the date when it is not today). */
  at(when: Date, now: Date): string;
  /** "5 min", "1 h 20 min", "23 h", "2 d". */
  span(ms: number): string;
}

const bundles = new Map<string, I18n>();

function translator(localesDir: string): I18n {
  let i18n = bundles.get(localesDir);
  if (!i18n) {
    i18n = new I18n({ defaultLocale: "en", fluentBundleOptions: { useIsolating: false } });
    i18n.loadLocalesDirSync(localesDir);
    bundles.set(localesDir, i18n);
  }
  return i18n;
}

/** The team's language: the first admin's configured language, else the first operator's, else English. */
export function teamLanguage(config: Pick<Config, "telegram">): Language {
  const operators = config.telegram?.operators ?? [];
  const admin = operators.find((operator) => operator.role === "admin" && operator.language);
  return toLanguage(admin?.language) ?? toLanguage(operators.find((o) => o.language)?.language) ?? "en";
}

export function createCardTexts(opts: {
  language: Language;
  timeZone: string;
  localesDir?: string;
}): CardTexts {
  const i18n = translator(opts.localesDir ?? DEFAULT_LOCALES_DIR);
  const { language, timeZone } = opts;
  const t = (key: string, vars?: TranslationVars) => i18n.t(language, key, vars);
  return {
    language,
    timeZone,
    t,
    at(when, now) {
      const zone = timeZone === "UTC" ? " UTC" : "";
      return `${localClockOrDateTime(when, now, timeZone)}${zone}`;
    },
    span(ms) {
      return formatSpan(ms, t);
    },
  };
}

/** A duration in whole minutes, hours and days, in the card's language. */
export function formatSpan(ms: number, t: (key: string, vars?: TranslationVars) => string): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 1) return t("approval-span-seconds", { n: Math.max(0, Math.round(ms / 1000)) });
  if (minutes < 60) return t("approval-span-minutes", { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    const rest = minutes % 60;
    return rest === 0 || hours >= 10
      ? t("approval-span-hours", { n: hours })
      : `${t("approval-span-hours", { n: hours })} ${t("approval-span-minutes", { n: rest })}`;
  }
  return t("approval-span-days", { n: Math.round(hours / 24) });
}
