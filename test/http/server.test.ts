import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresCoordinator } from "../../src/coord/postgres.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { listAudit } from "../../src/store/audit.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { testRoutes } from "./routes.ts";
import {
  ADMIN_KEY,
  bearer,
  buildApp,
  CODER_KEY,
  memoryCoordinator,
  READER_KEY,
  type TestApp,
} from "./support.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

let t: TestDatabase;
let h: TestApp;

beforeAll(async () => {
  t = await createTestDatabase();
  h = await buildApp(t.db, { registerRoutes: [testRoutes(t.db)] });
});

afterAll(async () => {
  await h?.app.close();
  await t?.drop();
});

describe("probes", () => {
  it("/health answers while the process is up, without a key", async () => {
    const res = await h.app.inject({ method: "GET", url: "/health" });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: "ok", components: [] });
  });

  it("/ready is 200 with a degraded component in its body, and only the database can fail it", async () => {
    const { app } = await buildApp(t.db, {
      components: () => [
        { name: "telegram", state: "degraded", detail: "429 from Bot API, retrying" },
        { name: "coordination", state: "ok" },
      ],
    });
    try {
      const res = await app.inject({ method: "GET", url: "/ready" });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({
        status: "degraded",
        components: [
          { name: "database", state: "ok" },
          { name: "telegram", state: "degraded", detail: "429 from Bot API, retrying" },
          { name: "coordination", state: "ok" },
        ],
      });
      const plain = await h.app.inject({ method: "GET", url: "/ready" });
      expect(plain.json()).toEqual({ status: "ready", components: [{ name: "database", state: "ok" }] });
    } finally {
      await app.close();
    }
  });

  it("/healthz is 503 until startup completes, then 200", async () => {
    let started = false;
    const { app } = await buildApp(t.db, {
      startupComplete: () => started,
      components: () => [{ name: "telegram", state: started ? "ok" : "starting" }],
    });
    try {
      const before = await app.inject({ method: "GET", url: "/healthz" });
      expect(before.statusCode).toBe(503);
      expect(before.json()).toEqual({
        status: "starting",
        components: [{ name: "telegram", state: "starting" }],
      });
      started = true;
      const after = await app.inject({ method: "GET", url: "/healthz" });
      expect(after.statusCode).toBe(200);
      expect(after.json()).toMatchObject({ status: "started" });
    } finally {
      await app.close();
    }
  });

  it("/metrics serves Prometheus text with the HTTP latency histogram and process metrics", async () => {
    await h.app.inject({ method: "GET", url: "/health" });
    const res = await h.app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.body).toMatch(
      /pitwall_http_request_duration_seconds_count\{method="GET",route="\/health",status="200"\} \d+/,
    );
    expect(res.body).toContain("pitwall_process_cpu_user_seconds_total");
    expect(res.body).toContain("pitwall_nodejs_heap_size_used_bytes");
  });
});

