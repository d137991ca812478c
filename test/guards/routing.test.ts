import { describe, expect, it } from "vitest";
import type { Provider } from "../../src/config/schema.ts";
import { chooseRoute, complexityTier, failoverFor, type RouteInput } from "../../src/guards/routing.ts";

function provider(name: string, fields: Partial<Provider> & { priority: number }): Provider {
  return { name, models: [], cost_per_1k: null, quality: null, timeout: null, ...fields };
}

const openai = provider("openai", {
  priority: 1,
  models: ["gpt-4", "gpt-4o", "gpt-4o-mini"],
  cost_per_1k: 0.03,
  quality: 0.95,
});
const anthropic = provider("anthropic", {
  priority: 2,
  models: ["claude-opus", "claude-haiku"],
  cost_per_1k: 0.015,
  quality: 0.9,
});
const mistral = provider("mistral", {
  priority: 3,
  models: ["mistral-large"],
  cost_per_1k: 0.002,
  quality: 0.8,
});
const providers = [openai, anthropic, mistral];

const none = () => false;
const route = (input: Partial<RouteInput>) =>
  chooseRoute({ providers, strategy: "priority", breakerOpen: none, budgetSpent: none, ...input });
const order = (input: Partial<RouteInput>) => {
  const decision = route(input);
  return [decision.provider, ...decision.fallbacks.map((fallback) => fallback.provider)];
};

describe("chooseRoute: strategies", () => {
  it("priority: config order, fallbacks in the same order", () => {
    const decision = route({});
    expect(decision).toMatchObject({
      provider: "openai",
      model: "gpt-4",
      fallbacks: [
        { provider: "anthropic", model: "claude-opus" },
        { provider: "mistral", model: "mistral-large" },
      ],
      skipped: [],
      strategy: "priority",
      tier: null,
    });
    expect(decision.reason).toBe("priority: openai comes first");
    // an explicit priority beats the list position
    expect(order({ providers: [openai, { ...mistral, priority: 0 }, anthropic] })).toEqual([
      "mistral",
      "openai",
      "anthropic",
    ]);
  });

  it("latency_aware: lowest observed latency first, unknown last in priority order", () => {
    const latency: Record<string, number> = { mistral: 300, anthropic: 900 };
    const decision = route({ strategy: "latency_aware", latencyMs: (name) => latency[name] });
    expect([decision.provider, ...decision.fallbacks.map((f) => f.provider)]).toEqual([
      "mistral",
      "anthropic",
      "openai",
    ]);
    expect(decision.reason).toBe("latency_aware: mistral has the lowest latency (300 ms)");
    expect(route({ strategy: "latency_aware" }).reason).toBe(
      "latency_aware: no latency observed yet, openai by priority",
    );
  });

  it("cost_aware: cheapest first, unpriced last", () => {
    const unpriced = provider("local", { priority: 0, models: ["llama"] });
    const decision = route({ strategy: "cost_aware", providers: [unpriced, ...providers] });
    expect([decision.provider, ...decision.fallbacks.map((f) => f.provider)]).toEqual([
      "mistral",
      "anthropic",
      "openai",
      "local",
    ]);
    expect(decision.reason).toBe("cost_aware: mistral is the cheapest ($0.002 per 1k tokens)");
  });

  it("quality_aware: highest quality first, ties by priority", () => {
    const twin = provider("azure", { priority: 0, models: ["gpt-4"], quality: 0.95 });
    expect(order({ strategy: "quality_aware", providers: [...providers, twin] })).toEqual([
      "azure",
      "openai",
      "anthropic",
      "mistral",
    ]);
    expect(route({ strategy: "quality_aware" }).reason).toBe(
      "quality_aware: openai has the highest quality (0.95)",
    );
  });
});

