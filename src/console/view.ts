// What the console page receives about a message: the emulator's parsed state (visible text and
// entities, exactly what a Telegram client gets), never the HTML the bot sent. The page builds DOM
// nodes from text + entities, so nothing a message contains is ever interpreted as markup.

import {
  isInlineKeyboard,
  type MessageEntity,
  type StoredFile,
  type StoredMessage,
} from "../telegram-emulator/index.ts";

export interface ConsoleButton {
  text: string;
  /** callback_data: pressing sends a callback query. */
  data?: string;
  /** A URL button (http/https only; anything else is dropped). */
  url?: string;
}

export interface ConsoleFile {
  /** Where the page loads it: this console's file route, or the http(s) URL the bot sent. */
  href: string;
  name?: string;
  mime?: string;
  size: number;
  width?: number;
  height?: number;
}

export interface ConsoleMessage {
  chatId: number;
  id: number;
  from: { id: number; name: string; isBot: boolean };
  /** Sent by the bot. */
  outgoing: boolean;
  /** Unix seconds. */
  date: number;
  editDate?: number;
  deleted: boolean;
  /** The text, or the caption of a photo/document. */
  text: string;
  entities: MessageEntity[];
  keyboard?: ConsoleButton[][];
  /** The bot asked for a reply to this message (ForceReply). */
  forceReply?: boolean;
  photo?: ConsoleFile;
  document?: ConsoleFile;
  silent: boolean;
  replyTo?: number;
}

export const FILE_ROUTE = "/console/files";

export function toConsoleMessage(message: StoredMessage): ConsoleMessage {
  const view: ConsoleMessage = {
    chatId: message.chat_id,
    id: message.message_id,
    from: {
      id: message.from.id,
      name: [message.from.first_name, message.from.last_name].filter(Boolean).join(" "),
      isBot: message.from.is_bot,
    },
    outgoing: message.outgoing,
    date: message.date,
    deleted: message.deleted,
    text: message.deleted ? "" : (message.text ?? message.caption ?? ""),
    entities: message.deleted ? [] : message.entities,
    silent: message.disable_notification,
  };
  if (message.edit_date !== undefined) view.editDate = message.edit_date;
  if (message.reply_to_message_id !== undefined) view.replyTo = message.reply_to_message_id;
  if (message.deleted) return view;
  const markup = message.reply_markup;
  if (isInlineKeyboard(markup)) {
    view.keyboard = markup.inline_keyboard.map((row) =>
      row.flatMap((button): ConsoleButton[] => {
        if (typeof button.callback_data === "string")
          return [{ text: button.text, data: button.callback_data }];
        if (typeof button.url === "string" && /^https?:\/\//i.test(button.url)) {
          return [{ text: button.text, url: button.url }];
        }
        return [{ text: button.text }];
      }),
    );
  } else if (markup !== undefined && "force_reply" in markup && markup.force_reply === true) {
    view.forceReply = true;
  }
  const photo = message.photo === undefined ? undefined : fileView(message.photo);
  if (photo !== undefined) view.photo = photo;
  const document = message.document === undefined ? undefined : fileView(message.document);
  if (document !== undefined) view.document = document;
  return view;
}

function fileView(file: StoredFile): ConsoleFile | undefined {
  let href: string;
  if (file.content !== undefined) href = `${FILE_ROUTE}/${encodeURIComponent(file.file_id)}`;
  else if (file.url !== undefined && /^https?:\/\//i.test(file.url)) href = file.url;
  else return undefined;
  const view: ConsoleFile = { href, size: file.size };
  if (file.file_name !== undefined) view.name = file.file_name;
  if (file.mime_type !== undefined) view.mime = file.mime_type;
  if (file.width !== undefined) view.width = file.width;
  if (file.height !== undefined) view.height = file.height;
  return view;
}
