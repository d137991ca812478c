import { createServer, type Server, type Socket } from "node:net";
import {
  BASE_YAML,
  configFrom,
  FakeClock,
  type Instance,
  startInstance,
} from "../services/approvals/support.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

/** A pitwall (approvals module + HTTP API) listening on a loopback port. */
export interface LivePitwall {
  url: string;
  instance: Instance;
  tdb: TestDatabase;
  clock: FakeClock;
  close(): Promise<void>;
}

export async function startLivePitwall(): Promise<LivePitwall> {
  const tdb = await createTestDatabase();
  const clock = new FakeClock();
  // Telegram off: these tests decide through the service, as an approver's press would.
  const instance = await startInstance({
    db: tdb.db,
    url: tdb.url,
    config: configFrom(BASE_YAML),
    clock,
    telegramEnabled: false,
  });
  const url = await instance.app.listen({ host: "127.0.0.1", port: 0 });
  return {
    url,
    instance,
    tdb,
    clock,
    async close() {
      // A client aborted mid-connect (the hook's deadline) can leave a socket that never sent a
      // request; Node's server.close() would wait headersTimeout (60 s) for it. Nothing is in
      // flight at the end of a test, so cut every connection.
      const closing = instance.close();
      instance.app.server.closeAllConnections();
      await closing;
      await tdb.drop();
    },
  };
}

/** A server that accepts connections and never answers (a hung pitwall). */
export async function startBlackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A URL nobody listens on (a port that was free a moment ago). */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Resolves once the approvals service has `n` long polls waiting. */
export async function waitForWaiters(live: LivePitwall, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (live.instance.module.service.waiters.size < n) {
    if (Date.now() > deadline) throw new Error("no long poll started waiting");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The newest pending approval's id. */
export async function latestPendingId(live: LivePitwall): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const { rows } = await live.tdb.db.query<{ id: string }>(
      "select id from approvals where status = 'pending' order by seq desc limit 1",
    );
    if (rows[0]) return rows[0].id;
    if (Date.now() > deadline) throw new Error("no pending approval appeared");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
