// The console's HTTP face, served by pitwall's own Fastify (routes outside /v1 need no API key):
//   GET  /console                  the page (static HTML, CSS and JS; no build step)
//   GET  /console/events           Server-Sent Events: a snapshot, then every change
//   POST /console/api/messages     an operator types in a chat (messages and commands)
//   POST /console/api/callbacks    an operator presses an inline button (a real callback query)
//   GET  /console/api/commands     the bot's command menu for an operator
//   GET  /console/files/:fileId    documents and photos the bot sent
// Everything the page does goes through the emulated Bot API as a Telegram client's would.

import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import type { Coordinator } from "../coord/types.ts";
import { HttpError, parseBody, parseParams, parseQuery } from "../http/errors.ts";
import type { Logger } from "../observability/logger.ts";
import { type BotApiEmulator, type EmulatorChange, isInlineKeyboard } from "../telegram-emulator/index.ts";
import { consoleAuth } from "./auth.ts";
import { LOCAL_BOT, LOCAL_CHATS, LOCAL_OPERATORS, type LocalOperator } from "./local.ts";
import { type ConsoleMessage, FILE_ROUTE, toConsoleMessage } from "./view.ts";

export interface ConsoleRoutesOptions {
  emulator: BotApiEmulator;
  log: Logger;
  coord: Pick<Coordinator, "increment">;
  password: string | null;
  allowRemote: boolean;
  failedAuthLimit: { count: number; perMs: number };
  /** Shown on the page: whether the demo stream runs. */
  demo?: boolean;
  /** Messages per chat in the snapshot a page gets when it connects. Default 300. */
  snapshotLimit?: number;
  /** Comment lines keep idle streams open through proxies. Default 20 s. */
  heartbeatMs?: number;
}

export interface ConsoleChatInfo {
  id: number;
  /** alerts | approvals | digest | direct (the acting operator's private chat with the bot). */
  name: string;
  title: string;
  /** For a direct chat: whose. */
  operatorId?: number;
}

export interface ConsoleSnapshot {
  bot: { id: number; username: string; name: string };
  operators: readonly LocalOperator[];
  chats: ConsoleChatInfo[];
  messages: ConsoleMessage[];
  demo: boolean;
}

const ASSETS = new URL("./assets/", import.meta.url);
const asset = (name: string) => readFileSync(new URL(name, ASSETS), "utf8");

/** A slow page is cut off (it reconnects and gets a fresh snapshot) rather than buffered without end. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

const PAGE_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
};

/** Raster images are shown inline; everything else is a download, never rendered by the browser. */
const INLINE_IMAGES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

const sendSchema = z.strictObject({
  chatId: z.number().int(),
  operatorId: z.number().int(),
  text: z.string().min(1, "type something").max(4096, "at most 4096 characters"),
  replyTo: z.number().int().positive().optional(),
});

const pressSchema = z.strictObject({
  chatId: z.number().int(),
  messageId: z.number().int().positive(),
  operatorId: z.number().int(),
  data: z.string().min(1).max(64),
});

/**
 * The live stream behind every open page: one listener on the emulator, fanned out to the pages.
 * `close()` ends every stream, so a graceful shutdown is not held open by a browser tab.
 */
