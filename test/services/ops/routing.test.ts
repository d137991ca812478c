import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import {
  ADMIN_KEY,
  bearer,
  CODER_KEY,
  config,
  fakeClock,
  type Json,
  type OpsHarness,
  opsHarness,
  truncateOps,
} from "./support.ts";

const YAML = `
routing:
  strategy: cost_aware
  providers:
    - { name: openai, models: [gpt-4, gpt-4o-mini], cost_per_1k: 0.03 }
    - { name: anthropic, models: [claude-opus, claude-haiku], cost_per_1k: 0.015 }
  complexity_thresholds: { high: gpt-4, low: [gpt-4o-mini, claude-haiku] }
  failover: { on_rate_limit: wait or next_provider }
cost_management:
  budgets:
    - { name: daily, limit: 1000 tokens, scope: per_provider }
checks:
  - { name: api, tcp: "127.0.0.1:1" }
`;

let tdb: TestDatabase;
let h: OpsHarness;
const clock = fakeClock("2030-01-15T10:00:00Z");

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  await truncateOps(tdb.db);
});
afterEach(async () => {
  await h?.close();
});

async function route(body?: object) {
  const response = await h.app.inject({
    method: "POST",
    url: "/v1/route",
    headers: bearer(CODER_KEY),
    ...(body === undefined ? {} : { payload: body }),
  });
  return { status: response.statusCode, body: response.json() as Json };
}

async function post(url: string, payload: object) {
  const response = await h.app.inject({ method: "POST", url, headers: bearer(ADMIN_KEY), payload });
  expect(response.statusCode).toBe(200);
}

describe("POST /v1/route", () => {
  it("orders providers by the strategy and picks the model for the complexity", async () => {
    h = await opsHarness({ db: tdb.db, clock, config: config(YAML) });
    const plain = await route();
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({
      provider: "anthropic",
      model: "claude-opus",
      fallbacks: [{ provider: "openai", model: "gpt-4" }],
      reason: "cost_aware: anthropic is the cheapest ($0.015 per 1k tokens)",
      skipped: [],
      failover: {
        on_error: ["next_provider"],
        on_timeout: ["next_provider"],
        on_rate_limit: ["wait", "next_provider"],
      },
    });
    const high = await route({ complexity: "high" });
    expect(high.body).toMatchObject({ provider: "openai", model: "gpt-4", tier: "high" });
    expect(high.body.reason).toContain("complexity high -> gpt-4");
    const low = await route({ complexity: "LOW" });
    expect(low.body).toMatchObject({ provider: "anthropic", model: "claude-haiku" });
    expect((await route({ complexity: "extreme" })).status).toBe(400);
  });

  it("skips providers whose breaker is open or whose budget is spent, and says so", async () => {
    h = await opsHarness({ db: tdb.db, clock, config: config(YAML) });
    for (let i = 0; i < 3; i++) await post("/v1/breakers/anthropic/report", { ok: false, status_code: 503 });
    const breakerOpen = await route();
    expect(breakerOpen.body).toMatchObject({
      provider: "openai",
      fallbacks: [],
      skipped: [{ provider: "anthropic", why: "breaker_open" }],
    });
    expect(breakerOpen.body.reason).toContain("skipped anthropic (breaker open)");

    await post("/v1/usage", { provider: "openai", input_tokens: 1000, output_tokens: 0 });
    const none = await route();
    expect(none.body).toMatchObject({ provider: null, model: null, fallbacks: [] });
    expect(none.body.reason).toBe("no provider available: openai (budget spent), anthropic (breaker open)");
  });
});

describe("metrics", () => {
  it("exports budget ratio, breaker state, mode and check status read from the database, and usage counters", async () => {
    h = await opsHarness({ db: tdb.db, clock, config: config(YAML) });
    await post("/v1/usage", { provider: "openai", model: "gpt-4", input_tokens: 400, output_tokens: 100 });
    for (let i = 0; i < 3; i++) await post("/v1/breakers/anthropic/report", { ok: false, status_code: 503 });
    await h.runJob("ops.check.api");
    const text = await (await h.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(text).toContain('pitwall_budget_ratio{budget="daily",key="openai"} 0.5');
    expect(text).toContain('pitwall_budget_ratio{budget="daily",key="anthropic"} 0');
    expect(text).toContain('pitwall_breaker_state{breaker="anthropic",state="open"} 1');
    expect(text).toContain('pitwall_breaker_state{breaker="openai",state="closed"} 1');
    expect(text).toContain('pitwall_mode{mode="FULL"} 1');
    expect(text).toContain('pitwall_mode{mode="MAINTENANCE"} 0');
    expect(text).toContain('pitwall_check_status{check="api",status="failing"} 1');
    expect(text).toContain('pitwall_usage_tokens_total{provider="openai",kind="input"} 400');
    expect(text).toContain('pitwall_usage_tokens_total{provider="openai",kind="output"} 100');
  });
});
