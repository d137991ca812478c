import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import {
  ADMIN_KEY,
  bearer,
  CODER_KEY,
  config,
  fakeClock,
  HOUR,
  type Json,
  MINUTE,
  type OpsHarness,
  opsHarness,
  READER_KEY,
  truncateOps,
} from "./support.ts";

const BASE = `
digest: { timezone: Asia/Tokyo }
cost_management:
  budgets:
    - { name: daily_limit, limit: 100000 tokens, scope: per_provider, alert_threshold: 80%, action: switch_provider or alert }
    - { name: monthly_limit, limit: 3000000 tokens, scope: global, reset: 1st of month }
  prices: { "gpt-4": { input_per_1k: 0.03, output_per_1k: 0.06 } }
routing:
  providers:
    - { name: openai, models: [gpt-4, gpt-4o-mini] }
    - { name: anthropic, models: [claude-opus, claude-haiku] }
`;

let tdb: TestDatabase;
let h: OpsHarness;
const clock = fakeClock("2030-01-15T10:00:00Z"); // 19:00 in Tokyo

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  await truncateOps(tdb.db);
  clock.set("2030-01-15T10:00:00Z");
});
afterEach(async () => {
  await h?.close();
});

async function post(body: unknown, key = ADMIN_KEY) {
  const response = await h.app.inject({
    method: "POST",
    url: "/v1/usage",
    headers: bearer(key),
    payload: body as object,
  });
  return { status: response.statusCode, body: response.json() as Json };
}

function budget(answer: Json, name: string): Json {
  const found = (answer.budgets as Json[]).find((entry) => entry.name === name);
  if (!found) throw new Error(`no budget ${name} in ${JSON.stringify(answer)}`);
  return found;
}

