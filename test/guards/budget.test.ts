import { describe, expect, it } from "vitest";
import type { Budget } from "../../src/config/schema.ts";
import {
  budgetKeyFor,
  budgetKeysFor,
  costOf,
  evaluateBudget,
  exhaustedAction,
  mostSevere,
  tokensOf,
} from "../../src/guards/budget.ts";
import { budgetWindow } from "../../src/guards/budget-window.ts";

const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);

const daily: Budget = {
  name: "daily_limit",
  limit: 100_000,
  unit: "tokens",
  scope: "per_provider",
  alert_threshold: [0.5, 0.8, 0.95],
  action: ["switch_provider", "alert"],
  window: "daily",
};

describe("evaluateBudget: thresholds", () => {
  const now = at("2024-06-01T12:00:00Z");
  const window = budgetWindow(now, "daily", "UTC");
  const evaluate = (used: number, alreadyAlerted: number[] = [], budget: Budget = daily) =>
    evaluateBudget({ budget, used, now, window, alreadyAlerted });

  it("allows below the lowest threshold and says when it resets", () => {
    const result = evaluate(49_999);
    expect(result).toMatchObject({
      ratio: 0.49999,
      pct: 49.9,
      crossed: [],
      exhausted: false,
      action: "allow",
      suggested_provider: null,
      resets_at: at("2024-06-02T00:00:00Z"),
      resets_in_ms: 12 * HOUR,
    });
  });

  it("crosses each threshold at exactly its value, once per window", () => {
    expect(evaluate(50_000).crossed).toEqual([0.5]);
    expect(evaluate(50_000).action).toBe("alert");
    expect(evaluate(60_000, [0.5]).crossed).toEqual([]);
    expect(evaluate(79_999, [0.5]).crossed).toEqual([]);
    expect(evaluate(80_000, [0.5]).crossed).toEqual([0.8]);
    expect(evaluate(94_000, [0.5, 0.8]).crossed).toEqual([]);
    expect(evaluate(95_000, [0.5, 0.8]).crossed).toEqual([0.95]);
    expect(evaluate(99_000, [0.5, 0.8, 0.95]).crossed).toEqual([]);
  });

  it("reports every threshold passed in one jump, ascending", () => {
    expect(evaluate(96_000).crossed).toEqual([0.5, 0.8, 0.95]);
    expect(evaluate(96_000, [0.5]).crossed).toEqual([0.8, 0.95]);
  });

  it("treats 100 % as a threshold of its own: exhaustion alerts once", () => {
    const first = evaluate(100_000, [0.5, 0.8, 0.95]);
    expect(first.crossed).toEqual([1]);
    expect(first.exhausted).toBe(true);
    expect(first.pct).toBe(100);
    const later = evaluate(130_000, [0.5, 0.8, 0.95, 1]);
    expect(later.crossed).toEqual([]);
    expect(later.ratio).toBeCloseTo(1.3);
    expect(later.pct).toBe(100);
  });

  it("re-arms the thresholds in the next window", () => {
    const tomorrow = at("2024-06-02T00:00:00Z");
    const next = budgetWindow(tomorrow, "daily", "UTC");
    expect(next.key).not.toBe(window.key);
    // the services pass what they alerted in *this* window: nothing yet
    const result = evaluateBudget({
      budget: daily,
      used: 85_000,
      now: tomorrow,
      window: next,
      alreadyAlerted: [],
    });
    expect(result.crossed).toEqual([0.5, 0.8]);
    expect(result.resets_in_ms).toBe(24 * HOUR);
  });

  it("compares ratios read back from storage with slack", () => {
    const budget: Budget = { ...daily, limit: 100, alert_threshold: [0.07] };
    expect(evaluateBudget({ budget, used: 7, now, window, alreadyAlerted: [] }).crossed).toEqual([0.07]);
    expect(
      evaluateBudget({ budget, used: 7, now, window, alreadyAlerted: [0.07000000000000001] }).crossed,
    ).toEqual([]);
  });

  it("rounds pct down so it never shows a threshold before it is reached", () => {
    expect(evaluate(79_999).pct).toBe(79.9);
    expect(evaluate(0).pct).toBe(0);
    expect(evaluate(-5).ratio).toBe(0);
  });

  it("works in USD", () => {
    const usd: Budget = { ...daily, limit: 50, unit: "usd", alert_threshold: [0.8] };
    expect(evaluateBudget({ budget: usd, used: 40.01, now, window, alreadyAlerted: [] }).crossed).toEqual([
      0.8,
    ]);
  });
});

