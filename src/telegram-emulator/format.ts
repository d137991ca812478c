// What Telegram does to a text between the request and the stored message: parse_mode, the cleanup
// and trimming of tdlib's fix_formatted_text, and the automatic entities (mentions, commands,
// hashtags, URLs). Entity offsets are UTF-16 code units, as in the Bot API.

import { badRequest } from "./errors.ts";
import { EntityParseError, type FormattedText, parseHtml, sortEntities } from "./html.ts";
import type { MessageEntity, User } from "./types.ts";

export type LengthUnit = "codepoint" | "utf16";

export interface FormatOptions {
  /** Captions may be empty; message texts may not. */
  allowEmpty: boolean;
  resolveUser?: (id: number) => User | undefined;
}

const MAX_RAW_TEXT_BYTES = 1 << 15;

const KNOWN_ENTITY_TYPES = new Set([
  "mention",
  "hashtag",
  "cashtag",
  "bot_command",
  "url",
  "email",
  "phone_number",
  "bold",
  "italic",
  "underline",
  "strikethrough",
  "spoiler",
  "blockquote",
  "expandable_blockquote",
  "code",
  "pre",
  "text_link",
  "text_mention",
  "custom_emoji",
  "date_time",
]);

/** Length the way the 4096 / 1024 limits count it. */
export function textLength(text: string, unit: LengthUnit): number {
  if (unit === "utf16") return text.length;
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0xdc00 || code > 0xdfff) count++;
  }
  return count;
}

/**
 * Turns the text, parse_mode and entities of a request into what Telegram stores, or throws the
 * BotApiError Telegram answers with. An absent text gives an empty result (captions).
 */
export function formatText(
  text: string | undefined,
  parseMode: unknown,
  entities: unknown,
  options: FormatOptions,
): FormattedText {
  const raw = text ?? "";
  if (Buffer.byteLength(raw, "utf8") > MAX_RAW_TEXT_BYTES) throw badRequest("text is too long");
  const mode = typeof parseMode === "string" ? parseMode.toLowerCase() : "";
  let parsed: FormattedText;
  if (raw !== "" && mode !== "" && mode !== "none") {
    if (mode === "html") {
      try {
        parsed = parseHtml(raw, { resolveUser: options.resolveUser });
      } catch (error) {
        if (error instanceof EntityParseError) throw badRequest(`can't parse entities: ${error.message}`);
        throw error;
      }
    } else if (mode === "markdown" || mode === "markdownv2") {
      // Deliberate gap: pitwall sends HTML only. Refuse loudly rather than store something wrong.
      throw badRequest(
        `can't parse entities: parse_mode ${parseMode} is not implemented by the fake Bot API`,
      );
    } else {
      throw badRequest("unsupported parse_mode");
    }
  } else {
    parsed = { text: raw, entities: inputEntities(entities, options) };
  }
  return fixFormattedText(parsed.text, parsed.entities, options.allowEmpty);
}

function inputEntities(value: unknown, options: FormatOptions): MessageEntity[] {
  if (!Array.isArray(value)) return [];
  const result: MessageEntity[] = [];
  for (const item of value) {
    if (typeof item !== "object" || item === null) {
      throw badRequest("can't parse MessageEntity: expected an Object");
    }
    const entity = item as Record<string, unknown>;
    if (!Number.isInteger(entity.offset)) {
      throw badRequest('can\'t parse MessageEntity: Field "offset" must be a Number');
    }
    if (!Number.isInteger(entity.length)) {
      throw badRequest('can\'t parse MessageEntity: Field "length" must be a Number');
    }
    if (typeof entity.type !== "string" || !KNOWN_ENTITY_TYPES.has(entity.type)) continue;
    const copy: MessageEntity = {
      type: entity.type,
      offset: entity.offset as number,
      length: entity.length as number,
    };
    if (typeof entity.url === "string") copy.url = entity.url;
    if (typeof entity.language === "string") copy.language = entity.language;
    if (typeof entity.custom_emoji_id === "string") copy.custom_emoji_id = entity.custom_emoji_id;
    if (typeof entity.user === "object" && entity.user !== null) {
      const id = (entity.user as { id?: unknown }).id;
      if (typeof id === "number") {
        copy.user = options.resolveUser?.(id) ?? { id, is_bot: false, first_name: "" };
      }
    }
    result.push(copy);
  }
  return sortEntities(result);
}

