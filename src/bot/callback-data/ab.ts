/**
 * `ab:<ok|review>:<batchId>`: the buttons of a run's card, where requests sharing a `run_id` are
 * shown together (DESIGN.md, fixed wire format). `ok` approves every request the pressed card
 * shows that is still pending; `review` puts each pending one on a card of its own.
 */

export const AB_ACTIONS = ["ok", "review"] as const;
export type AbAction = (typeof AB_ACTIONS)[number];

/** For `bot.callbackQuery(AB_PATTERN, ...)`; read `ctx.match` with `decodeAb`. */
export const AB_PATTERN = /^ab:(ok|review):([A-Za-z0-9]{16})$/;

export interface AbData {
  action: AbAction;
  batchId: string;
}

export function encodeAb(data: AbData): string {
  return `ab:${data.action}:${data.batchId}`;
}

export function decodeAb(match: RegExpMatchArray | string | null | undefined): AbData | null {
  const m = typeof match === "string" ? AB_PATTERN.exec(match) : match;
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  return { action: m[1] as AbAction, batchId: m[2] };
}
