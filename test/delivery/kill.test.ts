import { type ChildProcess, spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueue } from "../../src/delivery/outbox.ts";
import { PRIORITY } from "../../src/delivery/types.ts";
import { allDelivered, createDeliveryBed, type DeliveryBed, waitUntil } from "./support.ts";
import type { OutboxChildSpec } from "./worker-child.ts";

interface HeldCall {
  at: number;
  path: string;
  contentType: string;
  body: Buffer;
}

/**
 * Stands between the child worker and the fake Bot API and never answers sendMessage: the calls
 * stay in flight until the test decides whether Telegram "received" them.
 */
async function startHoldingProxy(target: string): Promise<{ url: string; held: HeldCall[]; server: Server }> {
  const held: HeldCall[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", async () => {
      const call = {
        at: Date.now(),
        path: req.url ?? "/",
        contentType: req.headers["content-type"] ?? "",
        body: Buffer.concat(chunks),
      };
      if (call.path.endsWith("/sendMessage")) {
        held.push(call);
        return; // never answered
      }
      const answer = await forward(target, call);
      res.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body);
    });
    res.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held, server };
}

async function forward(target: string, call: HeldCall): Promise<{ status: number; body: string }> {
  const response = await fetch(`${target}${call.path}`, {
    method: "POST",
    headers: { "content-type": call.contentType },
    body: new Uint8Array(call.body),
  });
  return { status: response.status, body: await response.text() };
}

function spawnWorker(spec: OutboxChildSpec): Promise<ChildProcess> {
  const script = fileURLToPath(new URL("./worker-child.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    env: { ...process.env, PITWALL_OUTBOX_CHILD: JSON.stringify(spec) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`worker child exited early (${code})`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("ready")) resolve(child);
    });
  });
}

describe("outbox across a crash", () => {
  let bed: DeliveryBed;
  beforeAll(async () => {
    bed = await createDeliveryBed();
    await bed.reset();
  });
  afterAll(async () => bed.close());

  it("loses nothing when the worker is killed mid-send, with at most one duplicate per row in flight", async () => {
    const chats = Array.from({ length: 10 }, (_, n) => 7000 + n);
    const texts = new Map<number, string[]>();
    for (const chat of chats) {
      const list: string[] = [];
      for (let n = 0; n < 3; n++) {
        const text = `chat ${chat} row ${n}`;
        list.push(text);
        await enqueue(bed.db, {
          kind: "alert",
          priority: PRIORITY.NEW_ALERT,
          chat: { id: chat },
          method: "sendMessage",
          parts: [text],
          silent: false,
        });
      }
      texts.set(chat, list);
    }

    const proxy = await startHoldingProxy(bed.fake.apiRoot);
    const leaseMs = 1_500;
    const child = await spawnWorker({
      databaseUrl: bed.t.url,
      apiRoot: proxy.url,
      token: bed.fake.token,
      instanceId: "doomed",
      leaseMs,
      maxInFlight: 8,
    });
    // a full batch is in flight: claimed in the database, sent, not answered
    await waitUntil(() => proxy.held.length === 8, "8 sends in flight", 15_000);
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    const { rows: leased } = await bed.db.query<{ n: number }>(
      "select count(*)::int as n from outbox where status = 'pending' and claimed_by like 'doomed#%'",
    );
    expect(leased[0]!.n).toBe(8);

    // Telegram got half of them before the crash (the commit never happened); the rest were lost on the way.
    const inFlight = proxy.held.map(
      (call) => JSON.parse(call.body.toString()) as { chat_id: number; text: string },
    );
    const reached = inFlight.slice(0, 4);
    for (const call of proxy.held.slice(0, 4))
      expect((await forward(bed.fake.apiRoot, call)).status).toBe(200);
    await new Promise<void>((resolve) => proxy.server.close(() => resolve()));
    proxy.server.closeAllConnections();

    bed.worker({ instanceId: "successor" }).start();
    await allDelivered(bed.db, 15_000);

    // the successor waited out the dead worker's lease before touching those chats again
    const lastClaimAt = Math.max(...proxy.held.map((c) => c.at));
    const firstClaimAt = Math.min(...proxy.held.map((c) => c.at));
    const successorCalls = bed.fake.callsOf("sendMessage").slice(reached.length);
    const inFlightChats = new Set(inFlight.map((f) => f.chat_id));
    for (const call of successorCalls.filter((c) => inFlightChats.has(c.params.chat_id as number))) {
      expect(call.at).toBeGreaterThanOrEqual(firstClaimAt + leaseMs - 100);
    }
    expect(successorCalls.some((c) => c.at >= lastClaimAt)).toBe(true);

    for (const chat of chats) {
      const shown = bed.fake.messages(chat).map((m) => m.text ?? "");
      const expected = texts.get(chat)!;
      // every row arrived, in order, once — except a row Telegram got before the crash: twice
      const distinct = shown.filter((t, i) => shown.indexOf(t) === i);
      expect(distinct).toEqual(expected);
      for (const text of expected) {
        const copies = shown.filter((t) => t === text).length;
        const wasReached = reached.some((r) => r.text === text);
        expect(copies, text).toBe(wasReached ? 2 : 1);
      }
    }
    const total = chats.reduce((n, chat) => n + bed.fake.messages(chat).length, 0);
    expect(total).toBe(30 + reached.length);
  });
});
