// Telegram's HTML parse mode, ported from tdlib's parse_html (td/telegram/MessageEntity.cpp) so that
// the same input is accepted or refused with the same message and byte offset. It works on the UTF-8
// bytes, as tdlib does: byte offsets in errors are offsets into the UTF-8 encoding of the input, and
// entity offsets are counted in UTF-16 code units.

import { checkLink, linkUserId } from "./links.ts";
import type { MessageEntity, User } from "./types.ts";

export class EntityParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EntityParseError";
  }
}

export interface FormattedText {
  text: string;
  entities: MessageEntity[];
}

export interface ParseHtmlOptions {
  /** Resolves `tg://user?id=N` links to a known user for text_mention entities. */
  resolveUser?: (id: number) => User | undefined;
}

const SUPPORTED_TAGS = new Set([
  "a",
  "b",
  "strong",
  "i",
  "em",
  "s",
  "strike",
  "del",
  "u",
  "ins",
  "tg-spoiler",
  "tg-emoji",
  "tg-time",
  "span",
  "pre",
  "code",
  "blockquote",
]);

const AMP = 0x26;
const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const EQ = 0x3d;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const DOT = 0x2e;
const MINUS = 0x2d;
const SEMICOLON = 0x3b;

// tdlib's is_space: the NUL terminator counts as a space, which is how the scans stop at the end.
const isSpace = (c: number): boolean =>
  c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a || c === 0 || c === 0x0b;
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isAlpha = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);
const isHexDigit = (c: number): boolean => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
const hexValue = (c: number): number => (isDigit(c) ? c - 0x30 : (c | 0x20) - 0x61 + 10);
const lowerAscii = (s: string): string => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/** Writes `code` as UTF-8 at `pos`, returns the new position. */
function writeUtf8(out: Buffer, pos: number, code: number): number {
  let p = pos;
  if (code <= 0x7f) {
    out[p++] = code;
  } else if (code <= 0x7ff) {
    out[p++] = 0xc0 | (code >> 6);
    out[p++] = 0x80 | (code & 0x3f);
  } else if (code <= 0xffff) {
    out[p++] = 0xe0 | (code >> 12);
    out[p++] = 0x80 | ((code >> 6) & 0x3f);
    out[p++] = 0x80 | (code & 0x3f);
  } else {
    out[p++] = 0xf0 | (code >> 18);
    out[p++] = 0x80 | ((code >> 12) & 0x3f);
    out[p++] = 0x80 | ((code >> 6) & 0x3f);
    out[p++] = 0x80 | (code & 0x3f);
  }
  return p;
}

/**
 * tdlib's decode_html_entity: only &lt; &gt; &amp; &quot; and numeric references; the `;` is optional.
 * Returns undefined when the `&` is kept literally.
 */
function decodeEntity(src: Buffer, pos: number): { code: number; next: number } | undefined {
  const at = (i: number): number => (i < src.length ? src[i]! : 0);
  let end = pos + 1;
  let code = 0;
  if (at(pos + 1) === 0x23 /* # */) {
    end++;
    if (at(pos + 2) === 0x78 /* x */) {
      end++;
      while (isHexDigit(at(end))) code = code * 16 + hexValue(at(end++));
    } else {
      while (isDigit(at(end))) code = code * 10 + at(end++) - 0x30;
    }
    if (code === 0 || code >= 0x10ffff || end - pos >= 10) return undefined;
  } else {
    while (isAlpha(at(end))) end++;
    const name = src.toString("latin1", pos + 1, end);
    if (name === "lt") code = 0x3c;
    else if (name === "gt") code = 0x3e;
    else if (name === "amp") code = 0x26;
    else if (name === "quot") code = 0x22;
    else return undefined;
  }
  return { code, next: at(end) === SEMICOLON ? end + 1 : end };
}

interface OpenTag {
  tag: string;
  argument: string;
  date: number;
  utf16Offset: number;
  resultPos: number;
}

// tdlib keeps PreCode apart from Pre until the end; the Bot API shows both as "pre".
type ParsedEntity = MessageEntity & { preCode?: true };