export class ConsoleStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly chatIds: Set<number>;

  constructor(
    private readonly emulator: BotApiEmulator,
    private readonly opts: { log: Logger; demo: boolean; snapshotLimit: number; heartbeatMs: number },
  ) {
    this.chatIds = new Set([...LOCAL_CHATS.map((chat) => chat.id), ...LOCAL_OPERATORS.map((op) => op.id)]);
    this.unsubscribe = emulator.onChange((change) => this.onChange(change));
    this.heartbeat = setInterval(() => this.broadcast(": keep-alive\n\n"), opts.heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  snapshot(): ConsoleSnapshot {
    const chats: ConsoleChatInfo[] = [
      ...LOCAL_CHATS.map((chat) => ({ id: chat.id, name: chat.name, title: chat.title })),
      ...LOCAL_OPERATORS.map((op) => ({
        id: op.id,
        name: "direct",
        title: LOCAL_BOT.first_name,
        operatorId: op.id,
      })),
    ];
    const messages = chats.flatMap((chat) =>
      this.emulator
        .messages(chat.id)
        .filter((message) => !message.deleted)
        .slice(-this.opts.snapshotLimit)
        .map(toConsoleMessage),
    );
    return {
      bot: { id: LOCAL_BOT.id, username: LOCAL_BOT.username, name: LOCAL_BOT.first_name },
      operators: LOCAL_OPERATORS,
      chats,
      messages,
      demo: this.opts.demo,
    };
  }

  attach(response: ServerResponse): void {
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
      connection: "keep-alive",
    });
    // A reconnecting EventSource waits this long; the snapshot makes up for what it missed.
    response.write("retry: 1000\n\n");
    response.write(event("snapshot", this.snapshot()));
    this.clients.add(response);
    response.on("close", () => this.clients.delete(response));
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.unsubscribe();
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private onChange(change: EmulatorChange): void {
    if (change.kind === "callback_answer") {
      const { answer } = change;
      this.broadcast(
        event("answer", {
          callbackQueryId: change.callbackQueryId,
          text: answer.text ?? "",
          showAlert: answer.show_alert === true,
        }),
      );
      return;
    }
    if (!this.chatIds.has(change.chatId)) return;
    this.broadcast(event("message", toConsoleMessage(change.message)));
  }

  private broadcast(chunk: string): void {
    for (const client of this.clients) {
      if (client.writableLength > MAX_BUFFERED_BYTES) {
        this.opts.log.warn("a console page does not keep up with its stream: disconnecting it");
        client.destroy();
        this.clients.delete(client);
        continue;
      }
      client.write(chunk);
    }
  }
}

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The route plugin main registers (beside the feature modules' routes). */
export function consoleRoutes(opts: ConsoleRoutesOptions): {
  register: (app: FastifyInstance) => Promise<void>;
  stream: ConsoleStream;
} {
  const { emulator } = opts;
  const stream = new ConsoleStream(emulator, {
    log: opts.log,
    demo: opts.demo ?? false,
    snapshotLimit: opts.snapshotLimit ?? 300,
    heartbeatMs: opts.heartbeatMs ?? 20_000,
  });
  const page = asset("index.html");
  const script = asset("console.js");
  const style = asset("console.css");
  const icon = asset("favicon.svg");

  const operatorById = (id: number): LocalOperator => {
    const operator = LOCAL_OPERATORS.find((op) => op.id === id);
    if (!operator) throw new HttpError(400, "invalid_request", `body.operatorId: no local operator ${id}`);
    return operator;
  };
  /** Group chats are open to every local operator; a private chat only to its own user. */
  const chatFor = (chatId: number, operator: LocalOperator) => {
    const group = LOCAL_CHATS.find((chat) => chat.id === chatId);
    if (group) return { id: group.id, type: "supergroup" as const, title: group.title };
    if (chatId === operator.id) return { id: chatId, type: "private" as const };
    throw new HttpError(
      400,
      "invalid_request",
      `body.chatId: ${chatId} is not a console chat of this operator`,
    );
  };

  const register = async (app: FastifyInstance): Promise<void> => {
    app.addHook("onRequest", consoleAuth(opts));
    // Before the server stops accepting: open streams would otherwise hold the shutdown.
    app.addHook("preClose", async () => stream.close());

    const sendPage = (reply: FastifyReply) =>
      reply.headers(PAGE_HEADERS).type("text/html; charset=utf-8").send(page);
    app.get("/console", async (_request, reply) => sendPage(reply));
    app.get("/console/", async (_request, reply) => sendPage(reply));
    app.get("/console/assets/console.js", async (_request, reply) =>
      reply.headers(PAGE_HEADERS).type("text/javascript; charset=utf-8").send(script),
    );
    app.get("/console/assets/console.css", async (_request, reply) =>
      reply.headers(PAGE_HEADERS).type("text/css; charset=utf-8").send(style),
    );
    app.get("/console/assets/favicon.svg", async (_request, reply) =>
      reply.headers(PAGE_HEADERS).type("image/svg+xml").send(icon),
    );

    app.get("/console/events", async (request, reply) => {
      reply.hijack();
      stream.attach(reply.raw);
      request.log.debug({ pages: stream.size }, "console page connected");
    });

    app.post("/console/api/messages", async (request) => {
      const body = parseBody(request, sendSchema);
      const operator = operatorById(body.operatorId);
      const chat = chatFor(body.chatId, operator);
      let update: ReturnType<BotApiEmulator["injectMessage"]>;
      try {
        update = emulator.injectMessage({
          from: { id: operator.id, first_name: operator.name },
          chat,
          text: body.text,
          ...(body.replyTo === undefined ? {} : { replyTo: body.replyTo }),
        });
      } catch (err) {
        // The emulator's own checks (text empty after trimming, replied-to message gone).
        throw new HttpError(400, "invalid_request", err instanceof Error ? err.message : String(err));
      }
      return { messageId: update.message?.message_id ?? null };
    });

    app.post("/console/api/callbacks", async (request) => {
      const body = parseBody(request, pressSchema);
      const operator = operatorById(body.operatorId);
      chatFor(body.chatId, operator);
      const message = emulator.messages(body.chatId).find((m) => m.message_id === body.messageId);
      const markup = message?.reply_markup;
      const buttons = isInlineKeyboard(markup) ? markup.inline_keyboard.flat() : [];
      // Like Telegram, only data of a button that is on the message now can be sent.
      if (!message || message.deleted || !buttons.some((button) => button.callback_data === body.data)) {
        throw new HttpError(
          409,
          "stale_button",
          "that button is no longer on the message (it was edited or removed); press a current one",
        );
      }
      const update = emulator.injectCallbackQuery({
        from: { id: operator.id, first_name: operator.name },
        chatId: body.chatId,
        messageId: body.messageId,
        data: body.data,
      });
      return { callbackQueryId: update.callback_query?.id ?? null };
    });

    app.get("/console/api/commands", async (request) => {
      const { operatorId } = parseQuery(request, z.object({ operatorId: z.coerce.number().int() }));
      const operator = operatorById(operatorId);
      const commands =
        emulator.myCommands({ scope: { type: "chat", chat_id: operator.id } }) ??
        emulator.myCommands({ scope: { type: "default" } }) ??
        [];
      return { commands };
    });

    app.get(`${FILE_ROUTE}/:fileId`, async (request, reply) => {
      const { fileId } = parseParams(request, z.object({ fileId: z.string().min(1).max(200) }));
      const file = emulator.store.file(fileId);
      if (file?.content === undefined) {
        throw new HttpError(
          404,
          "not_found",
          "no such file in this console (files live in memory until restart)",
        );
      }
      const mime = file.mime_type ?? "application/octet-stream";
      const inline = INLINE_IMAGES.has(mime);
      const name = file.file_name ?? (inline ? "photo" : "document");
      return reply
        .headers({
          "cache-control": "private, max-age=3600",
          "x-content-type-options": "nosniff",
          "content-security-policy": "default-src 'none'; sandbox",
          "content-disposition": `${inline ? "inline" : "attachment"}; ${dispositionName(name)}`,
        })
        .type(inline ? mime : safeDownloadType(mime))
        .send(file.content);
    });
  };
  return { register, stream };
}

function safeDownloadType(mime: string): string {
  return /^(application\/(json|pdf|zip)|text\/(plain|csv))$/.test(mime) ? mime : "application/octet-stream";
}

/** `filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266), with nothing a header could choke on. */
function dispositionName(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