const isRemovedCharacter = (code: number): boolean =>
  code === 0x0d ||
  (code >= 0x2028 && code <= 0x202e) || // line/paragraph separators and direction overrides
  code === 0x0333 ||
  code === 0x033f ||
  code === 0x030a; // combining vertical lines

/**
 * tdlib's fix_formatted_text as the Bot API applies it: control characters become spaces, `\r` and
 * a few invisible characters vanish, empty entities are dropped, the text is trimmed of spaces and
 * newlines (leading ones only before the first entity), and automatic entities are added.
 */
export function fixFormattedText(
  text: string,
  entities: MessageEntity[],
  allowEmpty: boolean,
): FormattedText {
  for (const entity of entities) {
    if (entity.offset < 0 || entity.offset > 1_000_000) {
      throw badRequest(`receive an entity with incorrect offset ${entity.offset}`);
    }
    if (entity.length < 0 || entity.length > 1_000_000) {
      throw badRequest(`receive an entity with incorrect length ${entity.length}`);
    }
    if (entity.offset > text.length) {
      throw badRequest(`entity begins after the end of the text at UTF-16 offset ${entity.offset}`);
    }
    if (entity.offset + entity.length > text.length) {
      throw badRequest(
        `entity beginning at UTF-16 offset ${entity.offset} ends after the end of the text at UTF-16 offset ${entity.offset + entity.length}`,
      );
    }
  }

  // Clean the text, remembering where every old UTF-16 position lands.
  const newIndex = new Array<number>(text.length + 1);
  let cleaned = "";
  for (let i = 0; i < text.length; i++) {
    newIndex[i] = cleaned.length;
    const code = text.charCodeAt(i);
    if (isRemovedCharacter(code)) continue;
    cleaned += code < 0x20 && code !== 0x0a ? " " : text[i];
  }
  newIndex[text.length] = cleaned.length;
  let fixed = entities
    .map((entity) => {
      const offset = newIndex[entity.offset]!;
      return { ...entity, offset, length: newIndex[entity.offset + entity.length]! - offset };
    })
    .filter((entity) => entity.length > 0 && (entity.type !== "text_link" || entity.url));

  // rtrim
  let last = cleaned.length - 1;
  while (last >= 0 && (cleaned[last] === " " || cleaned[last] === "\n")) last--;
  if (last < 0) {
    if (allowEmpty) return { text: "", entities: [] };
    throw badRequest("text must be non-empty");
  }
  cleaned = cleaned.slice(0, last + 1);
  fixed = fixed
    .filter((entity) => entity.offset <= last)
    .map((entity) =>
      entity.offset + entity.length > last + 1 ? { ...entity, length: last + 1 - entity.offset } : entity,
    );

  // ltrim, but never past the first entity
  const firstEntityOffset = fixed.reduce((min, entity) => Math.min(min, entity.offset), cleaned.length);
  let first = 0;
  while (first < firstEntityOffset && (cleaned[first] === " " || cleaned[first] === "\n")) first++;
  if (first > 0) {
    cleaned = cleaned.slice(first);
    fixed = fixed.map((entity) => ({ ...entity, offset: entity.offset - first }));
  }

  return { text: cleaned, entities: mergeNewEntities(sortEntities(fixed), findEntities(cleaned)) };
}

const SPLITTABLE = new Set(["bold", "italic", "underline", "strikethrough", "spoiler"]);
const BLOCKQUOTES = new Set(["blockquote", "expandable_blockquote"]);

/** tdlib's merge_new_entities: found entities never overlap code, links and the like, nor cross a blockquote edge. */
function mergeNewEntities(entities: MessageEntity[], found: MessageEntity[]): MessageEntity[] {
  const overlaps = (a: MessageEntity, b: MessageEntity): boolean =>
    a.offset < b.offset + b.length && b.offset < a.offset + a.length;
  const kept = found.filter((candidate) =>
    entities.every((existing) => {
      if (SPLITTABLE.has(existing.type)) return true;
      if (BLOCKQUOTES.has(existing.type)) {
        const inside =
          candidate.offset >= existing.offset &&
          candidate.offset + candidate.length <= existing.offset + existing.length;
        return inside || !overlaps(candidate, existing);
      }
      return !overlaps(candidate, existing);
    }),
  );
  return kept.length === 0 ? entities : sortEntities([...entities, ...kept]);
}

