import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listAudit } from "../../../src/store/audit.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import {
  ADMIN_KEY,
  bearer,
  CODER_KEY,
  config,
  fakeClock,
  type Json,
  MINUTE,
  type OpsHarness,
  opsHarness,
  READER_KEY,
  truncateOps,
} from "./support.ts";

const YAML = `
circuit_breaker:
  failure_threshold: 3-5 consecutive failures
  timeout: 15-60 minutes
  open_severity: critical
  breakers: [openai]
`;

let tdb: TestDatabase;
const harnesses: OpsHarness[] = [];
const clock = fakeClock("2030-01-15T10:00:00Z");
const T0 = Date.parse("2030-01-15T10:00:00Z");

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  await truncateOps(tdb.db);
  clock.set(T0);
});
afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.close()));
});

async function instance(yaml = YAML): Promise<OpsHarness> {
  const h = await opsHarness({ db: tdb.db, config: config(yaml), clock });
  harnesses.push(h);
  return h;
}

async function report(h: OpsHarness, name: string, body: object, key = ADMIN_KEY) {
  const response = await h.app.inject({
    method: "POST",
    url: `/v1/breakers/${name}/report`,
    headers: bearer(key),
    payload: body,
  });
  return { status: response.statusCode, body: response.json() as Json };
}

async function permit(h: OpsHarness, name: string) {
  const response = await h.app.inject({
    method: "GET",
    url: `/v1/breakers/${name}/permit`,
    headers: bearer(ADMIN_KEY),
  });
  return { status: response.statusCode, body: response.json() as Json };
}

async function transitions() {
  return (await listAudit(tdb.db, { action: "breaker.transition" })).reverse().map((row) => row.details);
}

describe("circuit breakers over HTTP", () => {
  it("open after 3 consecutive failures (5xx, 429, timeouts); other 4xx neither count nor reset; one alert, one audit row", async () => {
    const h = await instance();
    expect((await report(h, "openai", { ok: false, status_code: 503 })).body).toEqual({
      state: "closed",
      failures: 1,
    });
    expect((await report(h, "openai", { ok: false, status_code: 404 })).body).toEqual({
      state: "closed",
      failures: 1,
    });
    expect((await report(h, "openai", { ok: false, status_code: 429 })).body).toEqual({
      state: "closed",
      failures: 2,
    });
    const opened = await report(h, "openai", { ok: false, error: "ETIMEDOUT", latency_ms: 30_000 });
    expect(opened.body).toEqual({
      state: "open",
      failures: 3,
      opened_at: "2030-01-15T10:00:00.000Z",
      retry_at: "2030-01-15T10:15:00.000Z",
    });
    // Calls already under way when it opened change nothing.
    expect((await report(h, "openai", { ok: false, status_code: 500 })).body.state).toBe("open");

    expect(h.alerts.events).toHaveLength(1);
    expect(h.alerts.fired()[0]).toMatchObject({
      key: "breaker:openai",
      severity: "critical",
      title: "Circuit breaker openai is open",
      text: "3 consecutive failures; next probe in 15 min",
      source: "breaker",
      labels: { alertname: "CircuitBreakerOpen", breaker: "openai" },
    });
    const audit = await listAudit(tdb.db, { action: "breaker.transition" });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor_type: "api_key", actor_id: "admin", target: "breaker:openai" });
    expect(audit[0]!.details).toMatchObject({ from: "closed", to: "open", reason: "failure_threshold" });

    const list = await h.app.inject({ method: "GET", url: "/v1/breakers", headers: bearer(READER_KEY) });
    expect(list.json()).toEqual({
      breakers: [
        {
          name: "openai",
          state: "open",
          failures: 3,
          opened_at: "2030-01-15T10:00:00.000Z",
          retry_at: "2030-01-15T10:15:00.000Z",
        },
      ],
    });
  });

  it("a success resets the count; configured breakers are listed before any report", async () => {
    const h = await instance(`${YAML.replace("[openai]", "[openai, anthropic]")}`);
    await report(h, "openai", { ok: false, status_code: 500 });
    await report(h, "openai", { ok: false, status_code: 500 });
    expect((await report(h, "openai", { ok: true, status_code: 200, latency_ms: 120 })).body.failures).toBe(
      0,
    );
    await report(h, "openai", { ok: false, status_code: 500 });
    expect((await report(h, "openai", { ok: false, status_code: 500 })).body.state).toBe("closed");
    const list = await h.app.inject({ method: "GET", url: "/v1/breakers", headers: bearer(READER_KEY) });
    expect(list.json().breakers).toEqual([
      { name: "anthropic", state: "closed", failures: 0 },
      { name: "openai", state: "closed", failures: 2 },
    ]);
  });

  it("concurrent reports from two instances on one database make exactly one transition", async () => {
    const [a, b] = [await instance(), await instance()];
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        report(i % 2 === 0 ? a : b, "openai", { ok: false, status_code: 502 }),
      ),
    );
    expect(results.every((result) => result.status === 200)).toBe(true);
    expect(
      results
        .filter((result) => result.body.state === "closed")
        .map((result) => result.body.failures)
        .sort(),
    ).toEqual([1, 2]);
    expect([...a.alerts.fired(), ...b.alerts.fired()]).toHaveLength(1);
    expect(await transitions()).toHaveLength(1);
  });

  it("half-open grants one 30 s probe lease at a time across instances; the probe's success closes and resolves", async () => {
    const [a, b] = [await instance(), await instance()];
    expect((await permit(a, "openai")).body).toEqual({ allowed: true, state: "closed" });
    for (let i = 0; i < 3; i++) await report(a, "openai", { ok: false, status_code: 500 });
    expect((await permit(b, "openai")).body).toEqual({
      allowed: false,
      state: "open",
      retry_at: "2030-01-15T10:15:00.000Z",
      reason: "open",
    });

    clock.set("2030-01-15T10:15:00Z");
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => permit(i % 2 === 0 ? a : b, "openai")),
    );
    const granted = answers.filter((answer) => answer.body.allowed);
    expect(granted).toHaveLength(1);
    expect(granted[0]!.body).toEqual({
      allowed: true,
      state: "half_open",
      lease_until: "2030-01-15T10:15:30.000Z",
    });
    for (const refused of answers.filter((answer) => !answer.body.allowed)) {
      expect(refused.body).toEqual({
        allowed: false,
        state: "half_open",
        retry_at: "2030-01-15T10:15:30.000Z",
        reason: "probe_in_flight",
      });
    }

    // A probe that never reports loses its lease after 30 s; the next caller gets it.
    clock.advance(31_000);
    expect((await permit(b, "openai")).body.allowed).toBe(true);
    expect((await permit(a, "openai")).body.allowed).toBe(false);

    const closed = await report(b, "openai", { ok: true, status_code: 200 });
    expect(closed.body).toEqual({ state: "closed", failures: 0 });
    const events = [...a.alerts.events, ...b.alerts.events];
    expect(events.filter((event) => event.type === "fire")).toHaveLength(1);
    expect(events.filter((event) => event.type === "resolve")).toEqual([
      { type: "resolve", key: "breaker:openai", note: "circuit breaker openai closed: probe succeeded" },
    ]);
    expect((await transitions()).map((details) => `${details.from}->${details.to}`)).toEqual([
      "closed->open",
      "open->half_open",
      "half_open->closed",
    ]);
  });

  it("a failed probe opens it again with a doubled cooldown and a second alert", async () => {
    const h = await instance();
    for (let i = 0; i < 3; i++) await report(h, "openai", { ok: false, status_code: 500 });
    clock.advance(15 * MINUTE);
    expect((await permit(h, "openai")).body.allowed).toBe(true);
    const reopened = await report(h, "openai", { ok: false, status_code: 500 });
    expect(reopened.body.state).toBe("open");
    expect(reopened.body.retry_at).toBe("2030-01-15T10:45:00.000Z");
    expect(h.alerts.fired().map((alert) => alert.text)).toEqual([
      "3 consecutive failures; next probe in 15 min",
      "probe failed; next probe in 30 min",
    ]);
  });

  it("refuses odd breaker names and bodies with 400, and keys without the breakers scope with 403", async () => {
    const h = await instance();
    for (const name of ["a".repeat(65), "bad%20name", "b%C3%A4d", "semi%3Bcolon", "-dash", ".hidden"]) {
      const result = await report(h, name, { ok: false });
      expect(result.status, name).toBe(400);
      expect(result.body.message).toContain("params.name");
      expect((await permit(h, name)).status).toBe(400);
    }
    expect((await report(h, "a".repeat(64), { ok: true })).status).toBe(200);
    expect((await report(h, "openai", { ok: "yes" })).status).toBe(400);
    expect((await report(h, "openai", { ok: false, status_code: 700 })).status).toBe(400);
    expect((await report(h, "openai", { ok: false }, CODER_KEY)).status).toBe(403);
    expect(
      (await tdb.db.query("select count(*)::int as n from breakers where name = 'openai'")).rows[0].n,
    ).toBe(0);
  });
});

