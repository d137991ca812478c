export type * from "../../src/telegram-emulator/types.ts";
