// The emulator moved to src/telegram-emulator/ (it also runs the local console); tests keep this path.
export * from "../../src/telegram-emulator/index.ts";