describe("chooseRoute: skips", () => {
  it("skips open breakers and spent budgets, keeping the order of the rest", () => {
    const decision = route({
      breakerOpen: (name) => name === "openai",
      budgetSpent: (name) => name === "anthropic",
    });
    expect(decision).toMatchObject({
      provider: "mistral",
      model: "mistral-large",
      fallbacks: [],
      skipped: [
        { provider: "openai", why: "breaker_open" },
        { provider: "anthropic", why: "budget_spent" },
      ],
    });
    expect(decision.reason).toBe(
      "priority: mistral comes first; skipped openai (breaker open), anthropic (budget spent)",
    );
  });

  it("names the breaker first when both apply", () => {
    const decision = route({
      breakerOpen: (name) => name === "openai",
      budgetSpent: (name) => name === "openai",
    });
    expect(decision.skipped).toEqual([{ provider: "openai", why: "breaker_open" }]);
    expect(decision.provider).toBe("anthropic");
  });

  it("answers clearly when every provider is skipped", () => {
    const decision = route({ breakerOpen: (name) => name !== "mistral", budgetSpent: () => true });
    expect(decision).toMatchObject({ provider: null, model: null, fallbacks: [] });
    expect(decision.skipped).toHaveLength(3);
    expect(decision.reason).toBe(
      "no provider available: openai (breaker open), anthropic (breaker open), mistral (budget spent)",
    );
  });

  it("answers clearly when no provider is configured", () => {
    expect(route({ providers: [] })).toMatchObject({
      provider: null,
      reason: "no providers configured (routing.providers is empty)",
    });
  });
});

describe("chooseRoute: complexity", () => {
  it("picks by position without thresholds: high strongest, low weakest, medium between", () => {
    expect(route({ complexity: "high" })).toMatchObject({ provider: "openai", model: "gpt-4", tier: "high" });
    expect(route({ complexity: "medium" }).model).toBe("gpt-4o");
    const low = route({ complexity: "low" });
    expect(low.model).toBe("gpt-4o-mini");
    expect(low.fallbacks).toEqual([
      { provider: "anthropic", model: "claude-haiku" },
      { provider: "mistral", model: "mistral-large" },
    ]);
    expect(low.reason).toBe("priority: openai comes first; complexity low -> gpt-4o-mini");
  });

  it("prefers providers offering the tier's models, then the rest", () => {
    const thresholds = {
      high: { models: ["claude-opus", "gpt-4"], min_score: null },
      low: { models: ["mistral-large"], min_score: null },
    };
    const high = route({ complexity: "high", complexityThresholds: thresholds });
    expect(high).toMatchObject({
      provider: "openai",
      model: "gpt-4",
      fallbacks: [
        { provider: "anthropic", model: "claude-opus" },
        { provider: "mistral", model: "mistral-large" },
      ],
    });
    const low = route({ complexity: "low", complexityThresholds: thresholds });
    expect([low.provider, low.model]).toEqual(["mistral", "mistral-large"]);
    expect(low.fallbacks).toEqual([
      { provider: "openai", model: "gpt-4o-mini" },
      { provider: "anthropic", model: "claude-haiku" },
    ]);
    // the tier's models all behind open breakers: the others, and the reason says so
    const fallback = route({
      complexity: "low",
      complexityThresholds: thresholds,
      breakerOpen: (name) => name === "mistral",
    });
    expect(fallback.provider).toBe("openai");
    expect(fallback.reason).toContain("(no usable provider offers mistral-large)");
  });

  it("reads a numeric complexity through score thresholds", () => {
    const scores = { high: { models: [], min_score: 0.8 }, medium: { models: [], min_score: 0.5 } };
    expect(complexityTier(0.9, scores)).toBe("high");
    expect(complexityTier(0.8, scores)).toBe("high");
    expect(complexityTier(0.6, scores)).toBe("medium");
    expect(complexityTier(0.2, scores)).toBe("low");
    expect(complexityTier(0.75)).toBe("high");
    expect(complexityTier(0.5)).toBe("medium");
    expect(complexityTier(0.1)).toBe("low");
    expect(complexityTier(null)).toBeNull();
    expect(complexityTier(" HIGH ")).toBe("high");
    expect(route({ complexity: 0.3, complexityThresholds: scores }).model).toBe("gpt-4o-mini");
  });

  it("gives a null model for a provider that lists none", () => {
    const bare = provider("bare", { priority: 1 });
    expect(route({ providers: [bare], complexity: "high" })).toMatchObject({ provider: "bare", model: null });
  });
});

describe("failoverFor", () => {
  it("returns the chain configured for the failure kind", () => {
    const failover = {
      on_error: ["next_provider" as const],
      on_timeout: ["retry" as const, "next_provider" as const],
      on_rate_limit: ["wait" as const],
    };
    expect(failoverFor("error", failover)).toEqual(["next_provider"]);
    expect(failoverFor("timeout", failover)).toEqual(["retry", "next_provider"]);
    expect(failoverFor("rate_limit", failover)).toEqual(["wait"]);
  });
});
