/**
 * Model routing (`POST /v1/route`): which provider and model to use now, and in which order to
 * fall back. Providers whose breaker is open or whose budget is spent are skipped.
 *
 * Strategies order the providers that remain (ties keep `priority`, then config order):
 * - priority: `priority` ascending (default: position in the list);
 * - latency_aware: lowest observed latency first; providers never observed go last;
 * - cost_aware: cheapest `cost_per_1k` first; unpriced last;
 * - quality_aware: highest `quality` first; unscored last.
 *
 * Complexity picks the model on each provider. A provider lists its models strongest first.
 * `complexity_thresholds` come in two forms (see the config schema):
 * - models per tier (`high: gpt-4`, `low: [gpt-4o-mini, claude-haiku]`): providers offering one
 *   of the tier's models go first (in strategy order) with that model; the rest follow;
 * - scores per tier (`high: 0.8`, `medium: 0.5`): a numeric complexity from the caller is
 *   read as the tier with the highest score it reaches, else `low`.
 * Otherwise the tier picks by position: high -> the first (strongest) model, low -> the last,
 * medium -> the middle one; no complexity -> the first.
 */
import type { ComplexityTier, Config, FailoverAction, Provider } from "../config/schema.ts";

export type RoutingStrategy = Config["routing"]["strategy"];
export type ComplexityThresholds = Readonly<Record<string, ComplexityTier>>;
export type Failover = Config["routing"]["failover"];
export type FailureKind = "error" | "timeout" | "rate_limit";

export interface RouteInput {
  providers: readonly Provider[];
  strategy: RoutingStrategy;
  /** `high | medium | low` (or another tier named in the thresholds), or a score 0..1. */
  complexity?: string | number | null;
  complexityThresholds?: ComplexityThresholds;
  breakerOpen: (provider: string) => boolean;
  budgetSpent: (provider: string) => boolean;
  /** Observed latency (p50 or p99, the caller's choice) in ms; undefined when never seen. */
  latencyMs?: (provider: string) => number | undefined;
}

export interface RouteChoice {
  provider: string;
  /** null when the provider lists no models (the caller uses its default). */
  model: string | null;
}

export interface SkippedProvider {
  provider: string;
  why: "breaker_open" | "budget_spent";
}

export interface RouteDecision {
  /** null when every provider is skipped, or none is configured. */
  provider: string | null;
  model: string | null;
  /** The other usable providers, in the order to try them. */
  fallbacks: RouteChoice[];
  /** For people: why this one (and who was skipped), or why none. */
  reason: string;
  skipped: SkippedProvider[];
  strategy: RoutingStrategy;
  /** The complexity tier used, or null. */
  tier: string | null;
}

/** Score tiers used when a numeric complexity arrives and the config gives no scores. */
const DEFAULT_SCORE_TIERS: ReadonlyArray<[string, number]> = [
  ["high", 0.7],
  ["medium", 0.4],
];

/** The tier a complexity names or reaches. */
export function complexityTier(
  complexity: string | number | null | undefined,
  thresholds: ComplexityThresholds = {},
): string | null {
  if (complexity === undefined || complexity === null) return null;
  if (typeof complexity === "string") {
    const name = complexity.trim().toLowerCase();
    return name === "" ? null : name;
  }
  if (!Number.isFinite(complexity)) return null;
  const scored = Object.entries(thresholds)
    .filter((entry): entry is [string, ComplexityTier & { min_score: number }] => entry[1].min_score !== null)
    .map(([name, tier]): [string, number] => [name.toLowerCase(), tier.min_score]);
  const tiers = (scored.length > 0 ? scored : DEFAULT_SCORE_TIERS).slice().sort((a, b) => b[1] - a[1]);
  for (const [name, minimum] of tiers) if (complexity >= minimum) return name;
  return "low";
}

function tierModels(tier: string | null, thresholds: ComplexityThresholds): string[] {
  if (tier === null) return [];
  for (const [name, entry] of Object.entries(thresholds)) {
    if (name.toLowerCase() === tier) return entry.models;
  }
  return [];
}

function positionalModel(provider: Provider, tier: string | null): string | null {
  const models = provider.models;
  if (models.length === 0) return null;
  if (tier === "low") return models[models.length - 1]!;
  if (tier === "medium") return models[Math.floor(models.length / 2)]!;
  return models[0]!;
}

interface Candidate {
  provider: Provider;
  index: number;
  model: string | null;
  /** Offers a model the tier names. */
  matched: boolean;
  latency: number | undefined;
}

