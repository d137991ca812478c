import { redactText } from "../../guards/redact.ts";
import type { Part } from "./parts.ts";

/** Message text limit, counted after entity parsing (UTF-16 code units). */
export const TELEGRAM_TEXT_LIMIT = 4096;
/** Photo/document caption limit, counted the same way. */
export const TELEGRAM_CAPTION_LIMIT = 1024;
export const DEFAULT_TRUNCATION_NOTE = "… (truncated)";

export interface RenderOptions {
  /** Visible characters allowed, note included (default 4096; 1024 for captions). */
  maxLength?: number;
  /** Applied to every text (plain, code, pre) and link target before escaping; default: the standard redactor. */
  redact?: (text: string) => string;
  /** Appended, outside every tag, when the text had to be cut. */
  truncationNote?: string;
}

export interface RenderedHtml {
  /** Bot API HTML (`parse_mode: "HTML"`). */
  html: string;
  /** Length of the text Telegram shows, in UTF-16 code units. */
  visibleLength: number;
  truncated: boolean;
}

export interface RenderedPlain {
  /** The same visible text without markup, for sending with no parse mode. */
  text: string;
  visibleLength: number;
  truncated: boolean;
}

type Token =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "open"; readonly open: string; readonly close: string }
  | { readonly kind: "close" };

