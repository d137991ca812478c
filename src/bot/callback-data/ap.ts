/**
 * `ap:<ok|no|why|always>:<id>`: the buttons of approval prompts (DESIGN.md, a wire format fixed
 * now: buttons on old messages keep working after upgrades). The id is 16 base62 characters and
 * names what the button acts on:
 * - on an approval prompt (and in `/approvals`' pending list): the approval — `ok` approves, `no`
 *   denies, `why` asks the presser for a reason then denies ("Deny with reason"), `always`
 *   approves and grants this agent + tool + exact arguments for approvals.always_allow_ttl;
 * - in `/approvals`' grant list, `always:<grantId>` revokes that grant;
 * - in a "Deny with reason" quick-reason picker, `why:<reasonId>` picks that reason (ids minted
 *   for that one approver's conversation; answered inside it).
 * Ids are unguessable and never shared between approvals, grants and reasons, so a button can
 * never be mistaken for another; anything stale or unknown gets a toast.
 */

export const AP_ACTIONS = ["ok", "no", "why", "always"] as const;
export type ApAction = (typeof AP_ACTIONS)[number];

/** For `bot.callbackQuery(AP_PATTERN, ...)`; read `ctx.match` with `decodeAp`. */
export const AP_PATTERN = /^ap:(ok|no|why|always):([A-Za-z0-9]{16})$/;

export interface ApData {
  action: ApAction;
  id: string;
}

export function encodeAp(data: ApData): string {
  return `ap:${data.action}:${data.id}`;
}

/** The match of AP_PATTERN (or the raw data) read back; null for anything else. */
export function decodeAp(match: RegExpMatchArray | string | null | undefined): ApData | null {
  const m = typeof match === "string" ? AP_PATTERN.exec(match) : match;
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  return { action: m[1] as ApAction, id: m[2] };
}