describe("API keys", () => {
  it("/v1/whoami names the key, its scopes and agents", async () => {
    const coder = await h.app.inject({ method: "GET", url: "/v1/whoami", headers: bearer(CODER_KEY) });
    expect(coder.statusCode).toBe(200);
    expect(coder.json()).toEqual({
      key: "coder-bot",
      scopes: ["alerts", "approvals", "usage", "read"],
      agents: ["coder"],
    });
    const admin = await h.app.inject({
      method: "GET",
      url: "/v1/whoami",
      headers: { "x-api-key": ADMIN_KEY },
    });
    expect(admin.json()).toEqual({ key: "admin", scopes: ["all"], agents: null });
    const lower = await h.app.inject({
      method: "GET",
      url: "/v1/whoami",
      headers: { authorization: `bearer  ${READER_KEY}` },
    });
    expect(lower.json()).toMatchObject({ key: "reader" });
  });

  it("answers a missing or wrong key with 401, audits it, and never logs the key", async () => {
    const wrongKey = "pw_wrong_5e5e5e5e5e5e5e5e";
    const missing = await h.app.inject({ method: "GET", url: "/v1/whoami", remoteAddress: "198.51.100.7" });
    expect(missing.statusCode).toBe(401);
    expect(missing.headers["www-authenticate"]).toBe("Bearer");
    expect(missing.json()).toEqual({
      error: "unauthorized",
      message: "missing or invalid API key; send Authorization: Bearer <key>",
    });
    const wrong = await h.app.inject({
      method: "POST",
      url: "/v1/test/echo?api_key=in-the-query",
      headers: { ...bearer(wrongKey), traceparent: TRACEPARENT },
      remoteAddress: "198.51.100.7",
      payload: { agent: "coder" },
    });
    expect(wrong.statusCode).toBe(401);
    const basic = await h.app.inject({
      method: "GET",
      url: "/v1/whoami",
      headers: { authorization: "Basic dXNlcjpwYXNz" },
      remoteAddress: "198.51.100.7",
    });
    expect(basic.statusCode).toBe(401);
    // The right key works, and is not logged either.
    await h.app.inject({ method: "GET", url: "/v1/whoami", headers: bearer(CODER_KEY) });

    const rows = (await listAudit(t.db, { action: "api.auth_failed" })).filter(
      (r) => r.actor_id === "198.51.100.7",
    );
    expect(rows.map((r) => r.details.reason)).toEqual(["invalid", "invalid", "missing"]);
    const echoRow = rows.find((r) => r.details.route === "/v1/test/echo");
    expect(echoRow).toMatchObject({
      actor_type: "stranger",
      trace_id: TRACE_ID,
      target: "POST /v1/test/echo",
    });
    const everything = JSON.stringify(rows);
    for (const secret of [wrongKey, CODER_KEY, "dXNlcjpwYXNz", "in-the-query"]) {
      expect(h.logs.text()).not.toContain(secret);
      expect(everything).not.toContain(secret);
    }
    // The access log keeps the query's shape but not its secret.
    expect(h.logs.text()).toContain("/v1/test/echo?api_key=%5BREDACTED%5D");
  });

  it("answers a key lacking a scope or acting for another agent with 403", async () => {
    const scope = await h.app.inject({
      method: "POST",
      url: "/v1/test/echo",
      headers: bearer(READER_KEY),
      payload: { agent: "coder" },
    });
    expect(scope.statusCode).toBe(403);
    expect(scope.json()).toMatchObject({ error: "forbidden", message: 'key reader lacks scope "alerts"' });

    const admin = await h.app.inject({ method: "GET", url: "/v1/test/admin", headers: bearer(CODER_KEY) });
    expect(admin.statusCode).toBe(403);
    expect(
      (await h.app.inject({ method: "GET", url: "/v1/test/admin", headers: bearer(ADMIN_KEY) })).statusCode,
    ).toBe(200);

    const agent = await h.app.inject({
      method: "POST",
      url: "/v1/test/echo",
      headers: bearer(CODER_KEY),
      payload: { agent: "reader" },
    });
    expect(agent.statusCode).toBe(403);
    expect(agent.json()).toMatchObject({
      error: "forbidden",
      message: "key coder-bot may not act for agent reader",
    });

    const ok = await h.app.inject({
      method: "POST",
      url: "/v1/test/echo",
      headers: bearer(CODER_KEY),
      payload: { agent: "coder" },
    });
    expect(ok.statusCode).toBe(200);
  });
});

describe("per-key rate limit (api.key_rate_limit)", () => {
  it("limits each key across instances with 429 and Retry-After; other keys and unset limits are untouched", async () => {
    const coordA = await createPostgresCoordinator({ db: t.db, url: t.url, log: silentLogger() });
    const coordB = await createPostgresCoordinator({ db: t.db, url: t.url, log: silentLogger() });
    const keyRateLimit = { count: 4, perMs: 60_000 };
    const a = await buildApp(t.db, { coord: coordA, keyRateLimit });
    const b = await buildApp(t.db, { coord: coordB, keyRateLimit });
    try {
      const whoami = (h: TestApp, key: string) =>
        h.app.inject({ method: "GET", url: "/v1/whoami", headers: bearer(key) });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await whoami(i % 2 === 0 ? a : b, CODER_KEY);
        statuses.push(res.statusCode);
        if (res.statusCode === 429) {
          expect(Number(res.headers["retry-after"])).toBeGreaterThanOrEqual(1);
          expect(res.json()).toMatchObject({ error: "rate_limited" });
          expect(res.json().message).toContain("4 requests per minute");
        }
      }
      // The burst of four is shared by both instances; the next ones wait.
      expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
      expect((await whoami(a, READER_KEY)).statusCode).toBe(200); // another key has its own budget
      // Without api.key_rate_limit (the default) a valid key is never throttled.
      for (let i = 0; i < 10; i++) expect((await whoami(h, CODER_KEY)).statusCode).toBe(200);
    } finally {
      await a.app.close();
      await b.app.close();
      await coordA.close();
      await coordB.close();
    }
  });
});

