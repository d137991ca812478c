/**
 * `pg:<view>:<page>`: paging buttons of lists a command shows (`/alerts`). Only pages: other
 * actions have prefixes of their own (DESIGN.md's fixed wire format).
 */

export interface PgData {
  view: string;
  page: number;
}

const VIEW = /^[a-z][a-z_]{0,15}$/;

/** The pattern of one view's pages, for `bot.callbackQuery(pgPattern("alerts"), ...)`. */
export function pgPattern(view: string): RegExp {
  if (!VIEW.test(view)) throw new Error(`page view names are a-z and _, got ${JSON.stringify(view)}`);
  return new RegExp(`^pg:(${view}):(\\d{1,5})$`);
}

export function encodePg(data: PgData): string {
  if (!VIEW.test(data.view))
    throw new Error(`page view names are a-z and _, got ${JSON.stringify(data.view)}`);
  return `pg:${data.view}:${Math.max(0, Math.floor(data.page))}`;
}

/** The match of a `pgPattern` read back; a string is matched against the generic `pg:` shape. */
export function decodePg(match: RegExpMatchArray | string | null | undefined): PgData | null {
  const m = typeof match === "string" ? /^pg:([a-z][a-z_]{0,15}):(\d{1,5})$/.exec(match) : match;
  if (!m || m[1] === undefined || m[2] === undefined) return null;
  return { view: m[1], page: Number(m[2]) };
}
