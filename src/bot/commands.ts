import { type Api, GrammyError } from "grammy";
import type { BotCommand } from "grammy/types";
import type { Logger } from "../observability/logger.ts";
import type { Role } from "./context.ts";
import { describeError } from "./errors.ts";
import { LANGUAGES, type Language } from "./i18n.ts";

/** One command as menus and /help show it. */
export interface CommandSpec {
  /** Without the slash, lowercase, as Telegram requires (1-32 chars of a-z, 0-9, _). */
  command: string;
  /** Fluent id of the one-line description (menus and /help). */
  descriptionKey: string;
  /** The weakest role that may use it. */
  role: Role;
}

/**
 * Every command the bot serves, in menu order. A feature that adds a command adds its entry here
 * (and its description to its Fluent files); /help and the command menus are built from this
 * list, so they always show exactly what is available.
 */
export const COMMANDS: readonly CommandSpec[] = [
  { command: "start", descriptionKey: "cmd-start", role: "viewer" },
  { command: "help", descriptionKey: "cmd-help", role: "viewer" },
  { command: "whoami", descriptionKey: "cmd-whoami", role: "viewer" },
  { command: "language", descriptionKey: "cmd-language", role: "viewer" },
];

const RANK: Record<Role, number> = { viewer: 0, approver: 1, admin: 2 };

/** True when `role` is at least `required` (viewer < approver < admin). */
export function roleAtLeast(role: Role, required: Role): boolean {
  return RANK[role] >= RANK[required];
}

/** The commands a role may use, in menu order. */
export function commandsFor(role: Role, commands: readonly CommandSpec[] = COMMANDS): CommandSpec[] {
  return commands.filter((spec) => roleAtLeast(role, spec.role));
}

export type Translate = (language: Language, key: string) => string;

export interface CommandMenuOperator {
  id: number;
  role: Role;
}

/**
 * Publishes the command menus with setMyCommands, in every language: the default scope gets the
 * viewer's commands (what any operator may use, and harmless for anyone to see); each operator
 * gets their role's commands (admins: with the admin commands) in the menu of their private chat
 * with the bot (`scope: {type: 'chat', chat_id}` - a private chat's id is the user's id). English is the
 * menu without `language_code`, so clients in other languages see English.
 *
 * A chat scope fails with "chat not found" until the operator has opened the chat with the bot;
 * that is logged and skipped (they get the default menu until the next start).
 */
export interface RegisterCommandsOptions {
  operators: readonly CommandMenuOperator[];
  translate: Translate;
  log: Logger;
  commands?: readonly CommandSpec[];
  /** Scrubbed from logged errors (network errors carry the request URL). */
  token?: string;
}

export async function registerCommands(api: Api, opts: RegisterCommandsOptions): Promise<void> {
  const { operators, translate, log, token } = opts;
  const commands = opts.commands ?? COMMANDS;
  const menu = (role: Role, language: Language): BotCommand[] =>
    commandsFor(role, commands).map((spec) => ({
      command: spec.command,
      description: translate(language, spec.descriptionKey).slice(0, 256),
    }));
  const languageCodes = (language: Language) => (language === "en" ? {} : { language_code: language });

  for (const language of LANGUAGES) {
    await api.setMyCommands(menu("viewer", language), {
      scope: { type: "default" },
      ...languageCodes(language),
    });
  }
  // Every operator gets a menu of their own, not only those above viewer: it also replaces a
  // stale menu when an operator's role was lowered in the config.
  for (const operator of operators) {
    for (const language of LANGUAGES) {
      try {
        await api.setMyCommands(menu(operator.role, language), {
          scope: { type: "chat", chat_id: operator.id },
          ...languageCodes(language),
        });
      } catch (err) {
        // Anything but a refusal of this one chat (Telegram unreachable, rate limited) ends the
        // whole publication; the caller logs it.
        if (!(err instanceof GrammyError && err.error_code === 400)) throw err;
        log.info(
          { operator: operator.id, err: describeError(err, token) },
          "could not set this operator's command menu (has the operator started a chat with the bot?)",
        );
        break;
      }
    }
  }
}