describe("active probes", () => {
  let server: Server;
  let status = 503;
  let hits = 0;

  beforeAll(async () => {
    server = createServer((_request, response) => {
      hits++;
      response.writeHead(status).end("ok");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it("while half-open the leader tries probe_url; failure re-opens, success closes; a closed breaker is left alone", async () => {
    const port = (server.address() as AddressInfo).port;
    const h = await instance(`
circuit_breaker:
  breakers:
    - { name: vendor, probe_url: "http://127.0.0.1:${port}/health", probe_interval: 1m }
`);
    hits = 0;
    await h.runJob("ops.breaker-probe.vendor");
    expect(hits).toBe(0);

    for (let i = 0; i < 3; i++) await report(h, "vendor", { ok: false, status_code: 500 });
    await h.runJob("ops.breaker-probe.vendor");
    expect(hits).toBe(0); // still cooling down

    clock.advance(15 * MINUTE);
    status = 503;
    await h.runJob("ops.breaker-probe.vendor");
    expect(hits).toBe(1);
    const list = async () =>
      (await h.app.inject({ method: "GET", url: "/v1/breakers", headers: bearer(READER_KEY) })).json()
        .breakers[0];
    expect(await list()).toMatchObject({
      name: "vendor",
      state: "open",
      retry_at: "2030-01-15T10:45:00.000Z",
    });

    clock.advance(30 * MINUTE);
    status = 200;
    await h.runJob("ops.breaker-probe.vendor");
    expect(hits).toBe(2);
    expect(await list()).toEqual({ name: "vendor", state: "closed", failures: 0 });
    expect(h.alerts.resolved()).toEqual(["breaker:vendor"]);
    const audit = await listAudit(tdb.db, { action: "breaker.transition" });
    expect(audit[0]).toMatchObject({ actor_type: "system" });
  });
});
