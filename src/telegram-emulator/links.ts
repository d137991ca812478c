// URL checks as tdlib's LinkManager does them for text links and URL buttons.

export type LinkCheck = { ok: true; url: string } | { ok: false; reason: string };

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** Normalises a link the way Telegram does ("example.com" -> "http://example.com/"), or says why it is invalid. */
export function checkLink(link: string): LinkCheck {
  const tg = /^tg:(\/\/)?/i.exec(link);
  if (tg !== null) {
    const rest = link.slice(tg[0].length);
    const match = /^([A-Za-z0-9_-]+)(\/?\?.*)?$/.exec(rest);
    if (match === null) return { ok: false, reason: "Wrong tg URL" };
    return { ok: true, url: `tg://${match[1]}${(match[2] ?? "").replace(/^\//, "")}` };
  }
  const withScheme = SCHEME.test(link) && /^[a-z][a-z0-9+.-]*:\/\//i.test(link) ? link : `http://${link}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    return { ok: false, reason: "Wrong HTTP URL" };
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    return { ok: false, reason: "Unsupported URL protocol" };
  }
  const isIpv6 = parsed.hostname.startsWith("[");
  if (!parsed.hostname.includes(".") && !isIpv6) return { ok: false, reason: "Wrong HTTP URL" };
  return { ok: true, url: parsed.href };
}

/** `tg://user?id=123` names a user: Telegram turns such a text link into a text_mention. */
export function linkUserId(link: string): number | undefined {
  const match = /^tg:(?:\/\/)?user\?id=(\d{1,15})$/i.exec(link);
  if (match === null) return undefined;
  const id = Number(match[1]);
  return id > 0 ? id : undefined;
}
