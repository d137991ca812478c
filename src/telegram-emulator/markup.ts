// reply_markup validation with the Bot API's error strings (Client.cpp get_reply_markup and tdlib's
// ReplyMarkup.cpp); callback data over 64 bytes is refused by Telegram's servers as BUTTON_DATA_INVALID.

import { badRequest } from "./errors.ts";
import { checkLink, linkUserId } from "./links.ts";
import type { InlineKeyboardButton, InlineKeyboardMarkup, ReplyMarkup } from "./types.ts";

const MAX_CALLBACK_DATA_BYTES = 64;

const OTHER_BUTTON_TYPES = [
  "callback_game",
  "pay",
  "switch_inline_query",
  "switch_inline_query_chosen_chat",
  "switch_inline_query_current_chat",
  "login_url",
  "web_app",
  "copy_text",
];

/**
 * Validates a reply_markup parameter (object or JSON string). Returns undefined for "no markup"
 * (absent, or an empty keyboard, which removes an inline keyboard when editing).
 */
export function parseReplyMarkup(value: unknown, options: { inlineOnly: boolean }): ReplyMarkup | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string") throw badRequest("can't parse reply keyboard markup JSON object");
  if (typeof value !== "object" || Array.isArray(value)) throw badRequest("object expected as reply markup");
  const markup = value as Record<string, unknown>;

  let result: ReplyMarkup | undefined;
  const keyboard = parseKeyboard(markup.keyboard);
  const inlineKeyboard = parseInlineKeyboard(markup.inline_keyboard);
  if (keyboard.length > 0) {
    result = { ...markup, keyboard } as ReplyMarkup;
    delete (result as Record<string, unknown>).inline_keyboard;
  } else if (inlineKeyboard.length > 0) {
    result = { inline_keyboard: inlineKeyboard };
  } else if (markup.remove_keyboard === true || markup.hide_keyboard === true) {
    result = { remove_keyboard: true, ...(markup.selective === true ? { selective: true } : {}) };
  } else if (markup.force_reply === true) {
    if (
      typeof markup.input_field_placeholder === "string" &&
      [...markup.input_field_placeholder].length > 64
    ) {
      throw badRequest("input field placeholder is too long");
    }
    result = {
      force_reply: true,
      ...(markup.selective === true ? { selective: true } : {}),
      ...(typeof markup.input_field_placeholder === "string"
        ? { input_field_placeholder: markup.input_field_placeholder }
        : {}),
    };
  }
  if (result !== undefined && options.inlineOnly && !isInlineKeyboard(result)) {
    throw badRequest("inline keyboard expected");
  }
  return result;
}

export function isInlineKeyboard(markup: ReplyMarkup | undefined): markup is InlineKeyboardMarkup {
  return markup !== undefined && "inline_keyboard" in markup;
}

function parseKeyboard(value: unknown): Array<Array<{ text: string; [field: string]: unknown }>> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw badRequest('field "keyboard" must be an Array of Arrays');
  return value.map((row) => {
    if (!Array.isArray(row)) throw badRequest('field "keyboard" must be an Array of Arrays');
    return row.map((button) => {
      const normalized =
        typeof button === "string"
          ? { text: button }
          : (button as { text?: unknown; [field: string]: unknown });
      if (typeof normalized !== "object" || normalized === null || typeof normalized.text !== "string") {
        throw badRequest('can\'t parse keyboard button: Field "text" must be of type String');
      }
      if (normalized.text === "") throw badRequest("keyboard button text must be non-empty");
      return normalized as { text: string; [field: string]: unknown };
    });
  });
}

function parseInlineKeyboard(value: unknown): InlineKeyboardButton[][] {
  if (value === undefined) return [];
  const shapeError = 'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays';
  if (!Array.isArray(value)) throw badRequest(shapeError);
  return value
    .map((row) => {
      if (!Array.isArray(row)) throw badRequest(shapeError);
      return row.map(parseInlineButton);
    })
    .filter((row) => row.length > 0);
}

function parseInlineButton(value: unknown): InlineKeyboardButton {
  const prefix = "can't parse inline keyboard button";
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest(`${prefix}: InlineKeyboardButton must be an Object`);
  }
  const button = value as Record<string, unknown>;
  if (!("text" in button)) throw badRequest(`${prefix}: Can't find field "text"`);
  if (typeof button.text !== "string") throw badRequest(`${prefix}: Field "text" must be of type String`);

  const url = typeof button.url === "string" ? button.url : "";
  const callbackData = typeof button.callback_data === "string" ? button.callback_data : "";
  if (url === "" && callbackData === "" && !OTHER_BUTTON_TYPES.some((field) => field in button)) {
    throw badRequest(`${prefix}: Text buttons are unallowed in the inline keyboard`);
  }
  if (button.text === "") throw badRequest("inline keyboard button text must be non-empty");
  if (url !== "") {
    if (linkUserId(url) === undefined) {
      const checked = checkLink(url);
      if (!checked.ok) throw badRequest(`inline keyboard button URL '${url}' is invalid: ${checked.reason}`);
    }
  } else if (callbackData !== "" && Buffer.byteLength(callbackData, "utf8") > MAX_CALLBACK_DATA_BYTES) {
    throw badRequest("BUTTON_DATA_INVALID");
  }
  return { ...button, text: button.text };
}

/** Order-independent deep equality of JSON values, for the "message is not modified" rule. */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
