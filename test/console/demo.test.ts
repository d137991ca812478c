import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { startDemo } from "../../src/console/demo.ts";
import { captureLogs } from "../http/support.ts";

const KEY = "demo-test-key";

interface Call {
  method: string;
  url: string;
  body: Record<string, unknown>;
  authorized: boolean;
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A stand-in for pitwall's API v1: only the routes asked for exist; the rest answer 404. */
async function fakeApi(areas: {
  alerts?: boolean;
  approvals?: boolean;
  usage?: boolean;
  breakers?: boolean;
}) {
  const app = Fastify();
  const calls: Call[] = [];
  let used = 0;
  app.addHook("preHandler", async (request) => {
    calls.push({
      method: request.method,
      url: request.url,
      body: (request.body ?? {}) as Record<string, unknown>,
      authorized: request.headers.authorization === `Bearer ${KEY}`,
    });
  });
  if (areas.alerts) {
    app.post("/v1/alerts", async (_request, reply) =>
      reply.code(202).send({ id: "a", status: "new", count: 1 }),
    );
  }
  if (areas.approvals) {
    app.post("/v1/approvals", async (_request, reply) =>
      reply
        .code(202)
        .send({ id: "AAAAAAAAAAAAAAAA", status: "pending", expires_at: new Date().toISOString() }),
    );
    let polls = 0;
    app.get("/v1/approvals/:id", async () => ({
      id: "AAAAAAAAAAAAAAAA",
      status: ++polls < 2 ? "pending" : "approved",
    }));
  }
  if (areas.usage) {
    app.post("/v1/usage", async (request) => {
      const body = request.body as { input_tokens: number; output_tokens: number };
      used += body.input_tokens + body.output_tokens;
      return {
        action: "allow",
        budgets: [{ name: "daily_limit", pct: Math.min(100, (used / 100_000) * 100) }],
      };
    });
  }
  if (areas.breakers) {
    app.post("/v1/breakers/:name/report", async (request) => {
      const ok = (request.body as { ok: boolean }).ok;
      return ok
        ? { state: "closed", failures: 0 }
        : { state: "open", failures: 3, retry_at: new Date(Date.now() + 100).toISOString() };
    });
    app.get("/v1/breakers/:name/permit", async () => ({ allowed: true }));
  }
  await app.listen({ host: "127.0.0.1", port: 0 });
  cleanup.push(() => app.close());
  const address = app.server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return { url: `http://127.0.0.1:${address.port}`, calls };
}

describe("demo stream", () => {
  it("plays alerts, an approval the agent waits for, usage past 80 % and a breaker that recovers", async () => {
    const api = await fakeApi({ alerts: true, approvals: true, usage: true, breakers: true });
    const { log } = captureLogs();
    const demo = startDemo({ baseUrl: api.url, apiKey: KEY, log, speed: 1000, rounds: 1 });
    cleanup.push(() => demo.stop());
    await demo.done;

    expect(api.calls.every((call) => call.authorized)).toBe(true);
    const alerts = api.calls
      .filter((c) => c.url === "/v1/alerts")
      .map((c) => `${c.body.key}:${c.body.status ?? "firing"}`);
    expect(alerts).toEqual([
      "demo:latency:api-gateway:firing",
      "demo:errors:coder:firing",
      "demo:latency:api-gateway:firing",
      "demo:latency:api-gateway:firing",
      "demo:latency:api-gateway:firing",
      "demo:disk:runner-2:firing",
      "demo:latency:api-gateway:resolved",
      "demo:errors:coder:resolved",
    ]);
    const approval = api.calls.find((c) => c.url === "/v1/approvals");
    expect(approval?.body).toMatchObject({ agent: "coder", tool: "exec_command" });
    expect(api.calls.filter((c) => c.url.startsWith("/v1/approvals/AAAAAAAAAAAAAAAA?wait="))).toHaveLength(2);
    // Usage stops once a budget is past 80 %.
    const usage = api.calls.filter((c) => c.url === "/v1/usage");
    const tokens = usage.reduce(
      (sum, c) => sum + Number(c.body.input_tokens) + Number(c.body.output_tokens),
      0,
    );
    expect(tokens).toBeGreaterThanOrEqual(80_000);
    expect(
      tokens - Number(usage.at(-1)?.body.input_tokens) - Number(usage.at(-1)?.body.output_tokens),
    ).toBeLessThan(80_000);
    const breaker = api.calls.filter((c) => c.url.startsWith("/v1/breakers/openai"));
    expect(breaker.map((c) => (c.method === "GET" ? "permit" : c.body.ok ? "ok" : "fail"))).toEqual([
      "fail",
      "fail",
      "fail",
      "permit",
      "ok",
    ]);
  });

  it("skips each area whose endpoint answers 404, with one log line each, and goes on", async () => {
    const api = await fakeApi({ alerts: true });
    const { log, logs } = captureLogs();
    const demo = startDemo({ baseUrl: api.url, apiKey: KEY, log, speed: 1000, rounds: 2, roundPauseMs: 10 });
    cleanup.push(() => demo.stop());
    await demo.done;

    const skips = logs.parsed().filter((line) => String(line.msg).includes("answered 404"));
    expect(skips.map((line) => line.msg)).toEqual([
      "demo: POST /v1/approvals answered 404 (not in this build yet): skipping the approvals part of the demo",
      "demo: POST /v1/usage answered 404 (not in this build yet): skipping the usage part of the demo",
      "demo: POST /v1/breakers/openai/report answered 404 (not in this build yet): skipping the breakers part of the demo",
    ]);
    expect(api.calls.filter((c) => c.url === "/v1/approvals")).toHaveLength(1);
    expect(api.calls.filter((c) => c.url === "/v1/alerts")).toHaveLength(16);
    expect(logs.text()).not.toContain(KEY);
  });

  it("stops at once when pitwall shuts down", async () => {
    const api = await fakeApi({ alerts: true });
    const { log } = captureLogs();
    const demo = startDemo({ baseUrl: api.url, apiKey: KEY, log });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await demo.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(api.calls.length).toBeGreaterThan(0);
  });
});
