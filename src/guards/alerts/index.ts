/**
 * The pure stages of the alert pipeline (STYLE.md: ingest -> fingerprint -> dedup/group ->
 * silence/inhibit -> notify -> record). No I/O; time is always an argument.
 */
export * from "./alertmanager.ts";
export * from "./dedup.ts";
export * from "./escalation.ts";
export * from "./fingerprint.ts";
export * from "./grouping.ts";
export * from "./inhibition.ts";
export * from "./input.ts";
export * from "./severity.ts";
export * from "./silence.ts";
export type * from "./types.ts";
