import Fastify, { type FastifyInstance } from "fastify";
import { Api } from "grammy";
import { type LocalTelegram, startLocalTelegram } from "../../src/console/local.ts";
import { type ConsoleStream, consoleRoutes } from "../../src/console/routes.ts";
import { installErrorHandlers } from "../../src/http/errors.ts";
import { decorateRequestTrace } from "../../src/http/request-trace.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { memoryCoordinator } from "../http/support.ts";

/** A 2x1 PNG (red, blue). */
export const TINY_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAIAAAABCAIAAAB7QOjdAAAAD0lEQVR4nGP4z8DAwPAfAAcAAf9+CLHQAAAAAElFTkSuQmCC",
  "base64",
);

export interface ConsoleApp {
  url: string;
  app: FastifyInstance;
  local: LocalTelegram;
  stream: ConsoleStream;
  /** The bot's side: a grammY Api on the local Bot API, as pitwall's bot and outbox use it. */
  api: Api;
  close(): Promise<void>;
}

/** The console routes on a bare Fastify beside a local Bot API: no database, no bot. */
export async function startConsoleApp(
  opts: { password?: string | null; allowRemote?: boolean; failedAuthCount?: number } = {},
): Promise<ConsoleApp> {
  const log = createLogger({ level: "silent" });
  const local = await startLocalTelegram({ log });
  const app = Fastify() as unknown as FastifyInstance;
  decorateRequestTrace(app);
  installErrorHandlers(app, { bodyLimitBytes: 1024 * 1024 });
  const side = consoleRoutes({
    emulator: local.api.emulator,
    log,
    coord: memoryCoordinator(),
    password: opts.password ?? null,
    allowRemote: opts.allowRemote ?? false,
    failedAuthLimit: { count: opts.failedAuthCount ?? 3, perMs: 60_000 },
    heartbeatMs: 60_000,
  });
  await app.register(async (scope) => side.register(scope));
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    app,
    local,
    stream: side.stream,
    api: new Api(local.token, { apiRoot: local.apiRoot }),
    async close() {
      await app.close();
      await local.stop();
    },
  };
}

export interface SseEvent {
  event: string;
  data: unknown;
}

/** Reads a Server-Sent Events stream into a list; `next` waits for a matching event. */
export async function openEvents(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const response = await fetch(url, { headers, signal: controller.signal });
  if (!response.ok || response.body === null) throw new Error(`events: HTTP ${response.status}`);
  const events: SseEvent[] = [];
  const waiters: Array<{ predicate: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
  let ended = false;
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let split = buffer.indexOf("\n\n");
        while (split >= 0) {
          const block = buffer.slice(0, split);
          buffer = buffer.slice(split + 2);
          split = buffer.indexOf("\n\n");
          const name = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (name === undefined || data === undefined) continue;
          const event = { event: name, data: JSON.parse(data) as unknown };
          events.push(event);
          for (const waiter of [...waiters]) {
            if (waiter.predicate(event)) {
              waiters.splice(waiters.indexOf(waiter), 1);
              waiter.resolve(event);
            }
          }
        }
      }
    } catch {
      // aborted
    } finally {
      ended = true;
    }
  })();
  return {
    events,
    get ended() {
      return ended;
    },
    reading,
    next(predicate: (e: SseEvent) => boolean, timeoutMs = 5_000): Promise<SseEvent> {
      const past = events.find(predicate);
      if (past) return Promise.resolve(past);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching event within ${timeoutMs} ms`)),
          timeoutMs,
        );
        waiters.push({
          predicate,
          resolve: (e) => {
            clearTimeout(timer);
            resolve(e);
          },
        });
      });
    },
    close() {
      controller.abort();
    },
  };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
