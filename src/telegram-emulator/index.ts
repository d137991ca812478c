// An emulated Telegram Bot API: the in-process Bot API behind the local web console (src/console)
// and the fake Telegram of pitwall's integration tests. See README.md for behaviour and deviations.

export { BotApiEmulator, canonicalMethod, type EmulatorChange } from "./emulator.ts";
export { BotApiError } from "./errors.ts";
export { findEntities, fixFormattedText, formatText, textLength } from "./format.ts";
export { EntityParseError, parseHtml } from "./html.ts";
export { isInlineKeyboard } from "./markup.ts";
export { startFakeBotApi } from "./server.ts";
export type * from "./types.ts";