describe("evaluateBudget: action chains at 100 %", () => {
  const now = at("2024-06-01T12:00:00Z");
  const window = budgetWindow(now, "daily", "UTC");
  const spent = (action: Budget["action"], alternatives?: string[]) =>
    evaluateBudget({
      budget: { ...daily, action },
      used: 100_000,
      now,
      window,
      alreadyAlerted: [],
      alternatives,
    });

  it("switch_provider or alert: switches when another provider is available", () => {
    expect(spent(["switch_provider", "alert"], ["anthropic", "mistral"])).toMatchObject({
      action: "switch_provider",
      suggested_provider: "anthropic",
    });
  });

  it("switch_provider or alert: alerts when there is none", () => {
    expect(spent(["switch_provider", "alert"], [])).toMatchObject({
      action: "alert",
      suggested_provider: null,
    });
    expect(spent(["switch_provider", "alert"])).toMatchObject({ action: "alert" });
  });

  it("switch_provider or block: blocks when there is none", () => {
    expect(spent(["switch_provider", "block"], [])).toMatchObject({ action: "block" });
  });

  it("single actions", () => {
    expect(spent(["block"], ["anthropic"]).action).toBe("block");
    expect(spent(["alert"], ["anthropic"]).action).toBe("alert");
    // a lone switch_provider with nowhere to go: alert, never a silent block
    expect(spent(["switch_provider"], [])).toMatchObject({ action: "alert", suggested_provider: null });
  });

  it("below 100 % the chain is not applied", () => {
    const result = evaluateBudget({
      budget: { ...daily, action: ["block"] },
      used: 99_999,
      now,
      window,
      alreadyAlerted: [],
    });
    expect(result.action).toBe("alert");
    expect(exhaustedAction(["block"])).toEqual({ action: "block", suggested_provider: null });
  });

  it("combines several budgets: the most severe wins", () => {
    expect(mostSevere([])).toBe("allow");
    expect(mostSevere(["allow", "alert"])).toBe("alert");
    expect(mostSevere(["switch_provider", "alert", "allow"])).toBe("switch_provider");
    expect(mostSevere(["switch_provider", "block", "alert"])).toBe("block");
  });
});

describe("budget keys", () => {
  const usage = { provider: "openai", model: "gpt-4", agent: "coder" };

  it("maps each scope to the key the usage counts against", () => {
    expect(budgetKeyFor(usage, "global")).toBe("*");
    expect(budgetKeyFor(usage, "per_provider")).toBe("openai");
    expect(budgetKeyFor(usage, "per_agent")).toBe("coder");
    expect(budgetKeyFor(usage, "per_model")).toBe("gpt-4");
  });

  it("counts unknown providers under their own name and unnamed usage under (none)", () => {
    expect(budgetKeyFor({ provider: "acme-llm" }, "per_provider")).toBe("acme-llm");
    expect(budgetKeyFor({ provider: "openai" }, "per_agent")).toBe("(none)");
    expect(budgetKeyFor({ provider: "openai", model: null, agent: " " }, "per_model")).toBe("(none)");
  });

  it("lists every budget with its key", () => {
    const monthly: Budget = { ...daily, name: "monthly_limit", scope: "global", window: "monthly" };
    expect(budgetKeysFor(usage, [daily, monthly]).map(({ budget, key }) => [budget.name, key])).toEqual([
      ["daily_limit", "openai"],
      ["monthly_limit", "*"],
    ]);
  });
});

describe("costOf", () => {
  const prices = { "gpt-4": { input_per_1k: 0.03, output_per_1k: 0.06 } };

  it("takes cost_usd when sent", () => {
    expect(
      costOf({ model: "gpt-4", input_tokens: 1000, output_tokens: 1000, cost_usd: 0.5 }, prices),
    ).toEqual({
      cost_usd: 0.5,
      priced: true,
      source: "reported",
    });
    expect(
      costOf({ model: "gpt-4", input_tokens: 1000, output_tokens: 0, cost_usd: 0 }, prices).cost_usd,
    ).toBe(0);
  });

  it("computes from prices per 1k tokens otherwise", () => {
    expect(costOf({ model: "gpt-4", input_tokens: 1500, output_tokens: 500 }, prices)).toEqual({
      cost_usd: 0.075,
      priced: true,
      source: "prices",
    });
    expect(
      costOf({ model: "GPT-4", input_tokens: 1000, output_tokens: 0, cost_usd: null }, prices).cost_usd,
    ).toBe(0.03);
  });

  it("flags an unknown or missing model as unpriced, costing 0", () => {
    expect(costOf({ model: "gpt-5", input_tokens: 1000, output_tokens: 1000 }, prices)).toEqual({
      cost_usd: 0,
      priced: false,
      source: "unpriced",
    });
    expect(costOf({ input_tokens: 1000, output_tokens: 1000 }, prices).priced).toBe(false);
  });

  it("counts a cached answer as saved tokens, not spent", () => {
    expect(tokensOf({ input_tokens: 100, output_tokens: 50 })).toEqual({ spent: 150, saved: 0 });
    expect(tokensOf({ input_tokens: 100, output_tokens: 50, cached: true })).toEqual({
      spent: 0,
      saved: 150,
    });
  });
});
