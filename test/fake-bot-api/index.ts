// Fake Telegram Bot API server: the test bed for pitwall's integration tests (and, later, the
// in-process Bot API behind the local web console). See README.md for behaviour and deviations.

export { BotApiEmulator, canonicalMethod } from "./emulator.ts";
export { BotApiError } from "./errors.ts";
export { findEntities, fixFormattedText, formatText, textLength } from "./format.ts";
export { EntityParseError, parseHtml } from "./html.ts";
export { startFakeBotApi } from "./server.ts";
export type * from "./types.ts";
