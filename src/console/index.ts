// The local console: an emulated Telegram in-process and a web chat at /console for a first run
// without a bot token (DESIGN.md "Running"), plus the demo stream. See docs/console.md.

export { basicPassword, consoleAuth, hostName, passwordMatches } from "./auth.ts";
export { DEMO_BREAKER, type DemoHandle, type DemoOptions, demoConfig, startDemo } from "./demo.ts";
export {
  ConsoleConfigError,
  type ConsolePlan,
  isLoopbackHost,
  LOCAL_BOT,
  LOCAL_CHATS,
  LOCAL_OPERATORS,
  LOCAL_PACING,
  type LocalChat,
  type LocalOperator,
  type LocalTelegram,
  localTelegramConfig,
  planLocalConsole,
  startLocalTelegram,
} from "./local.ts";
export {
  type ConsoleChatInfo,
  type ConsoleRoutesOptions,
  type ConsoleSnapshot,
  ConsoleStream,
  consoleRoutes,
} from "./routes.ts";
export { type ConsoleButton, type ConsoleFile, type ConsoleMessage, toConsoleMessage } from "./view.ts";