describe("POST /v1/usage", () => {
  it("records a request and answers with every budget it counts against, reset times in the configured zone", async () => {
    h = await opsHarness({ db: tdb.db, config: config(BASE), clock });
    const { status, body } = await post({
      provider: "openai",
      model: "gpt-4",
      agent: "coder",
      input_tokens: 1000,
      output_tokens: 500,
    });
    expect(status).toBe(200);
    expect(body).toEqual({
      action: "allow",
      budgets: [
        {
          name: "daily_limit",
          scope: "per_provider",
          key: "openai",
          unit: "tokens",
          used: 1500,
          limit: 100000,
          pct: 1.5,
          window: "daily",
          // Midnight in Tokyo (UTC+9).
          resets_at: "2030-01-15T15:00:00.000Z",
        },
        {
          name: "monthly_limit",
          scope: "global",
          key: "*",
          unit: "tokens",
          used: 1500,
          limit: 3000000,
          pct: 0,
          window: "monthly",
          resets_at: "2030-01-31T15:00:00.000Z",
        },
      ],
    });
    // Cost from the price list: 1000 × 0.03/1k + 500 × 0.06/1k.
    const event = await tdb.db.query("select cost_usd::float8 as cost, cost_source from usage_events");
    expect(event.rows).toEqual([{ cost: 0.06, cost_source: "prices" }]);
    const hourly = await tdb.db.query(
      "select provider, model, agent, requests, tokens_spent from usage_hourly",
    );
    expect(hourly.rows).toEqual([
      { provider: "openai", model: "gpt-4", agent: "coder", requests: 1, tokens_spent: 1500 },
    ]);
  });

  it("takes cost_usd when sent, and counts a cached answer as saved tokens, not spent", async () => {
    h = await opsHarness({ db: tdb.db, config: config(BASE), clock });
    await post({ provider: "openai", model: "gpt-4", input_tokens: 1000, output_tokens: 0, cost_usd: 1.25 });
    const cached = await post({
      provider: "openai",
      model: "gpt-4",
      input_tokens: 4000,
      output_tokens: 1000,
      cached: true,
    });
    expect(budget(cached.body, "daily_limit").used).toBe(1000);
    const { rows } = await tdb.db.query(
      "select sum(tokens_spent)::int as spent, sum(tokens_saved)::int as saved, sum(cost_usd)::float8 as cost, sum(cached_requests)::int as cached from usage_hourly",
    );
    expect(rows[0]).toEqual({ spent: 1000, saved: 5000, cost: 1.25, cached: 1 });
    const metrics = await h.metrics.registry.metrics();
    expect(metrics).toContain('pitwall_usage_tokens_total{provider="openai",kind="saved"} 5000');
    expect(metrics).toContain('pitwall_usage_cost_usd_total{provider="openai"} 1.25');
  });

  it("accepts an unknown provider and reports it under its own name, with the per-provider budget applied", async () => {
    h = await opsHarness({ db: tdb.db, config: config(BASE), clock });
    const { status, body } = await post({ provider: "mistral-local", input_tokens: 10, output_tokens: 5 });
    expect(status).toBe(200);
    expect(budget(body, "daily_limit")).toMatchObject({ key: "mistral-local", used: 15 });
    const list = await h.app.inject({ method: "GET", url: "/v1/budgets", headers: bearer(READER_KEY) });
    const keys = (list.json().budgets as Array<{ name: string; key: string }>).map(
      (entry) => `${entry.name}:${entry.key}`,
    );
    expect(keys.sort()).toEqual([
      "daily_limit:anthropic",
      "daily_limit:mistral-local",
      "daily_limit:openai",
      "monthly_limit:*",
    ]);
  });

  it("refuses negative or fractional token counts and missing fields with 400 naming the field; nothing is recorded", async () => {
    h = await opsHarness({ db: tdb.db, config: config(BASE), clock });
    const cases: Array<[unknown, string]> = [
      [{ provider: "openai", input_tokens: -1, output_tokens: 0 }, "body.input_tokens"],
      [{ provider: "openai", input_tokens: 1.5, output_tokens: 0 }, "body.input_tokens"],
      [{ provider: "openai", input_tokens: 1, output_tokens: "2" }, "body.output_tokens"],
      [{ input_tokens: 1, output_tokens: 2 }, "body.provider"],
      [{ provider: " ", input_tokens: 1, output_tokens: 2 }, "body.provider"],
      [{ provider: "openai", input_tokens: 1, output_tokens: 2, cost_usd: -3 }, "body.cost_usd"],
    ];
    for (const [payload, path] of cases) {
      const { status, body } = await post(payload);
      expect(status, JSON.stringify(payload)).toBe(400);
      expect(body.error).toBe("invalid_request");
      expect(body.message).toContain(path);
    }
    expect((await tdb.db.query("select count(*)::int as n from usage_events")).rows[0].n).toBe(0);
  });

  it("needs the usage scope, and an agent the key may act for", async () => {
    h = await opsHarness({ db: tdb.db, config: config(BASE), clock });
    expect((await post({ provider: "openai", input_tokens: 1, output_tokens: 1 }, READER_KEY)).status).toBe(
      403,
    );
    expect(
      (await post({ provider: "openai", agent: "reader", input_tokens: 1, output_tokens: 1 }, CODER_KEY))
        .status,
    ).toBe(403);
    expect(
      (await post({ provider: "openai", agent: "coder", input_tokens: 1, output_tokens: 1 }, CODER_KEY))
        .status,
    ).toBe(200);
  });

  it("is idempotent on request_id: a retry, even concurrent, is counted once", async () => {
    h = await opsHarness({ db: tdb.db, config: config(BASE), clock });
    const body = { provider: "openai", input_tokens: 700, output_tokens: 300, request_id: "req-42" };
    const first = await post(body);
    expect(first.body.duplicate).toBeUndefined();
    const retries = await Promise.all(Array.from({ length: 10 }, () => post(body)));
    for (const retry of retries) {
      expect(retry.status).toBe(200);
      expect(retry.body.duplicate).toBe(true);
      expect(budget(retry.body, "daily_limit").used).toBe(1000);
    }
    const { rows } = await tdb.db.query("select count(*)::int as n from usage_events");
    expect(rows[0]?.n).toBe(1);
    const hourly = await tdb.db.query("select requests, tokens_spent from usage_hourly");
    expect(hourly.rows).toEqual([{ requests: 1, tokens_spent: 1000 }]);
  });

  it("scopes request_id to the key: another agent's same id is its own request", async () => {
    h = await opsHarness({ db: tdb.db, config: config(BASE), clock });
    const body = { provider: "openai", agent: "coder", input_tokens: 100, output_tokens: 0, request_id: "1" };
    expect((await post(body, ADMIN_KEY)).body.duplicate).toBeUndefined();
    const other = await post(body, CODER_KEY);
    expect(other.status).toBe(200);
    expect(other.body.duplicate).toBeUndefined();
    expect((await post(body, CODER_KEY)).body.duplicate).toBe(true); // its own retry still counts once
    const hourly = await tdb.db.query("select requests, tokens_spent from usage_hourly");
    expect(hourly.rows).toEqual([{ requests: 2, tokens_spent: 200 }]);
  });
});

