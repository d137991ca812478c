/**
 * What every part of the alerts service reads: its config, the chats it writes to (none when
 * Telegram is off), texts, the clock, the log, the escalation channels.
 */
import type { Config } from "../../config/index.ts";
import type { ChatTarget } from "../../delivery/index.ts";
import type { QuietHours } from "../../guards/loudness.ts";
import type { Logger } from "../../observability/logger.ts";
import type { EscalationNotifiers } from "./notifiers.ts";
import type { AlertTexts } from "./texts.ts";

export interface AlertChats {
  alerts: ChatTarget;
  escalation: ChatTarget;
}

export interface AlertsEnv {
  alerting: Config["alerting"];
  /** null: Telegram is off (API-only); nothing is queued for it, the rest works the same. */
  chats: AlertChats | null;
  quietHours: QuietHours | null;
  texts: AlertTexts;
  now: () => Date;
  log: Logger;
  notifiers: EscalationNotifiers;
}

function chatTarget(chat: { id: number | string; thread: number | null }): ChatTarget {
  return chat.thread === null ? { id: chat.id } : { id: chat.id, thread: chat.thread };
}

/** The alerts and escalation chats (forum topics included), or null when nothing goes to Telegram. */
export function alertChats(config: Config, telegramEnabled: boolean): AlertChats | null {
  const telegram = config.telegram;
  if (!telegramEnabled || !telegram) return null;
  return { alerts: chatTarget(telegram.chats.alerts), escalation: chatTarget(telegram.chats.escalation) };
}