/** Parses Bot API HTML into plain text and entities, or throws {@link EntityParseError} with tdlib's message. */
export function parseHtml(html: string, options: ParseHtmlOptions = {}): FormattedText {
  const src = Buffer.from(html, "utf8");
  const size = src.length;
  const at = (i: number): number => (i < size ? src[i]! : 0);
  const fail = (message: string): never => {
    throw new EntityParseError(message);
  };
  // Decoded text is never longer than its source (tdlib decodes in place).
  const out = Buffer.alloc(size);
  let written = 0;
  let utf16Offset = 0;
  let hasSurrogate = false;
  const entities: ParsedEntity[] = [];
  const open: OpenTag[] = [];

  for (let i = 0; i < size; i++) {
    const c = src[i]!;
    if (c === AMP) {
      const decoded = decodeEntity(src, i);
      if (decoded !== undefined) {
        utf16Offset += decoded.code > 0xffff ? 2 : 1;
        if (decoded.code >= 0xd800 && decoded.code <= 0xdfff) hasSurrogate = true;
        written = writeUtf8(out, written, decoded.code);
        i = decoded.next - 1;
        continue;
      }
    }
    if (c !== LT) {
      if ((c & 0xc0) !== 0x80) utf16Offset += c >= 0xf0 ? 2 : 1;
      out[written++] = c;
      continue;
    }

    const beginPos = i++;
    if (at(i) !== SLASH) {
      while (!isSpace(at(i)) && at(i) !== GT) i++;
      if (at(i) === 0) fail(`Unclosed start tag at byte offset ${beginPos}`);
      const tag = lowerAscii(src.toString("utf8", beginPos + 1, i));
      if (!SUPPORTED_TAGS.has(tag)) fail(`Unsupported start tag "${tag}" at byte offset ${beginPos}`);

      let argument = "";
      let date = 0;
      while (at(i) !== GT) {
        while (at(i) !== 0 && isSpace(at(i))) i++;
        if (at(i) === GT) break;
        const attributeBegin = i;
        while (
          !isSpace(at(i)) &&
          at(i) !== EQ &&
          at(i) !== GT &&
          at(i) !== SLASH &&
          at(i) !== DQUOTE &&
          at(i) !== SQUOTE
        ) {
          i++;
        }
        const attribute = src.toString("utf8", attributeBegin, i);
        if (attribute === "") fail(`Empty attribute name in the tag "${tag}" at byte offset ${beginPos}`);
        while (at(i) !== 0 && isSpace(at(i))) i++;
        if (at(i) !== EQ) {
          if (at(i) === 0) fail(`Unclosed start tag "${tag}" at byte offset ${beginPos}`);
          if (tag === "blockquote" && attribute === "expandable") argument = "1";
          continue;
        }
        i++;
        while (at(i) !== 0 && isSpace(at(i))) i++;
        if (at(i) === 0) fail(`Unclosed start tag "${tag}" at byte offset ${beginPos}`);

        let value: string;
        if (at(i) !== SQUOTE && at(i) !== DQUOTE) {
          // A name token: letters, digits, periods and hyphens; not case sensitive.
          const tokenBegin = i;
          while (isAlnum(at(i)) || at(i) === DOT || at(i) === MINUS) i++;
          value = lowerAscii(src.toString("utf8", tokenBegin, i));
          if (!isSpace(at(i)) && at(i) !== GT) {
            fail(`Unexpected end of name token at byte offset ${tokenBegin}`);
          }
        } else {
          const quote = src[i++]!;
          const valueBytes = Buffer.alloc(size);
          let valueLength = 0;
          while (at(i) !== quote && at(i) !== 0) {
            if (at(i) === AMP) {
              const decoded = decodeEntity(src, i);
              if (decoded !== undefined) {
                valueLength = writeUtf8(valueBytes, valueLength, decoded.code);
                i = decoded.next;
                continue;
              }
            }
            valueBytes[valueLength++] = src[i++]!;
          }
          if (at(i) === quote) i++;
          value = valueBytes.toString("utf8", 0, valueLength);
        }
        if (at(i) === 0) fail(`Unclosed start tag at byte offset ${beginPos}`);

        if (tag === "a" && attribute === "href") argument = value;
        else if (tag === "code" && attribute === "class" && value.startsWith("language-"))
          argument = value.slice(9);
        else if (tag === "span" && attribute === "class" && value.startsWith("tg-"))
          argument = value.slice(3);
        else if (tag === "tg-emoji" && attribute === "emoji-id") argument = value;
        else if (tag === "blockquote" && attribute === "expandable") argument = "1";
        else if (tag === "tg-time" && attribute === "unix") date = Number.parseInt(value, 10) || 0;
        else if (tag === "tg-time" && attribute === "format") argument = value;
      }

      if (tag === "span" && argument !== "spoiler") {
        fail(`Tag "span" must have class "tg-spoiler" at byte offset ${beginPos}`);
      }
      open.push({ tag, argument, date, utf16Offset, resultPos: written });
    } else {
      if (open.length === 0) fail(`Unexpected end tag at byte offset ${beginPos}`);
      while (!isSpace(at(i)) && at(i) !== GT) i++;
      const endTag = lowerAscii(src.toString("utf8", beginPos + 2, i));
      while (isSpace(at(i)) && at(i) !== 0) i++;
      if (at(i) !== GT) fail(`Unclosed end tag at byte offset ${beginPos}`);

      const current = open[open.length - 1]!;
      if (endTag !== "" && endTag !== current.tag) {
        fail(
          `Unmatched end tag at byte offset ${beginPos}, expected "</${current.tag}>", found "</${endTag}>"`,
        );
      }
      if (utf16Offset > current.utf16Offset) {
        const visible = out.toString("utf8", current.resultPos, written);
        closeEntity(entities, current, utf16Offset - current.utf16Offset, visible, options);
      }
      open.pop();
    }
  }
  if (open.length > 0) {
    fail(`Can't find end tag corresponding to start tag "${open[open.length - 1]!.tag}"`);
  }
  if (hasSurrogate) {
    fail(
      "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units",
    );
  }

  const result: MessageEntity[] = entities.map(({ preCode: _, ...entity }) => {
    if (entity.type === "code") delete entity.language;
    return entity;
  });
  return { text: out.toString("utf8", 0, written), entities: sortEntities(result) };
}