describe("budget thresholds", () => {
  it("a budget crossing 80 % raises exactly one alert, even with 20 concurrent usage posts", async () => {
    h = await opsHarness({ db: tdb.db, config: config(BASE), clock });
    const start = await post({ provider: "openai", input_tokens: 79_000, output_tokens: 0 });
    expect(start.body.action).toBe("allow");
    expect(h.alerts.events).toEqual([]);

    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post({ provider: "openai", input_tokens: 100, output_tokens: 0 })),
    );
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    const alerts = h.alerts.fired("budget:");
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      key: "budget:daily_limit:openai:80",
      severity: "warning",
      title: "Budget daily_limit (openai) at 80 %",
      source: "budget",
    });
    // The amount when the first post crossed the line (which post that was depends on timing).
    expect(alerts[0]!.text).toMatch(/^8\d \d00 tokens of 100 000 tokens used \(8\d(\.\d)? %\)/);
    // The operator's question: when does it reset?
    expect(alerts[0]!.text).toContain("resets in 5 h (2030-01-16 00:00 Asia/Tokyo)");

    await post({ provider: "openai", input_tokens: 100, output_tokens: 0 });
    expect(h.alerts.fired("budget:")).toHaveLength(1);
    // Past 80 %, agents are told to mind the budget.
    const last = await post({ provider: "openai", input_tokens: 1, output_tokens: 0 });
    expect(last.body.action).toBe("alert");
  });

  it("raises each listed threshold once per window; the next window alerts again and the old alerts resolve", async () => {
    h = await opsHarness({
      db: tdb.db,
      clock,
      config: config(`
digest: { timezone: Asia/Tokyo }
cost_management:
  budgets:
    - { name: team, limit: 1000 tokens, scope: global, alert_threshold: [50%, 80%, 95%] }
`),
    });
    await post({ provider: "openai", input_tokens: 600, output_tokens: 0 });
    await post({ provider: "openai", input_tokens: 100, output_tokens: 0 });
    await post({ provider: "openai", input_tokens: 200, output_tokens: 0 }); // 90 %
    expect(h.alerts.fired().map((alert) => alert.key)).toEqual(["budget:team:*:50", "budget:team:*:80"]);
    await post({ provider: "openai", input_tokens: 60, output_tokens: 0 }); // 96 %
    await post({ provider: "openai", input_tokens: 60, output_tokens: 0 }); // 102 %: exhausted
    expect(h.alerts.fired().map((alert) => alert.key)).toEqual([
      "budget:team:*:50",
      "budget:team:*:80",
      "budget:team:*:95",
      "budget:team:*:100",
    ]);
    const exhausted = h.alerts.fired("budget:team:*:100")[0]!;
    expect(exhausted.severity).toBe("critical");
    expect(exhausted.title).toBe("Budget team exhausted");

    // The window ends at midnight in Tokyo; the bookkeeping job resolves the day's alerts.
    clock.set("2030-01-15T15:00:00Z");
    await h.runJob("ops.budget-windows");
    expect(h.alerts.resolved().sort()).toEqual([
      "budget:team:*:100",
      "budget:team:*:50",
      "budget:team:*:80",
      "budget:team:*:95",
    ]);
    const fresh = await post({ provider: "openai", input_tokens: 10, output_tokens: 0 });
    expect(fresh.body.budgets[0]).toMatchObject({ used: 10, pct: 1, resets_at: "2030-01-16T15:00:00.000Z" });

    await post({ provider: "openai", input_tokens: 500, output_tokens: 0 });
    expect(h.alerts.fired("budget:team:*:50")).toHaveLength(2);
  });

  it("at 100 % answers the budget's action: switch to another provider, else alert; block when told to", async () => {
    h = await opsHarness({
      db: tdb.db,
      clock,
      config: config(
        BASE.replace(
          "  prices:",
          "    - { name: coder_cap, limit: 500000 tokens, scope: per_agent, action: block }\n  prices:",
        ),
      ),
    });
    const spent = await post({ provider: "openai", input_tokens: 100_000, output_tokens: 0 });
    expect(spent.body).toMatchObject({ action: "switch_provider", suggested_provider: "anthropic" });
    const keys = h.alerts.fired("budget:").map((alert) => alert.key);
    expect(keys).toEqual(["budget:daily_limit:openai:80", "budget:daily_limit:openai:100"]);
    expect(h.alerts.fired("budget:daily_limit:openai:100")[0]!.text).toContain(
      "Agents are told: switch_provider (to anthropic)",
    );

    const both = await post({ provider: "anthropic", input_tokens: 100_000, output_tokens: 0 });
    // Nowhere to switch to: the chain's fallback.
    expect(both.body.action).toBe("alert");
    expect(both.body.suggested_provider).toBeUndefined();

    const capped = await post({
      provider: "openai",
      agent: "coder",
      input_tokens: 500_000,
      output_tokens: 0,
    });
    expect(capped.body.action).toBe("block");
  });

  it("splits usage at local midnight exactly in a zone with a half-hour offset", async () => {
    h = await opsHarness({
      db: tdb.db,
      clock,
      config: config(`
digest: { timezone: Asia/Kolkata }
cost_management:
  budgets:
    - { name: daily, limit: 10000 tokens, scope: global }
    - { name: monthly, limit: 100000 tokens, scope: global, reset: 1st of month }
`),
    });
    clock.set("2030-01-15T18:10:00Z"); // 23:40 in Kolkata (UTC+5:30)
    const before = await post({ provider: "openai", input_tokens: 1000, output_tokens: 0 });
    expect(budget(before.body, "daily").resets_at).toBe("2030-01-15T18:30:00.000Z");
    clock.set("2030-01-15T18:40:00Z"); // 00:10 the next day, in the same UTC hour
    const after = await post({ provider: "openai", input_tokens: 2000, output_tokens: 0 });
    expect(budget(after.body, "daily")).toMatchObject({ used: 2000, resets_at: "2030-01-16T18:30:00.000Z" });
    expect(budget(after.body, "monthly").used).toBe(3000);
    clock.advance(2 * HOUR);
    const list = await h.app.inject({ method: "GET", url: "/v1/budgets", headers: bearer(READER_KEY) });
    expect(list.json().budgets).toMatchObject([
      { name: "daily", used: 2000 },
      { name: "monthly", used: 3000 },
    ]);
  });
});

