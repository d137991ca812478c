/**
 * Telling people the mode changed (DESIGN.md: "each change is an alert and a chat message"): a
 * message in the alerts chat, enqueued in the transaction that changed the mode, and an alert per
 * mode (`mode:DEGRADED`, ...) raised after commit; the previous mode's alert is resolved, and FULL
 * raises none.
 */

import { b, type Part } from "../../bot/format/index.ts";
import type { Mode } from "../../config/index.ts";
import { enqueue, PRIORITY } from "../../delivery/index.ts";
import { isSilent } from "../../guards/loudness.ts";
import type { DbClient } from "../../store/pool.ts";
import type { AlertSeverity } from "../contracts.ts";
import type { OpsContext } from "./context.ts";

export interface ModeChange {
  mode: Mode;
  previous: Mode;
  reasons: string[];
  /** "auto", or the admin who pinned or unpinned. */
  changedBy: string;
}

export const MODE_ICONS: Readonly<Record<Mode, string>> = {
  FULL: "🟢",
  DEGRADED: "🟡",
  MINIMAL: "🔴",
  MAINTENANCE: "🛠",
};

/** DEGRADED warns, MINIMAL is critical, MAINTENANCE (an admin's deliberate choice) informs. */
const SEVERITY: Readonly<Record<Exclude<Mode, "FULL">, AlertSeverity>> = {
  DEGRADED: "warning",
  MINIMAL: "critical",
  MAINTENANCE: "info",
};

export function modeAlertKey(mode: Mode): string {
  return `mode:${mode}`;
}

function messageParts(change: ModeChange): Part[] {
  const by = change.changedBy === "auto" ? "" : ` by ${change.changedBy}`;
  return [
    `${MODE_ICONS[change.mode]} `,
    b(`Mode ${change.mode}`),
    ` (was ${change.previous}${by})`,
    change.reasons.length > 0 ? ["\n", change.reasons.map((reason) => `• ${reason}`).join("\n")] : null,
    change.mode === "MAINTENANCE"
      ? "\nApproval requests for tools outside read_only are denied until an admin sends /mode_set AUTO."
      : null,
  ];
}

export const announceModeChange = {
  /** The chat message, in the caller's transaction (only when a bot is configured). */
  async inChat(ctx: OpsContext, client: DbClient, change: ModeChange): Promise<void> {
    const telegram = ctx.config.telegram;
    if (!ctx.telegramEnabled || !telegram) return;
    const chat = telegram.chats.alerts;
    const severity = change.mode === "FULL" ? "resolved" : SEVERITY[change.mode];
    await enqueue(client, {
      method: "sendMessage",
      kind: "mode_change",
      priority: PRIORITY.NEW_ALERT,
      chat: chat.thread === null ? { id: chat.id } : { id: chat.id, thread: chat.thread },
      parts: messageParts(change),
      silent: isSilent({
        severity,
        kind: "mode_change",
        now: new Date(ctx.now()),
        quietHours: telegram.quiet_hours,
      }),
    });
  },

  /** After commit: the previous mode's alert resolved, the new one's raised (none for FULL). */
  async asAlert(ctx: OpsContext, change: ModeChange): Promise<void> {
    ctx.log.info(
      { mode: change.mode, previous: change.previous, reasons: change.reasons, by: change.changedBy },
      `mode ${change.previous} -> ${change.mode}`,
    );
    if (change.previous !== "FULL" && change.previous !== change.mode) {
      await ctx.alerts.resolve(modeAlertKey(change.previous), `mode is now ${change.mode}`);
    }
    if (change.mode === "FULL") return;
    const by = change.changedBy === "auto" ? "" : ` by ${change.changedBy}`;
    await ctx.alerts.fire({
      key: modeAlertKey(change.mode),
      severity: SEVERITY[change.mode],
      title: `Mode ${change.mode}`,
      text: `was ${change.previous}${by}${change.reasons.length > 0 ? `; ${change.reasons.join("; ")}` : ""}`,
      source: "mode",
      labels: { alertname: "DegradationMode", mode: change.mode },
    });
  },
};
