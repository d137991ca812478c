import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import {
  bearer,
  config,
  fakeClock,
  fakeHost,
  type Json,
  MINUTE,
  type OpsHarness,
  opsHarness,
  READER_KEY,
  truncateOps,
} from "./support.ts";

let tdb: TestDatabase;
let h: OpsHarness;
let server: Server;
let port = 0;
/** What the local service answers; a test changes it between runs. */
const service = { status: 200, body: "ok" };
const clock = fakeClock("2030-01-15T10:00:00Z");

beforeAll(async () => {
  tdb = await createTestDatabase();
  server = createServer((request, response) => {
    if (request.url === "/hang") return; // never answers
    response.writeHead(service.status, { "content-type": "text/plain" }).end(service.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await tdb?.drop();
});
beforeEach(async () => {
  await truncateOps(tdb.db);
  clock.set("2030-01-15T10:00:00Z");
  service.status = 200;
  service.body = "ok";
});
afterEach(async () => {
  await h?.close();
});

async function checks(): Promise<Json[]> {
  const response = await h.app.inject({ method: "GET", url: "/v1/checks", headers: bearer(READER_KEY) });
  expect(response.statusCode).toBe(200);
  return response.json().checks;
}

async function check(name: string): Promise<Json> {
  const found = (await checks()).find((entry) => entry.name === name);
  if (!found) throw new Error(`no check ${name}`);
  return found;
}

/** One interval later, the leader runs the check again. */
async function tick(name: string): Promise<void> {
  clock.advance(30_000);
  await h.runJob(`ops.check.${name}`);
}

describe("health checks", () => {
  it("alert after failure_threshold failures in a row, once; resolve on recovery", async () => {
    h = await opsHarness({
      db: tdb.db,
      clock,
      config: config(`
checks:
  - { name: api, http: "http://127.0.0.1:${port}/health", interval: 30s, timeout: 2s, failure_threshold: 3, expect_body: ok }
`),
    });
    expect(await check("api")).toMatchObject({
      status: "unknown",
      failure_threshold: 3,
      interval_ms: 30_000,
    });
    service.status = 500;
    await tick("api");
    await tick("api");
    expect(await check("api")).toMatchObject({
      status: "failing",
      consecutive_failures: 2,
      detail: "500 Internal Server Error",
    });
    expect(h.alerts.events).toEqual([]);
    await tick("api");
    await tick("api");
    expect(h.alerts.events).toHaveLength(1);
    expect(h.alerts.fired()[0]).toMatchObject({
      key: "check:api",
      severity: "critical",
      title: "Health check api (http) is down",
      text: "3 failures in a row; last: 500 Internal Server Error",
      source: "check",
      labels: { alertname: "HealthCheckFailing", check: "api", kind: "http" },
    });
    expect(await check("api")).toMatchObject({
      status: "down",
      consecutive_failures: 4,
      since: "2030-01-15T10:01:30.000Z",
    });

    service.status = 200;
    await tick("api");
    expect(h.alerts.resolved()).toEqual(["check:api"]);
    const up = await check("api");
    expect(up).toMatchObject({
      status: "up",
      consecutive_failures: 0,
      detail: "200 OK",
      last_ok_at: "2030-01-15T10:02:30.000Z",
    });
    expect(typeof up.latency_ms).toBe("number");
  });

  it("a check that fails now and then, never threshold times in a row, never alerts; a wrong body is a failure", async () => {
    h = await opsHarness({
      db: tdb.db,
      clock,
      config: config(`
checks:
  - { name: api, http: "http://127.0.0.1:${port}/health", expect_body: "ok", failure_threshold: 2 }
`),
    });
    for (const body of ["nope", "ok", "nope", "ok", "nope"]) {
      service.body = body;
      await tick("api");
    }
    expect(h.alerts.events).toEqual([]);
    expect(await check("api")).toMatchObject({
      status: "failing",
      detail: "200 OK, but the body does not contain the expected text",
    });
  });

  it("enforces timeouts: a hanging endpoint and a slow command fail with 'timed out'", async () => {
    h = await opsHarness({
      db: tdb.db,
      clock,
      config: config(`
checks:
  - { name: hang, http: "http://127.0.0.1:${port}/hang", timeout: 200ms }
  - { name: slow, command: [sleep, "30"], timeout: 200ms }
`),
    });
    await tick("hang");
    await tick("slow");
    expect(await check("hang")).toMatchObject({ status: "failing", detail: "timed out after 200 ms" });
    expect(await check("slow")).toMatchObject({ status: "failing", detail: "timed out after 200 ms" });
  });

  it("tcp, postgres, redis and command checks report up or the reason they are not", async () => {
    const badDb = new URL(tdb.url);
    badDb.port = "1";
    h = await opsHarness({
      db: tdb.db,
      clock,
      config: config(`
checks:
  - { name: port-open, tcp: "127.0.0.1:${port}" }
  - { name: port-closed, tcp: "127.0.0.1:1" }
  - { name: db, postgres: "${tdb.url}" }
  - { name: db-gone, postgres: "${badDb}" }
  - { name: cache-gone, redis: "redis://127.0.0.1:1", timeout: 2s }
  - { name: script-ok, command: "true" }
  - { name: script-fails, command: "echo 'migrations pending' >&2; exit 3" }
`),
    });
    for (const name of [
      "port-open",
      "port-closed",
      "db",
      "db-gone",
      "cache-gone",
      "script-ok",
      "script-fails",
    ]) {
      await h.runJob(`ops.check.${name}`);
    }
    const byName = Object.fromEntries((await checks()).map((entry) => [entry.name, entry]));
    expect(byName["port-open"]).toMatchObject({ kind: "tcp", status: "up", detail: "connected" });
    expect(byName["port-closed"]).toMatchObject({ kind: "tcp", status: "failing", detail: "ECONNREFUSED" });
    expect(byName.db).toMatchObject({ kind: "postgres", status: "up", detail: "select 1 ok" });
    expect(byName["db-gone"]).toMatchObject({ kind: "postgres", status: "failing", detail: "ECONNREFUSED" });
    expect(byName["cache-gone"]).toMatchObject({ kind: "redis", status: "failing" });
    expect(byName["script-ok"]).toMatchObject({ kind: "command", status: "up", detail: "exit 0" });
    expect(byName["script-fails"]).toMatchObject({ status: "failing", detail: "exit 3: migrations pending" });
  });

  it("disk and memory checks compare with their threshold (default: alerting.thresholds)", async () => {
    const host = fakeHost();
    h = await opsHarness({
      db: tdb.db,
      clock,
      options: { host },
      config: config(`
checks:
  - { name: data-disk, disk: /var/lib/data, failure_threshold: 1 }
  - { name: ram, memory: system, threshold: "> 50%", failure_threshold: 1 }
`),
    });
    host.diskRatio = 0.93;
    host.memoryAvailable = host.memoryTotal * 0.6;
    await h.runJob("ops.check.data-disk");
    await h.runJob("ops.check.ram");
    expect(await check("data-disk")).toMatchObject({ status: "down", detail: "disk 93 % > 90 %" });
    expect(await check("ram")).toMatchObject({ status: "up", detail: "memory 40 % used" });
    expect(h.alerts.fired().map((alert) => alert.key)).toEqual(["check:data-disk"]);
  });
});

describe("built-in thresholds", () => {
  it("host memory over 80 % alerts after the liveness threshold and resolves when it drops", async () => {
    const host = fakeHost();
    h = await opsHarness({ db: tdb.db, clock, options: { host }, config: config("") });
    host.memoryAvailable = host.memoryTotal * 0.1;
    for (let run = 0; run < 3; run++) {
      clock.advance(30_000);
      await h.runJob("ops.thresholds");
    }
    expect(h.alerts.fired()).toEqual([
      expect.objectContaining({
        key: "check:host:memory",
        severity: "warning",
        title: "Host memory > 80 %",
        text: "3 failures in a row; last: memory 90 % > 80 %",
      }),
    ]);
    expect(await check("host:disk")).toMatchObject({ status: "up", detail: "disk 40 % used" });
    host.memoryAvailable = host.memoryTotal * 0.5;
    await h.runJob("ops.thresholds");
    expect(h.alerts.resolved()).toEqual(["check:host:memory"]);
  });

  it("error rate over 5 % per service from breaker reports alerts; with too few calls nothing is judged", async () => {
    h = await opsHarness({ db: tdb.db, clock, config: config("") });
    const insert = (count: number, outcome: string) =>
      tdb.db.query(
        `insert into breaker_reports (name, at, outcome, latency_ms)
         select 'openai', $1::timestamptz - (g * interval '1 second'), $2, 100 from generate_series(1, $3) g`,
        [new Date(clock.ms()), outcome, count],
      );
    await insert(2, "failure");
    await h.runJob("ops.thresholds");
    expect((await checks()).map((entry) => entry.name)).not.toContain("service:openai:error_rate");

    await insert(18, "success");
    for (let run = 0; run < 3; run++) await h.runJob("ops.thresholds");
    expect(h.alerts.fired().map((alert) => alert.key)).toEqual(["check:service:openai:error_rate"]);
    expect(await check("service:openai:error_rate")).toMatchObject({
      kind: "service",
      status: "down",
      detail: "openai: errors 10 % > 5 %",
    });
    expect(await check("service:openai:latency_p99")).toMatchObject({ status: "up" });

    // The reports age out of the window: the service is judged fine again.
    clock.advance(10 * MINUTE);
    await h.runJob("ops.thresholds");
    expect(h.alerts.resolved()).toEqual(["check:service:openai:error_rate"]);
  });
});
