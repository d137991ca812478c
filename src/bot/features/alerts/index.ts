/**
 * The alerts feature: buttons under alert and group messages (`al:`, `ag:`), `/alerts` with its
 * pages (`pg:alerts:`), `/silence` and `/silences`. Installed by the alerts module.
 */
import { Composer } from "grammy";
import type { AlertsService } from "../../../services/alerts/service.ts";
import type { Db } from "../../../store/pool.ts";
import type { CommandSpec } from "../../commands.ts";
import type { BotContext } from "../../context.ts";
import type { BotFeature } from "../../create-bot.ts";
import { alertButtons } from "./buttons.ts";
import { alertList } from "./list.ts";
import { silenceCommands } from "./silence-commands.ts";

export const ALERT_COMMANDS: readonly CommandSpec[] = [
  { command: "alerts", descriptionKey: "cmd-alerts", role: "viewer" },
  { command: "silence", descriptionKey: "cmd-silence", role: "approver" },
  { command: "silences", descriptionKey: "cmd-silences", role: "viewer" },
];

export function alertsComposer(deps: { service: AlertsService; db: Db }): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  composer.use(alertButtons(deps));
  composer.use(alertList(deps.service));
  composer.use(silenceCommands(deps.service));
  return composer;
}

export function alertsFeature(deps: { service: AlertsService; db: Db }): BotFeature {
  return {
    name: "alerts",
    commands: ALERT_COMMANDS,
    install(bot) {
      bot.use(alertsComposer(deps));
    },
  };
}