describe("failed-authentication limit", () => {
  it("answers 429 past the limit for that address, counted across instances, while a valid key still works", async () => {
    // Two instances on one database, each with its own Postgres coordinator: the count is shared.
    const coordA = await createPostgresCoordinator({ db: t.db, url: t.url, log: silentLogger() });
    const coordB = await createPostgresCoordinator({ db: t.db, url: t.url, log: silentLogger() });
    const limit = { count: 3, perMs: 60_000 };
    const a = await buildApp(t.db, { coord: coordA, failedAuthLimit: limit });
    const b = await buildApp(t.db, { coord: coordB, failedAuthLimit: limit });
    const client = "203.0.113.50";
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const instance = i % 2 === 0 ? a : b;
        const res = await instance.app.inject({
          method: "GET",
          url: "/v1/whoami",
          headers: bearer(`guess-${i}`),
          remoteAddress: client,
        });
        statuses.push(res.statusCode);
        if (res.statusCode === 429) {
          expect(res.headers["retry-after"]).toBe("60");
          expect(res.json()).toMatchObject({ error: "too_many_failed_auth" });
        }
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);

      for (const instance of [a, b]) {
        const valid = await instance.app.inject({
          method: "GET",
          url: "/v1/whoami",
          headers: bearer(CODER_KEY),
          remoteAddress: client,
        });
        expect(valid.statusCode).toBe(200);
      }

      // Another address is unaffected.
      const other = await a.app.inject({ method: "GET", url: "/v1/whoami", remoteAddress: "203.0.113.51" });
      expect(other.statusCode).toBe(401);

      // Audited: the three 401s and the first 429 of the window, not the flood after it.
      const rows = (await listAudit(t.db, { action: "api.auth_failed" })).filter(
        (r) => r.actor_id === client,
      );
      expect(rows).toHaveLength(4);
      expect(rows.filter((r) => r.details.rate_limited === true)).toHaveLength(1);
      // Every refusal is counted in the metric, flood included (4 on a, with the other address; 3 on b).
      const countOf = async (h: TestApp) =>
        (await h.metrics.registry.getSingleMetric("pitwall_auth_failures_total")?.get())?.values[0]?.value;
      expect(await countOf(a)).toBe(4);
      expect(await countOf(b)).toBe(3);
    } finally {
      await a.app.close();
      await b.app.close();
      await coordA.close();
      await coordB.close();
    }
  });

  it("takes the client address from X-Forwarded-For only with trust_proxy", async () => {
    const limit = { count: 2, perMs: 60_000 };
    const direct = await buildApp(t.db, { failedAuthLimit: limit });
    const proxied = await buildApp(t.db, { failedAuthLimit: limit, trustProxy: true });
    try {
      // Without trust_proxy, rotating X-Forwarded-For does not escape the limit.
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await direct.app.inject({
          method: "GET",
          url: "/v1/whoami",
          headers: { "x-forwarded-for": `192.0.2.${i}` },
          remoteAddress: "10.9.9.9",
        });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([401, 401, 429]);

      // Behind a trusted proxy each forwarded client has its own count.
      const forwarded: number[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await proxied.app.inject({
          method: "GET",
          url: "/v1/whoami",
          headers: { "x-forwarded-for": `192.0.2.${100 + i}` },
          remoteAddress: "10.8.8.8",
        });
        forwarded.push(res.statusCode);
      }
      expect(forwarded).toEqual([401, 401, 401]);

      const actors = (await listAudit(t.db, { action: "api.auth_failed" })).map((r) => r.actor_id);
      expect(actors).toContain("10.9.9.9");
      expect(actors).not.toContain("192.0.2.0");
      expect(actors).toEqual(expect.arrayContaining(["192.0.2.100", "192.0.2.101", "192.0.2.102"]));
      expect(actors).not.toContain("10.8.8.8");
    } finally {
      await direct.app.close();
      await proxied.app.close();
    }
  });

  it("still refuses with 401 when the failure counter cannot be reached", async () => {
    const failing = memoryCoordinator();
    failing.failing = true;
    const broken = await buildApp(t.db, { coord: failing });
    try {
      const res = await broken.app.inject({ method: "GET", url: "/v1/whoami", headers: bearer("nope") });
      expect(res.statusCode).toBe(401);
      expect(broken.logs.text()).toContain("could not count a failed authentication");
    } finally {
      await broken.app.close();
    }
  });
});

