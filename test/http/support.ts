import { createServer, type Server, Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import type { Coordinator, LeaderHandle, Lease, RateDecision } from "../../src/coord/types.ts";
import type { ApiKey } from "../../src/http/api-keys.ts";
import { createHttpServer, type HttpDeps } from "../../src/http/server.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import type { Db } from "../../src/store/pool.ts";

/**
 * Counters only, in memory: the part of the Coordinator the HTTP layer uses. Anything else throws
 * so a test that starts to depend on more notices.
 */
export function memoryCoordinator(): Coordinator & { failing: boolean } {
  const counters = new Map<string, { windowStart: number; count: number }>();
  const unsupported = (what: string) => () => {
    throw new Error(`memoryCoordinator does not implement ${what}`);
  };
  const coord = {
    kind: "postgres" as const,
    instanceId: "test",
    failing: false,
    async increment(key: string, windowMs: number, by = 1) {
      if (coord.failing) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
      const windowStart = Math.floor(Date.now() / windowMs) * windowMs;
      const entry = counters.get(key);
      const count = entry && entry.windowStart === windowStart ? entry.count + by : by;
      counters.set(key, { windowStart, count });
      return count;
    },
    async count(key: string, windowMs: number) {
      const windowStart = Math.floor(Date.now() / windowMs) * windowMs;
      const entry = counters.get(key);
      return entry && entry.windowStart === windowStart ? entry.count : 0;
    },
    tryAcquire: unsupported("tryAcquire") as (name: string, ttlMs: number) => Promise<Lease | null>,
    campaign: unsupported("campaign") as () => LeaderHandle,
    publish: unsupported("publish") as () => Promise<void>,
    subscribe: unsupported("subscribe") as () => Promise<() => Promise<void>>,
    rateLimit: unsupported("rateLimit") as () => Promise<RateDecision>,
    setOnce: unsupported("setOnce") as () => Promise<boolean>,
    async close() {},
  };
  return coord;
}

/** Log lines as text, to assert what reached (and what never reached) the log. */
export interface CapturedLogs {
  lines: string[];
  text(): string;
  parsed(): Array<Record<string, unknown>>;
}

export function captureLogs(): { logs: CapturedLogs; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const log = createLogger({
    level: "debug",
    destination: {
      write(line: string) {
        lines.push(line);
      },
    },
  });
  return {
    log,
    logs: {
      lines,
      text: () => lines.join(""),
      parsed: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    },
  };
}

export const ADMIN_KEY = "pw_admin_9f8e7d6c5b4a39281706";
export const CODER_KEY = "pw_coder_1a2b3c4d5e6f7a8b9c0d";
export const READER_KEY = "pw_reader_0f1e2d3c4b5a69788796";
export const ANY_AGENT_KEY = "any-agent-key-0123456789abcdef";

export const testKeys: ApiKey[] = [
  { name: "admin", key: ADMIN_KEY, scopes: ["all"] },
  { name: "coder-bot", key: CODER_KEY, scopes: ["alerts", "approvals", "usage", "read"], agents: ["coder"] },
  { name: "reader", key: READER_KEY, scopes: ["read"] },
  { name: "any-agent", key: ANY_AGENT_KEY, scopes: ["approvals", "read"], agents: ["*"] },
];

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

export interface TestApp {
  app: FastifyInstance;
  logs: CapturedLogs;
  metrics: ReturnType<typeof createMetrics>;
}

export async function buildApp(db: Db, overrides: Partial<HttpDeps> = {}): Promise<TestApp> {
  const { log, logs } = captureLogs();
  const metrics = createMetrics();
  const app = await createHttpServer({
    db,
    coord: memoryCoordinator(),
    log,
    metrics,
    apiKeys: testKeys,
    ...overrides,
  });
  return { app, logs, metrics };
}

/**
 * A TCP relay in front of Postgres that a test can cut (every connection dropped, new ones
 * refused) and restore on the same port: "Postgres gone mid-run" without stopping the shared
 * test cluster.
 */
export class PostgresRelay {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => {
      const upstream = new Socket();
      this.track(client, upstream);
      this.track(upstream, client);
      upstream.connect(this.targetPort, this.targetHost);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    const address = server.address();
    if (address && typeof address === "object") this.port = address.port;
    this.server = server;
  }

  /** Drops every connection and refuses new ones until start() again. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private track(socket: Socket, peer: Socket): void {
    this.sockets.add(socket);
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      this.sockets.delete(socket);
      peer.destroy();
    });
  }
}