function compareNullable(
  a: number | null | undefined,
  b: number | null | undefined,
  ascending: boolean,
): number {
  const aKnown = typeof a === "number" && Number.isFinite(a);
  const bKnown = typeof b === "number" && Number.isFinite(b);
  if (aKnown && bKnown) return ascending ? a - b : b - a;
  if (aKnown) return -1;
  if (bKnown) return 1;
  return 0;
}

function money(value: number): string {
  return `$${Number(value.toPrecision(6))}`;
}

function whyChosen(strategy: RoutingStrategy, first: Candidate): string {
  const name = first.provider.name;
  switch (strategy) {
    case "priority":
      return `priority: ${name} comes first`;
    case "latency_aware":
      return first.latency === undefined
        ? `latency_aware: no latency observed yet, ${name} by priority`
        : `latency_aware: ${name} has the lowest latency (${Math.round(first.latency)} ms)`;
    case "cost_aware":
      return first.provider.cost_per_1k === null
        ? `cost_aware: no provider is priced, ${name} by priority`
        : `cost_aware: ${name} is the cheapest (${money(first.provider.cost_per_1k)} per 1k tokens)`;
    case "quality_aware":
      return first.provider.quality === null
        ? `quality_aware: no provider is scored, ${name} by priority`
        : `quality_aware: ${name} has the highest quality (${first.provider.quality})`;
  }
}

function skippedText(skipped: readonly SkippedProvider[]): string {
  return skipped
    .map((entry) => `${entry.provider} (${entry.why === "breaker_open" ? "breaker open" : "budget spent"})`)
    .join(", ");
}

export function chooseRoute(input: RouteInput): RouteDecision {
  const thresholds = input.complexityThresholds ?? {};
  const tier = complexityTier(input.complexity, thresholds);
  const wanted = tierModels(tier, thresholds);
  const skipped: SkippedProvider[] = [];
  const candidates: Candidate[] = [];
  input.providers.forEach((provider, index) => {
    if (input.breakerOpen(provider.name)) {
      skipped.push({ provider: provider.name, why: "breaker_open" });
      return;
    }
    if (input.budgetSpent(provider.name)) {
      skipped.push({ provider: provider.name, why: "budget_spent" });
      return;
    }
    const offered = wanted.find((model) => provider.models.includes(model));
    candidates.push({
      provider,
      index,
      model: offered ?? positionalModel(provider, tier),
      matched: offered !== undefined,
      latency: input.latencyMs?.(provider.name),
    });
  });

  const base = { skipped, strategy: input.strategy, tier };
  if (candidates.length === 0) {
    const reason =
      input.providers.length === 0
        ? "no providers configured (routing.providers is empty)"
        : `no provider available: ${skippedText(skipped)}`;
    return { ...base, provider: null, model: null, fallbacks: [], reason };
  }

  const byStrategy = (a: Candidate, b: Candidate): number => {
    switch (input.strategy) {
      case "latency_aware":
        return compareNullable(a.latency, b.latency, true);
      case "cost_aware":
        return compareNullable(a.provider.cost_per_1k, b.provider.cost_per_1k, true);
      case "quality_aware":
        return compareNullable(a.provider.quality, b.provider.quality, false);
      case "priority":
        return 0;
    }
  };
  candidates.sort(
    (a, b) =>
      Number(b.matched) - Number(a.matched) ||
      byStrategy(a, b) ||
      a.provider.priority - b.provider.priority ||
      a.index - b.index,
  );

  const [first, ...rest] = candidates as [Candidate, ...Candidate[]];
  let reason = whyChosen(input.strategy, first);
  if (tier !== null && first.model !== null) reason += `; complexity ${tier} -> ${first.model}`;
  if (wanted.length > 0 && !first.matched) reason += ` (no usable provider offers ${wanted.join(", ")})`;
  if (skipped.length > 0) reason += `; skipped ${skippedText(skipped)}`;
  return {
    ...base,
    provider: first.provider.name,
    model: first.model,
    fallbacks: rest.map((candidate) => ({ provider: candidate.provider.name, model: candidate.model })),
    reason,
  };
}

/** What `routing.failover` says to do after a failure of this kind (a fallback chain). */
export function failoverFor(kind: FailureKind, failover: Failover): FailoverAction[] {
  switch (kind) {
    case "timeout":
      return failover.on_timeout;
    case "rate_limit":
      return failover.on_rate_limit;
    case "error":
      return failover.on_error;
  }
}