describe("bad requests", () => {
  const post = (payload: string, headers: Record<string, string> = {}) =>
    h.app.inject({
      method: "POST",
      url: "/v1/test/echo",
      headers: { ...bearer(CODER_KEY), "content-type": "application/json", ...headers },
      payload,
    });

  it("accepts JSON with a charset parameter", async () => {
    const res = await post(JSON.stringify({ agent: "coder" }), {
      "content-type": "application/json; charset=utf-8",
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true, body: { agent: "coder" } });
  });

  it("answers malformed JSON with 400 invalid_json", async () => {
    const res = await post('{"agent": "coder",');
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ error: "invalid_json", message: "the body is not valid JSON" });
    const poisoned = await post('{"agent":"coder","__proto__":{"admin":true}}');
    expect(poisoned.statusCode).toBe(400);
  });

  it("answers an empty JSON body with a clear 400", async () => {
    const res = await post("");
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({
      error: "invalid_json",
      message: expect.stringMatching(/body is empty/),
    });
    const none = await h.app.inject({ method: "POST", url: "/v1/test/echo", headers: bearer(CODER_KEY) });
    expect(none.statusCode).toBe(400);
    expect(none.json()).toMatchObject({
      error: "invalid_request",
      message: expect.stringMatching(/JSON body is required/),
    });
  });

  it("answers schema errors with 400 naming the field path", async () => {
    const res = await post(
      JSON.stringify({ agent: "coder", labels: { env: 5 }, items: [{ title: "a" }, {}] }),
    );
    expect(res.statusCode).toBe(400);
    const body = res.json();
    expect(body.error).toBe("invalid_request");
    expect(body.message).toMatch(/^body\.labels\.env: .*expected string.* \(and 1 more\)$/);
    expect(body.details).toEqual([
      { path: "body.labels.env", message: expect.stringMatching(/expected string/) },
      { path: "body.items[1].title", message: expect.stringMatching(/expected string/) },
    ]);
  });

  it("answers a body over 1 MB with 413 naming the limit", async () => {
    const big = JSON.stringify({ agent: "coder", labels: { blob: "x".repeat(1_100_000) } });
    const res = await post(big);
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({
      error: "payload_too_large",
      message: expect.stringContaining("1 MB"),
      details: { limit_bytes: 1_048_576 },
    });
  });

  it("authenticates before reading the body: a stranger's big body gets 401, not 413", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/test/echo",
      headers: { "content-type": "application/json" },
      payload: "x".repeat(1_100_000),
    });
    expect(res.statusCode).toBe(401);
  });

  it("answers a non-JSON content type with 415", async () => {
    const res = await post("agent=coder", { "content-type": "text/plain" });
    expect(res.statusCode).toBe(415);
    expect(res.json()).toMatchObject({ error: "unsupported_media_type" });
    const form = await post("agent=coder", { "content-type": "application/x-www-form-urlencoded" });
    expect(form.statusCode).toBe(415);
  });

  it("answers unknown routes with 404 in the error shape", async () => {
    const res = await h.app.inject({ method: "GET", url: "/v2/nothing?token=abc" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: "not_found", message: "no route GET /v2/nothing" });
    const wrongMethod = await h.app.inject({ method: "DELETE", url: "/health" });
    expect(wrongMethod.statusCode).toBe(404);
  });

  it("answers a malformed URL with 400", async () => {
    const res = await h.app.inject({ method: "GET", url: "/v1/test/%E0%A4%A" });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: "bad_request" });
  });

  it("answers an unexpected error with a generic 500 carrying the trace id; the detail stays in the log", async () => {
    const res = await h.app.inject({
      method: "GET",
      url: "/v1/test/boom",
      headers: { ...bearer(ADMIN_KEY), traceparent: TRACEPARENT },
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toEqual({
      error: "internal",
      message: `internal error; quote trace id ${TRACE_ID} when reporting it`,
      details: { trace_id: TRACE_ID },
    });
    expect(res.body).not.toContain("hunter2");
    const logged = h.logs.parsed().find((l) => l.msg === "request failed");
    expect(logged).toMatchObject({ trace_id: TRACE_ID, level: "error" });
  });
});

describe("tracing", () => {
  it("carries the traceparent trace id into logs, audit rows written by handlers, and the response", async () => {
    const res = await h.app.inject({
      method: "POST",
      url: "/v1/test/audit",
      headers: { ...bearer(CODER_KEY), traceparent: TRACEPARENT, "x-request-id": "req-42" },
      payload: { any: "body" },
    });
    expect(res.statusCode).toBe(202);
    expect(res.headers.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));
    expect(res.headers["x-request-id"]).toBe("req-42");
    const [row] = await listAudit(t.db, { action: "test.audit" });
    expect(row).toMatchObject({ actor_type: "api_key", actor_id: "coder-bot", trace_id: TRACE_ID });
    const line = h.logs
      .parsed()
      .find((l) => l.msg === "request completed" && l.url === "/v1/test/audit" && l.req_id === "req-42");
    expect(line).toMatchObject({ trace_id: TRACE_ID, status: 202, method: "POST", route: "/v1/test/audit" });
    expect(typeof line?.duration_ms).toBe("number");
  });

  it("starts a new trace when there is no valid traceparent, and echoes it even on errors", async () => {
    const res = await h.app.inject({ method: "GET", url: "/nowhere", headers: { traceparent: "garbage" } });
    expect(res.statusCode).toBe(404);
    expect(res.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(res.headers.traceparent).not.toContain("garbage");
  });

  it("never logs request headers", async () => {
    await h.app.inject({ method: "GET", url: "/health", headers: { cookie: "session=s3cr3t-cookie" } });
    expect(h.logs.text()).not.toContain("s3cr3t-cookie");
  });
});
