// The HTTP face of the emulator: `${apiRoot}/bot<token>/<method>` with GET or POST, like
// api.telegram.org, plus fault injection at the connection level.

import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { normalizeParams, parseBody } from "./body.ts";
import { BotApiEmulator } from "./emulator.ts";
import { BotApiError, notFound, unauthorized } from "./errors.ts";
import type { ApiResponse, FakeBotApi, FakeBotApiOptions, User } from "./types.ts";

const DEFAULT_TOKEN = "123456:TEST-TOKEN";
const DEFAULT_MAX_BODY_BYTES = 50 * 1024 * 1024;

export async function startFakeBotApi(options: FakeBotApiOptions = {}): Promise<FakeBotApi> {
  const token = options.token ?? DEFAULT_TOKEN;
  const botUser: User = {
    id: options.botUser?.id ?? (Number.parseInt(token.split(":")[0] ?? "", 10) || 123456),
    is_bot: true,
    first_name: options.botUser?.first_name ?? "pitwall",
    username: options.botUser?.username ?? "pitwall_test_bot",
  };
  const emulator = new BotApiEmulator({
    botUser,
    now: options.now ?? Date.now,
    limits: {
      perChatPerSecond: options.limits?.perChatPerSecond ?? 1,
      privateBurst: options.limits?.privateBurst ?? 3,
      perGroupPerMinute: options.limits?.perGroupPerMinute ?? 20,
      globalPerSecond: options.limits?.globalPerSecond ?? 30,
      enforce: options.limits?.enforce ?? true,
    },
    longPollMaxMs: options.longPollMaxMs ?? 1000,
    lengthUnit: options.lengthUnit ?? "codepoint",
    webhookRetryMs: options.webhookRetryMs ?? 200,
    allowInsecureLoopbackWebhook: true,
    ...(options.maxRecordedCalls === undefined ? {} : { maxRecordedCalls: options.maxRecordedCalls }),
  });
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  const sockets = new Set<Socket>();
  let down: "reset" | "hang" | undefined;
  const server = createServer((request, response) => {
    if (down === "reset") {
      request.socket.destroy();
      return;
    }
    if (down === "hang") return; // never answered; the socket is destroyed when the server comes back
    serve(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        send(response, 500, {
          ok: false,
          error_code: 500,
          description: `Internal Server Error: ${String(error)}`,
        });
      } else {
        response.destroy();
      }
    });
  });
  server.on("connection", (socket) => {
    if (down === "reset") {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "http://fake-bot-api");
    const route = /^\/bot([^/]+)\/([^/]*)$/.exec(url.pathname);
    if (route === null || route[2] === "" || (request.method !== "GET" && request.method !== "POST")) {
      drainAndSend(request, response, notFound());
      return;
    }
    const method = route[2]!;
    if (route[1] !== token && safeDecode(route[1]!) !== token) {
      const error = unauthorized();
      emulator.recordRefused(method, {}, error);
      drainAndSend(request, response, error);
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(request, maxBodyBytes);
    } catch (error) {
      if (!(error instanceof BotApiError)) {
        request.socket.destroy();
        return;
      }
      emulator.recordRefused(method, {}, error);
      send(response, error.status, error.toResponse(), true);
      return;
    }
    let params: Record<string, unknown>;
    try {
      const raw = parseBody(request.headers["content-type"], body);
      raw.fields = { ...Object.fromEntries(url.searchParams), ...raw.fields };
      params = normalizeParams(raw);
    } catch (error) {
      if (!(error instanceof BotApiError)) throw error;
      emulator.recordRefused(method, {}, error);
      send(response, error.status, error.toResponse());
      return;
    }
    const clientGone = new AbortController();
    response.on("close", () => {
      if (!response.writableFinished) clientGone.abort();
    });
    const answer = await emulator.handle({
      method: route[2]!,
      params,
      via: "http",
      signal: clientGone.signal,
    });
    if (!clientGone.signal.aborted && !response.destroyed) send(response, answer.status, answer.response);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  const destroySockets = (): void => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  return {
    apiRoot: `http://${host}:${address.port}`,
    token,
    botUser,
    emulator,
    calls: emulator.calls,
    callsOf: (method) => emulator.callsOf(method),
    messages: (chatId) => emulator.messages(chatId),
    lastMessage: (chatId) => emulator.messages(chatId).at(-1),
    chat: (chatId) => emulator.chat(chatId),
    injectMessage: (input) => emulator.injectMessage(input),
    injectCallbackQuery: (input) => emulator.injectCallbackQuery(input),
    pressButton: (input) => emulator.pressButton(input),
    injectUpdate: (update) => emulator.injectUpdate(update),
    pendingUpdates: () => emulator.updates.pending(),
    callbackAnswer: (id) => emulator.callbackAnswer(id),
    waitFor: (predicate, timeoutMs) => emulator.waitFor(predicate, timeoutMs),
    waitForLongPoll: (timeoutMs) => emulator.waitForLongPoll(timeoutMs),
    myCommands: (scope) => emulator.myCommands(scope),
    webhookInfo: () => emulator.webhookInfo(),
    migrateChat: (fromChatId, toChatId) => emulator.migrateChat(fromChatId, toChatId),
    blockBot: (chatId) => emulator.setBlocked(chatId, true),
    unblockBot: (chatId) => emulator.setBlocked(chatId, false),
    failNext: (method, response, times) => emulator.failNext(method, response, times),
    setDown: (isDown, mode = "reset") => {
      // Going down or coming back both cut what is open: held requests never get an answer.
      destroySockets();
      down = isDown ? mode : undefined;
    },
    rateLimitViolations: () => emulator.flood.violations(),
    resetRateLimits: () => emulator.flood.reset(),
    stop: async () => {
      emulator.shutdown();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Let answered long polls flush, then cut keep-alive connections.
        setImmediate(() => {
          server.closeIdleConnections();
          setTimeout(destroySockets, 50);
        });
      });
    },
  };
}

function send(response: ServerResponse, status: number, body: ApiResponse, close = false): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(payload),
    ...(close ? { connection: "close" } : {}),
  });
  response.end(payload);
}

function drainAndSend(request: IncomingMessage, response: ServerResponse, error: BotApiError): void {
  request.resume();
  request.on("end", () => send(response, error.status, error.toResponse()));
}

function readBody(request: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        request.removeAllListeners("data");
        request.resume();
        reject(new BotApiError(413, "Request Entity Too Large"));
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
    request.on("close", () => {
      if (!request.complete) reject(new Error("the client went away before the body was complete"));
    });
  });
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