describe("spend spikes", () => {
  it("alerts once when 5 minutes burn over 10x the last hour's average, and resolves when calm", async () => {
    h = await opsHarness({ db: tdb.db, config: config(BASE), clock });
    clock.set("2030-01-15T09:00:00Z");
    for (let window = 0; window < 12; window++) {
      await post({ provider: "openai", input_tokens: 500, output_tokens: 0 });
      clock.advance(5 * MINUTE);
    }
    expect(h.alerts.fired("usage:spike")).toEqual([]);
    // Baseline 500 per window, floored at 1 000: the line is 10 000 tokens in 5 minutes.
    await post({ provider: "openai", input_tokens: 9_000, output_tokens: 0 });
    expect(h.alerts.fired("usage:spike")).toEqual([]);
    await post({ provider: "openai", input_tokens: 2_000, output_tokens: 0 });
    await post({ provider: "openai", input_tokens: 2_000, output_tokens: 0 });
    const spikes = h.alerts.fired("usage:spike");
    expect(spikes).toHaveLength(1);
    expect(spikes[0]).toMatchObject({ severity: "warning", title: "Token spend spike" });
    expect(spikes[0]!.text).toContain("11 000 tokens in 5 min");

    clock.advance(10 * MINUTE);
    await h.runJob("ops.budget-windows");
    expect(h.alerts.resolved("usage:spike")).toEqual(["usage:spike"]);
  });
});
