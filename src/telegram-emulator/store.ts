// Chats, users, messages and files the emulator knows about.

import { randomBytes } from "node:crypto";
import type { Chat, ChatLike, ChatType, StoredFile, StoredMessage, User, UserLike } from "./types.ts";

export interface ChatState {
  chat: Chat;
  messages: Map<number, StoredMessage>;
  nextMessageId: number;
  blocked: boolean;
  migratedTo?: number;
}

/** Telegram's id ranges: users are positive, basic groups negative, supergroups and channels -100…. */
export function chatTypeForId(id: number): ChatType {
  if (id > 0) return "private";
  return id <= -1_000_000_000_000 ? "supergroup" : "group";
}

export class ChatStore {
  private readonly chats = new Map<number, ChatState>();
  private readonly users = new Map<number, User>();
  private readonly files = new Map<string, StoredFile>();

  /** Finds a chat by id or @username without creating it. */
  find(chatId: number | string): ChatState | undefined {
    if (typeof chatId === "number") return this.chats.get(chatId);
    if (/^-?\d+$/.test(chatId)) return this.chats.get(Number(chatId));
    const username = chatId.replace(/^@/, "").toLowerCase();
    for (const state of this.chats.values()) {
      if (state.chat.username?.toLowerCase() === username) return state;
    }
    return undefined;
  }

  /** The chat with this id, created on first use with details that fit its id range. */
  ensure(id: number, like?: ChatLike): ChatState {
    let state = this.chats.get(id);
    if (state === undefined) {
      state = { chat: this.describeChat(id, like), messages: new Map(), nextMessageId: 1, blocked: false };
      this.chats.set(id, state);
    } else if (like !== undefined) {
      state.chat = { ...state.chat, ...this.describeChat(id, { ...state.chat, ...like }) };
    }
    return state;
  }

  all(): ChatState[] {
    return [...this.chats.values()];
  }

  rememberUser(like: UserLike): User {
    const known = this.users.get(like.id);
    const user: User = {
      id: like.id,
      is_bot: like.is_bot ?? known?.is_bot ?? false,
      first_name: like.first_name ?? known?.first_name ?? `User ${like.id}`,
    };
    const lastName = like.last_name ?? known?.last_name;
    const username = like.username ?? known?.username;
    const languageCode = like.language_code ?? known?.language_code;
    if (lastName !== undefined) user.last_name = lastName;
    if (username !== undefined) user.username = username;
    if (languageCode !== undefined) user.language_code = languageCode;
    this.users.set(user.id, user);
    return user;
  }

  user(id: number): User | undefined {
    return this.users.get(id);
  }

  addFile(file: Omit<StoredFile, "file_id" | "file_unique_id">): StoredFile {
    const stored: StoredFile = {
      file_id: `BQACAgIAAxkBAA${randomBytes(24).toString("base64url")}`,
      file_unique_id: `AgAD${randomBytes(8).toString("base64url")}`,
      ...file,
    };
    this.files.set(stored.file_id, stored);
    return stored;
  }

  file(fileId: string): StoredFile | undefined {
    return this.files.get(fileId);
  }

  private describeChat(id: number, like: ChatLike | undefined): Chat {
    const type = like?.type ?? chatTypeForId(id);
    const chat: Chat = { id, type };
    if (type === "private") {
      const user = this.users.get(id);
      chat.first_name = like?.first_name ?? user?.first_name ?? `User ${id}`;
      const lastName = like?.last_name ?? user?.last_name;
      if (lastName !== undefined) chat.last_name = lastName;
      const username = like?.username ?? user?.username;
      if (username !== undefined) chat.username = username;
    } else {
      chat.title = like?.title ?? `${type === "supergroup" ? "Supergroup" : "Group"} ${Math.abs(id)}`;
      if (like?.username !== undefined) chat.username = like.username;
      if (like?.is_forum === true && type === "supergroup") chat.is_forum = true;
    }
    return chat;
  }
}
