/**
 * `al:<ack|res|sil>:<alertId>[:<1h|4h|24h>]`: the buttons under one incident's message (DESIGN.md,
 * a wire format fixed now: buttons on old messages must keep working after upgrades).
 * `al:sil:<id>` opens the duration choice; `al:sil:<id>:4h` silences.
 */

export const AL_ACTIONS = ["ack", "res", "sil"] as const;
export type AlAction = (typeof AL_ACTIONS)[number];

/** The silence lengths the buttons offer, by their wire name. */
export const SILENCE_CHOICES = { "1h": 3_600_000, "4h": 4 * 3_600_000, "24h": 24 * 3_600_000 } as const;
export type SilenceChoice = keyof typeof SILENCE_CHOICES;
export const SILENCE_CHOICE_NAMES = Object.keys(SILENCE_CHOICES) as SilenceChoice[];

/** For `bot.callbackQuery(AL_PATTERN, ...)`; read `ctx.match` with `decodeAl`. */
export const AL_PATTERN = /^al:(ack|res|sil):([A-Za-z0-9]{16})(?::(1h|4h|24h))?$/;

export interface AlData {
  action: AlAction;
  alertId: string;
  silenceFor?: SilenceChoice;
}

export function encodeAl(data: AlData): string {
  return `al:${data.action}:${data.alertId}${data.silenceFor === undefined ? "" : `:${data.silenceFor}`}`;
}

/** The match of AL_PATTERN read back; null for anything else. */
export function decodeAl(match: RegExpMatchArray | string | null | undefined): AlData | null {
  const m = typeof match === "string" ? AL_PATTERN.exec(match) : match;
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  const data: AlData = { action: m[1] as AlAction, alertId: m[2] };
  if (m[3] !== undefined) data.silenceFor = m[3] as SilenceChoice;
  return data;
}
