/**
 * Words and times for messages that go to a chat rather than to one operator: alert and group
 * messages are read by everyone in the alerts chat, so they are written in the team's language
 * (the first admin's configured language, else English) and the team's time zone
 * (`digest.timezone`, the zone the daily report already speaks). Toasts and command answers use
 * the presser's own language through `ctx.t` instead.
 */

import { I18n } from "@grammyjs/i18n";
import { DEFAULT_LOCALES_DIR, type Language, toLanguage } from "../../bot/i18n.ts";
import { localClock, localStamp } from "../../guards/local-time.ts";

export type TranslationVars = Record<string, string | number>;

export interface AlertTexts {
  language: Language;
  timeZone: string;
  t(key: string, vars?: TranslationVars): string;
  /** "14:05" */
  clock(at: Date): string;
  /** "2024-03-10 14:05:09" */
  stamp(at: Date): string;
}

/** Translates `key` for any language with the repository's Fluent files (shared by all chats). */
export type Translator = (language: Language, key: string, vars?: TranslationVars) => string;

let shared: I18n | undefined;

/** One Fluent bundle set per process: loading is synchronous file I/O, done once. */
export function loadTranslator(localesDir: string = DEFAULT_LOCALES_DIR): Translator {
  const i18n =
    localesDir === DEFAULT_LOCALES_DIR && shared
      ? shared
      : new I18n({ defaultLocale: "en", fluentBundleOptions: { useIsolating: false } });
  if (i18n !== shared) {
    i18n.loadLocalesDirSync(localesDir);
    if (localesDir === DEFAULT_LOCALES_DIR) shared = i18n;
  }
  return (language, key, vars) => i18n.t(language, key, vars);
}

export function createAlertTexts(opts: {
  language?: string | undefined;
  timeZone?: string | undefined;
  translate?: Translator;
}): AlertTexts {
  const language = toLanguage(opts.language) ?? "en";
  const timeZone = opts.timeZone ?? "UTC";
  const translate = opts.translate ?? loadTranslator();
  return {
    language,
    timeZone,
    t: (key, vars) => translate(language, key, vars),
    clock: (at) => localClock(at, timeZone),
    stamp: (at) => localStamp(at, timeZone),
  };
}

/** "1h", "4h", "90m", "2d": a duration as people type it, for toasts and lists. */
export function formatDuration(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${Math.max(1, minutes)}m`;
  if (minutes % (24 * 60) === 0) return `${minutes / (24 * 60)}d`;
  if (minutes % 60 === 0) return `${minutes / 60}h`;
  return `${Math.floor(minutes / 60)}h${minutes % 60}m`;
}
