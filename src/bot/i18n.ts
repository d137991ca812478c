import { fileURLToPath } from "node:url";
import { I18n, type Warning } from "@grammyjs/i18n";
import type { Logger } from "../observability/logger.ts";
import type { Db } from "../store/pool.ts";
import type { BotContext } from "./context.ts";
import { describeError } from "./errors.ts";
import { getStoredLanguage } from "./prefs.ts";

/** Languages pitwall speaks; each has a folder of Fluent files under `locales/`. */
export const LANGUAGES = ["en", "ru"] as const;
export type Language = (typeof LANGUAGES)[number];

/** `locales/` at the repository root, wherever the process was started from. */
export const DEFAULT_LOCALES_DIR = fileURLToPath(new URL("../../locales", import.meta.url));

/** Maps a Telegram `language_code` ("ru", "ru-RU", "EN") or a stored choice to a supported language. */
export function toLanguage(code: string | null | undefined): Language | undefined {
  const primary = code?.trim().toLowerCase().split(/[-_]/)[0];
  return LANGUAGES.find((language) => language === primary);
}

export interface I18nDeps {
  db: Db;
  /** Configured operators by Telegram user id, with their configured language if any. */
  operators: ReadonlyMap<number, { language?: string }>;
  log: Logger;
  defaultLanguage?: Language;
  /** Folder holding one sub-folder per language; defaults to the repository's `locales/`. */
  localesDir?: string;
}

/**
 * The i18n plugin with pitwall's negotiation order: the operator's stored /language choice, then
 * the operator's configured language, then Telegram's language_code, then the default. Strangers
 * never cause a database read (they only get a refusal in their Telegram language).
 */
export function createI18n(deps: I18nDeps): I18n<BotContext> {
  const defaultLanguage = deps.defaultLanguage ?? "en";
  const i18n = new I18n<BotContext>({
    defaultLocale: defaultLanguage,
    // Isolation marks (U+2068/U+2069) around placeables show up as junk in some Telegram clients
    // and break copy-paste of ids; all our placeables are plain values, so they are not needed.
    fluentBundleOptions: { useIsolating: false },
    fluentOptions: { warningHandler: (warning: Warning) => logTranslationGap(deps.log, warning) },
    localeNegotiator: async (ctx) => {
      const from = ctx.from;
      if (!from) return defaultLanguage;
      const operator = deps.operators.get(from.id);
      if (operator) {
        const stored = await getStoredLanguage(deps.db, from.id).catch((err: unknown) => {
          // A database hiccup must not leave the operator without an answer; the next update
          // reads the choice again.
          deps.log.warn({ err: describeError(err) }, "could not read the stored language");
          return undefined;
        });
        const chosen = toLanguage(stored) ?? toLanguage(operator.language);
        if (chosen) return chosen;
      }
      return toLanguage(from.language_code) ?? defaultLanguage;
    },
  });
  i18n.loadLocalesDirSync(deps.localesDir ?? DEFAULT_LOCALES_DIR);
  return i18n;
}

function logTranslationGap(log: Logger, warning: Warning): void {
  // A message missing in one language falls back to the default one; say which, so it gets fixed.
  log.warn({ locales: warning.locales, key: warning.path, type: warning.type }, "missing translation");
}
