// Helpers of the multi-instance test (multi-instance.test.ts): waiting on conditions, a Bot API
// proxy that holds answers (a call Telegram received whose answer never made it back), and an
// HTTP client that tells "the server never got it" from "it may have committed".

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** Polls `probe` until it returns something other than undefined/false; fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`not within ${timeoutMs} ms: ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface HeldCall {
  at: number;
  method: string;
  params: Record<string, unknown>;
  /** What the Bot API answered (the caller never saw it). */
  answer: { status: number; body: string };
}

export interface HoldingProxy {
  url: string;
  /** Calls forwarded to the Bot API whose answers are held back. */
  held: HeldCall[];
  close(): Promise<void>;
}

/**
 * Sits between one pitwall process and the fake Bot API. Every call is forwarded; the answers of
 * calls `shouldHold` picks are never returned: Telegram did the work, the caller waits. This is the
 * window a crash turns into a duplicate (DESIGN.md, Delivery: at-least-once).
 */
export async function startHoldingProxy(
  target: string,
  shouldHold: (method: string, params: Record<string, unknown>) => boolean,
): Promise<HoldingProxy> {
  const held: HeldCall[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      void relay(req, res, Buffer.concat(chunks)).catch(() => res.destroy());
    });
    res.on("error", () => undefined);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  async function relay(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const path = req.url ?? "/";
    const contentType = req.headers["content-type"] ?? "";
    const response = await fetch(`${target}${path}`, {
      method: req.method ?? "POST",
      headers: contentType ? { "content-type": contentType } : {},
      ...(req.method === "GET" || req.method === "HEAD" ? {} : { body: new Uint8Array(body) }),
    });
    const answer = { status: response.status, body: await response.text() };
    const method = /\/([^/]+)$/.exec(path)?.[1] ?? "";
    let params: Record<string, unknown> = {};
    if (contentType.includes("application/json")) {
      try {
        params = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
      } catch {
        params = {};
      }
    }
    if (answer.status === 200 && shouldHold(method, params)) {
      held.push({ at: Date.now(), method, params, answer });
      return; // never answered: the caller's call stays in flight
    }
    res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** How a request ended: an answer, or a failure that did or did not reach the server. */
export type Outcome =
  | { kind: "answer"; status: number; body: unknown }
  /** Connection refused: the server never saw the request. */
  | { kind: "unreached"; error: string }
  /** Reset or closed mid-request: the server may have committed it. */
  | { kind: "unknown"; error: string };

export async function request(
  url: string,
  opts: { method?: string; apiKey: string; body?: unknown; signal?: AbortSignal },
): Promise<Outcome> {
  try {
    const response = await fetch(url, {
      method: opts.method ?? (opts.body === undefined ? "GET" : "POST"),
      headers: {
        authorization: `Bearer ${opts.apiKey}`,
        ...(opts.body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: kept as text for the failure message
    }
    return { kind: "answer", status: response.status, body };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const error = `${cause?.code ?? ""} ${cause?.message ?? (err instanceof Error ? err.message : String(err))}`;
    return cause?.code === "ECONNREFUSED" ? { kind: "unreached", error } : { kind: "unknown", error };
  }
}

/** The instance id a pitwall process logged at startup ("coordination ready"). */
export function instanceIdOf(output: string): string | undefined {
  for (const line of output.split("\n")) {
    if (!line.includes("coordination ready")) continue;
    try {
      const parsed = JSON.parse(line) as { instance?: unknown };
      if (typeof parsed.instance === "string") return parsed.instance;
    } catch {
      // not a JSON log line
    }
  }
  return undefined;
}
