/**
 * `ag:<ack|res|sil|more>:<groupId>[:<arg>]`: the buttons under a group's message (DESIGN.md, a
 * wire format fixed now). `ag:sil:<id>` opens the duration choice, `ag:sil:<id>:4h` silences the
 * group; `ag:more:<id>:<page>` shows another page of its incidents (0 is the first).
 */
import { SILENCE_CHOICE_NAMES, type SilenceChoice } from "./al.ts";

export const AG_ACTIONS = ["ack", "res", "sil", "more"] as const;
export type AgAction = (typeof AG_ACTIONS)[number];

/** A page number fits 4 digits: 9999 pages of 20 is more than any group will hold. */
export const AG_PATTERN = /^ag:(ack|res|sil|more):([A-Za-z0-9]{16})(?::([A-Za-z0-9]{1,4}))?$/;

export type AgData =
  | { action: "ack" | "res"; groupId: string }
  | { action: "sil"; groupId: string; silenceFor?: SilenceChoice }
  | { action: "more"; groupId: string; page: number };

export function encodeAg(data: AgData): string {
  switch (data.action) {
    case "ack":
    case "res":
      return `ag:${data.action}:${data.groupId}`;
    case "sil":
      return `ag:sil:${data.groupId}${data.silenceFor === undefined ? "" : `:${data.silenceFor}`}`;
    case "more":
      return `ag:more:${data.groupId}:${Math.max(0, Math.floor(data.page))}`;
  }
}

/** The match of AG_PATTERN read back; null when the argument does not fit the action. */
export function decodeAg(match: RegExpMatchArray | string | null | undefined): AgData | null {
  const m = typeof match === "string" ? AG_PATTERN.exec(match) : match;
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  const [action, groupId, arg] = [m[1] as AgAction, m[2], m[3]];
  switch (action) {
    case "ack":
    case "res":
      return arg === undefined ? { action, groupId } : null;
    case "sil":
      if (arg === undefined) return { action, groupId };
      return (SILENCE_CHOICE_NAMES as readonly string[]).includes(arg)
        ? { action, groupId, silenceFor: arg as SilenceChoice }
        : null;
    case "more":
      return arg !== undefined && /^\d{1,4}$/.test(arg) ? { action, groupId, page: Number(arg) } : null;
  }
}