const SAFE_HREF = /^(?:https?:\/\/|tg:\/\/|mailto:)/i;
const SAFE_LANGUAGE = /^[A-Za-z0-9_+#.-]{1,32}$/;

/** Escapes text for Bot API HTML; also safe inside a double-quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"]/g, (ch) =>
    ch === "&" ? "&amp;" : ch === "<" ? "&lt;" : ch === ">" ? "&gt;" : "&quot;",
  );
}

interface Scope {
  readonly inLink: boolean;
  readonly inQuote: boolean;
}

/** Flattens parts into a token stream; text is redacted here, escaped only when serialized. */
function tokenize(parts: readonly Part[], redact: (text: string) => string): Token[] {
  const tokens: Token[] = [];
  const text = (value: string) => {
    if (value !== "") tokens.push({ kind: "text", text: redact(value) });
  };
  const element = (open: string, close: string, children: readonly Part[], scope: Scope) => {
    tokens.push({ kind: "open", open, close });
    walk(children, scope);
    tokens.push({ kind: "close" });
  };
  const walk = (items: readonly Part[], scope: Scope): void => {
    for (const part of items) {
      if (part === null || part === undefined || part === false) continue;
      if (typeof part === "string") text(part);
      else if (typeof part === "number") text(String(part));
      else if (Array.isArray(part)) walk(part, scope);
      else if ("b" in part) element("<b>", "</b>", part.b, scope);
      else if ("i" in part) element("<i>", "</i>", part.i, scope);
      else if ("u" in part) element("<u>", "</u>", part.u, scope);
      else if ("s" in part) element("<s>", "</s>", part.s, scope);
      else if ("spoiler" in part) element("<tg-spoiler>", "</tg-spoiler>", part.spoiler, scope);
      else if ("code" in part) {
        tokens.push({ kind: "open", open: "<code>", close: "</code>" });
        text(part.code);
        tokens.push({ kind: "close" });
      } else if ("pre" in part) {
        const language =
          part.language !== undefined && SAFE_LANGUAGE.test(part.language) ? part.language : "";
        const open = language === "" ? "<pre>" : `<pre><code class="language-${language}">`;
        tokens.push({ kind: "open", open, close: language === "" ? "</pre>" : "</code></pre>" });
        text(part.pre);
        tokens.push({ kind: "close" });
      } else if ("link" in part) {
        // Telegram rejects nested links and unknown schemes; such a link shows as its text.
        const href = redact(part.href);
        if (scope.inLink || !SAFE_HREF.test(href)) walk(part.link, scope);
        else element(`<a href="${escapeHtml(href)}">`, "</a>", part.link, { ...scope, inLink: true });
      } else if ("blockquote" in part) {
        // Blockquotes cannot be nested: an inner one keeps its text only.
        if (scope.inQuote) walk(part.blockquote, scope);
        else {
          const open = part.expandable === true ? "<blockquote expandable>" : "<blockquote>";
          element(open, "</blockquote>", part.blockquote, { ...scope, inQuote: true });
        }
      }
    }
  };
  walk(parts, { inLink: false, inQuote: false });
  return tokens;
}

let graphemes: Intl.Segmenter | undefined;

/**
 * The longest prefix of `text` at most `room` UTF-16 units long that ends on a grapheme
 * boundary: never half a surrogate pair, and an emoji sequence (flag, skin tone, ZWJ family) is
 * kept whole or dropped whole.
 */
function cutVisible(text: string, room: number): string {
  if (text.length <= room) return text;
  if (room <= 0) return "";
  graphemes ??= new Intl.Segmenter(undefined, { granularity: "grapheme" });
  // Only the neighbourhood of the cut matters; segmenting all of a 100 KB text would be waste.
  const from = Math.max(0, room - 64);
  let end = from;
  for (const { index } of graphemes.segment(text.slice(from, room + 16))) {
    if (from + index > room) break;
    end = from + index;
  }
  const next = text.charCodeAt(end);
  // Segments within the window may start mid-cluster; a surrogate pair is never split.
  if (end > 0 && next >= 0xdc00 && next <= 0xdfff) end -= 1;
  if (end === from && from > 0) {
    // No boundary found in the window (pathological cluster): fall back to a code point boundary.
    end = room;
    const low = text.charCodeAt(end);
    if (low >= 0xdc00 && low <= 0xdfff) end -= 1;
  }
  return text.slice(0, end);
}

interface Serialized {
  body: string;
  used: number;
}

/**
 * Writes tokens until `budget` visible units are used; every open tag is closed, and a tag left
 * with no visible text (because the cut came right after it) is dropped.
 */
function serialize(tokens: readonly Token[], budget: number, markup: boolean): Serialized {
  let body = "";
  let used = 0;
  const open: { close: string; bodyAt: number; usedAt: number }[] = [];
  const closeTop = () => {
    const top = open.pop();
    if (top === undefined) return;
    if (top.usedAt === used) body = body.slice(0, top.bodyAt);
    else body += top.close;
  };
  for (const token of tokens) {
    if (token.kind === "open") {
      if (used >= budget) break;
      open.push({ close: markup ? token.close : "", bodyAt: body.length, usedAt: used });
      if (markup) body += token.open;
    } else if (token.kind === "close") {
      closeTop();
    } else {
      const room = budget - used;
      if (room <= 0) break;
      const shown = cutVisible(token.text, room);
      body += markup ? escapeHtml(shown) : shown;
      used += shown.length;
      if (shown.length < token.text.length) break;
    }
  }
  while (open.length > 0) closeTop();
  return { body, used };
}

function render(parts: readonly Part[], opts: RenderOptions, markup: boolean) {
  const max = Math.max(0, Math.floor(opts.maxLength ?? TELEGRAM_TEXT_LIMIT));
  const tokens = tokenize(parts, opts.redact ?? redactText);
  let total = 0;
  for (const token of tokens) if (token.kind === "text") total += token.text.length;
  if (total <= max) {
    const { body, used } = serialize(tokens, Number.POSITIVE_INFINITY, markup);
    return { body, visibleLength: used, truncated: false };
  }
  const note = cutVisible(opts.truncationNote ?? DEFAULT_TRUNCATION_NOTE, max);
  const { body, used } = serialize(tokens, max - note.length, markup);
  return {
    body: body + (markup ? escapeHtml(note) : note),
    visibleLength: used + note.length,
    truncated: true,
  };
}

/** Redacted, escaped Bot API HTML whose visible text fits `maxLength` (default 4096). */
export function renderHtml(parts: readonly Part[], opts: RenderOptions = {}): RenderedHtml {
  const { body, visibleLength, truncated } = render(parts, opts, true);
  return { html: body, visibleLength, truncated };
}

/** A photo or document caption: `renderHtml` with the 1024 limit. */
export function renderCaption(parts: readonly Part[], opts: RenderOptions = {}): RenderedHtml {
  return renderHtml(parts, { maxLength: TELEGRAM_CAPTION_LIMIT, ...opts });
}

/** The visible text alone, cut by the same rule, for resending without a parse mode. */
export function renderPlain(parts: readonly Part[], opts: RenderOptions = {}): RenderedPlain {
  const { body, visibleLength, truncated } = render(parts, opts, false);
  return { text: body, visibleLength, truncated };
}

const HTML_TOKEN =
  /<(?:[^>"']|"[^"]*"|'[^']*')*>|&(?:lt|gt|amp|quot|#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6});|[^<&]+|[<&]/g;

/**
 * The text Telegram shows for Bot API HTML: tags removed, the supported entities (`&lt;`,
 * `&gt;`, `&amp;`, `&quot;`, numeric) decoded. Also the plain fallback of a stored HTML text.
 */
export function htmlToText(html: string): string {
  let out = "";
  for (const match of html.matchAll(HTML_TOKEN)) {
    const token = match[0];
    const first = token.charCodeAt(0);
    if (first === 60 /* < */ && token.length > 1) continue;
    if (first === 38 /* & */ && token.length > 1) out += decodeEntity(token);
    else out += token;
  }
  return out;
}

function decodeEntity(entity: string): string {
  switch (entity) {
    case "&lt;":
      return "<";
    case "&gt;":
      return ">";
    case "&amp;":
      return "&";
    case "&quot;":
      return '"';
  }
  const hex = entity[2] === "x" || entity[2] === "X";
  const codePoint = Number.parseInt(entity.slice(hex ? 3 : 2, -1), hex ? 16 : 10);
  const valid = codePoint <= 0x10ffff && !(codePoint >= 0xd800 && codePoint <= 0xdfff);
  return valid ? String.fromCodePoint(codePoint) : entity;
}

/** Visible length of Bot API HTML as Telegram counts it: UTF-16 units of the parsed text. */
export function visibleLength(html: string): number {
  return htmlToText(html).length;
}