const WORD_CHARACTER = /[\p{L}\p{N}_]/u;
const HASHTAG_LETTER = /[\p{L}\p{Nd}_\u200c\u00b7\u0d80-\u0dff]/u;
const isUsernameCharacter = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9_]/.test(ch);
const SHORT_USERNAMES = new Set(["gif", "nft", "pic", "ufc", "vid"]);

function codePointBefore(text: string, index: number): string | undefined {
  if (index <= 0) return undefined;
  const low = text.charCodeAt(index - 1);
  if (low >= 0xdc00 && low <= 0xdfff && index >= 2) return text.slice(index - 2, index);
  return text[index - 1];
}

function codePointAt(text: string, index: number): string | undefined {
  const code = text.codePointAt(index);
  return code === undefined ? undefined : String.fromCodePoint(code);
}

const isWord = (ch: string | undefined): boolean => ch !== undefined && WORD_CHARACTER.test(ch);

function usernameRunEnd(text: string, from: number): number {
  let end = from;
  while (isUsernameCharacter(text[end])) end++;
  return end;
}

/** Automatic entities Telegram adds to every text: mentions, bot commands, hashtags and explicit URLs. */
export function findEntities(text: string): MessageEntity[] {
  const found: MessageEntity[] = [];

  for (let at = text.indexOf("@"); at !== -1; at = text.indexOf("@", at + 1)) {
    if (isWord(codePointBefore(text, at))) continue;
    const end = usernameRunEnd(text, at + 1);
    const size = end - at - 1;
    if (size < 2 || size > 32 || isWord(codePointAt(text, end))) continue;
    if (size < 4 && !SHORT_USERNAMES.has(text.slice(at + 1, end).toLowerCase())) continue;
    found.push({ type: "mention", offset: at, length: end - at });
  }

  for (let at = text.indexOf("/"); at !== -1; at = text.indexOf("/", at + 1)) {
    const before = codePointBefore(text, at);
    if (isWord(before) || before === "/" || before === "<" || before === ">") continue;
    let end = usernameRunEnd(text, at + 1);
    const size = end - at - 1;
    if (size < 1 || size > 64) continue;
    if (text[end] === "@") {
      const usernameEnd = usernameRunEnd(text, end + 1);
      const usernameSize = usernameEnd - end - 1;
      if (usernameSize < 3 || usernameSize > 32) continue;
      end = usernameEnd;
    }
    const after = codePointAt(text, end);
    if (isWord(after) || after === "/" || after === "<" || after === ">") continue;
    found.push({ type: "bot_command", offset: at, length: end - at });
  }

  for (let at = text.indexOf("#"); at !== -1; at = text.indexOf("#", at + 1)) {
    const before = codePointBefore(text, at);
    if (before !== undefined && HASHTAG_LETTER.test(before)) continue;
    let end = at + 1;
    let hasLetter = false;
    let count = 0;
    for (
      let ch = codePointAt(text, end);
      ch !== undefined && HASHTAG_LETTER.test(ch);
      ch = codePointAt(text, end)
    ) {
      if (count < 256) {
        hasLetter ||= /\p{L}/u.test(ch);
        count++;
      }
      end += ch.length;
    }
    if (count === 0 || !hasLetter || text[end] === "#") continue;
    found.push({ type: "hashtag", offset: at, length: end - at });
  }

  const urls = /https?:\/\/[^\s<>"]+/giu;
  for (let match = urls.exec(text); match !== null; match = urls.exec(text)) {
    if (isWord(codePointBefore(text, match.index))) continue;
    const url = match[0].replace(/[.,;:!?'")\]]+$/u, "");
    if (!/^https?:\/\/[^/?#]*\./iu.test(url)) continue;
    found.push({ type: "url", offset: match.index, length: url.length });
  }

  // Found entities may not intersect each other; earlier and longer ones win.
  const ordered = sortEntities(found);
  const result: MessageEntity[] = [];
  let end = 0;
  for (const entity of ordered) {
    if (entity.offset < end) continue;
    result.push(entity);
    end = entity.offset + entity.length;
  }
  return result;
}