function closeEntity(
  entities: ParsedEntity[],
  tag: OpenTag,
  length: number,
  visibleText: string,
  options: ParseHtmlOptions,
): void {
  const offset = tag.utf16Offset;
  const last = entities[entities.length - 1];
  switch (tag.tag) {
    case "i":
    case "em":
      entities.push({ type: "italic", offset, length });
      return;
    case "b":
    case "strong":
      entities.push({ type: "bold", offset, length });
      return;
    case "s":
    case "strike":
    case "del":
      entities.push({ type: "strikethrough", offset, length });
      return;
    case "u":
    case "ins":
      entities.push({ type: "underline", offset, length });
      return;
    case "tg-spoiler":
    case "span":
      entities.push({ type: "spoiler", offset, length });
      return;
    case "tg-emoji": {
      if (
        !/^\d{1,19}$/.test(tag.argument) ||
        BigInt(tag.argument) === 0n ||
        BigInt(tag.argument) > 2n ** 63n - 1n
      ) {
        throw new EntityParseError("Invalid custom emoji identifier specified");
      }
      entities.push({ type: "custom_emoji", offset, length, custom_emoji_id: tag.argument });
      return;
    }
    case "tg-time":
      if (tag.date > 0) {
        entities.push({
          type: "date_time",
          offset,
          length,
          unix_time: tag.date,
          ...(tag.argument === "" ? {} : { date_time_format: tag.argument }),
        });
      }
      return;
    case "a": {
      const url = tag.argument === "" ? visibleText : tag.argument;
      const userId = linkUserId(url);
      if (userId !== undefined) {
        const user = options.resolveUser?.(userId) ?? { id: userId, is_bot: false, first_name: "" };
        entities.push({ type: "text_mention", offset, length, user });
        return;
      }
      const checked = checkLink(url);
      if (checked.ok) entities.push({ type: "text_link", offset, length, url: checked.url });
      return;
    }
    case "pre":
      if (last?.type === "code" && last.offset === offset && last.length === length && last.language) {
        last.type = "pre";
        last.preCode = true;
      } else {
        entities.push({ type: "pre", offset, length });
      }
      return;
    case "code":
      if (
        last?.type === "pre" &&
        !last.preCode &&
        last.offset === offset &&
        last.length === length &&
        tag.argument !== ""
      ) {
        last.preCode = true;
        last.language = tag.argument;
      } else {
        entities.push({ type: "code", offset, length, language: tag.argument });
      }
      return;
    case "blockquote":
      entities.push({ type: tag.argument === "" ? "blockquote" : "expandable_blockquote", offset, length });
      return;
  }
}

// tdlib's MessageEntity::get_type_priority, keyed by Bot API type ("pre" with a language is PreCode).
const TYPE_PRIORITY: Record<string, number> = {
  mention: 50,
  hashtag: 50,
  bot_command: 50,
  url: 50,
  email: 50,
  cashtag: 50,
  phone_number: 50,
  bank_card_number: 50,
  bold: 90,
  italic: 91,
  code: 20,
  pre: 11,
  text_link: 49,
  text_mention: 49,
  underline: 92,
  strikethrough: 93,
  blockquote: 0,
  spoiler: 94,
  custom_emoji: 99,
  expandable_blockquote: 0,
  date_time: 30,
};

function priority(entity: MessageEntity): number {
  if (entity.type === "pre" && entity.language !== undefined) return 10;
  return Object.hasOwn(TYPE_PRIORITY, entity.type) ? TYPE_PRIORITY[entity.type]! : 50;
}

/** tdlib's entity order: by offset, longer first, then by type priority. */
export function sortEntities(entities: MessageEntity[]): MessageEntity[] {
  return entities.sort((a, b) => a.offset - b.offset || b.length - a.length || priority(a) - priority(b));
}
