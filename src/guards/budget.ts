/**
 * Budgets: which key a usage counts against, what it costs, and what to do at a given spend.
 * Pure: the services sum usage over the window (see budget-window.ts) and remember which
 * thresholds they have already alerted in it.
 *
 * Two answers, for two audiences:
 * - `action` is for the calling agent, on every request: `allow` below the lowest alert
 *   threshold, `alert` from there up to 100 % (carry on, the budget is running out), and at
 *   100 % and above the budget's action chain (`switch_provider or alert`: switch when another
 *   provider is available, else alert; a chain whose steps all need what is missing ends in
 *   `alert`: pitwall does not block unless told to).
 * - `crossed` is for people: the thresholds reached for the first time in this window, each
 *   exactly once. 100 % is always one of them (the "budget exhausted" alert), configured or not.
 */
import type { Budget, BudgetAction, Config } from "../config/schema.ts";

export type BudgetScope = Budget["scope"];
export type BudgetDecision = "allow" | "alert" | "switch_provider" | "block";
export type Prices = Config["cost_management"]["prices"];

/** The key for usage that does not name the dimension a scope splits by (no agent, no model). */
export const UNNAMED_KEY = "(none)";
/** The key of a global budget. */
export const GLOBAL_KEY = "*";

/** Thresholds are ratios read from YAML or the database: compare with a little slack. */
const EPSILON = 1e-9;

export interface UsageKeys {
  provider: string;
  model?: string | null;
  agent?: string | null;
}

/** The key a usage counts against under `scope`: global "*", else the provider, agent or model. */
export function budgetKeyFor(usage: UsageKeys, scope: BudgetScope): string {
  const named = (value: string | null | undefined) =>
    value === undefined || value === null || value.trim() === "" ? UNNAMED_KEY : value;
  switch (scope) {
    case "global":
      return GLOBAL_KEY;
    case "per_provider":
      return named(usage.provider);
    case "per_agent":
      return named(usage.agent);
    case "per_model":
      return named(usage.model);
  }
}

/** Every budget a usage counts against, with its key. Usage without an agent or model still counts. */
export function budgetKeysFor<B extends Pick<Budget, "scope">>(
  usage: UsageKeys,
  budgets: readonly B[],
): Array<{ budget: B; key: string }> {
  return budgets.map((budget) => ({ budget, key: budgetKeyFor(usage, budget.scope) }));
}

export interface PricedUsage {
  model?: string | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd?: number | null;
}

export interface Cost {
  cost_usd: number;
  /** False when no cost was sent and the model has no price: cost_usd is 0, not a real figure. */
  priced: boolean;
  source: "reported" | "prices" | "unpriced";
}

function priceFor(model: string, prices: Prices): Prices[string] | undefined {
  const exact = prices[model];
  if (exact) return exact;
  const lower = model.toLowerCase();
  for (const [name, price] of Object.entries(prices)) {
    if (name.toLowerCase() === lower) return price;
  }
  return undefined;
}

/** `cost_usd` when the agent sent it; else from `cost_management.prices` (USD per 1000 tokens). */
export function costOf(usage: PricedUsage, prices: Prices): Cost {
  if (typeof usage.cost_usd === "number" && Number.isFinite(usage.cost_usd) && usage.cost_usd >= 0) {
    return { cost_usd: usage.cost_usd, priced: true, source: "reported" };
  }
  const price = usage.model ? priceFor(usage.model, prices) : undefined;
  if (!price) return { cost_usd: 0, priced: false, source: "unpriced" };
  const cost =
    (usage.input_tokens / 1000) * price.input_per_1k + (usage.output_tokens / 1000) * price.output_per_1k;
  return { cost_usd: Math.round(cost * 1e9) / 1e9, priced: true, source: "prices" };
}

/** Tokens a usage spends against token budgets; a cached answer spent none (it saved them). */
export function tokensOf(usage: { input_tokens: number; output_tokens: number; cached?: boolean | null }): {
  spent: number;
  saved: number;
} {
  const total = usage.input_tokens + usage.output_tokens;
  return usage.cached ? { spent: 0, saved: total } : { spent: total, saved: 0 };
}

export interface BudgetEvaluationInput {
  budget: Pick<Budget, "limit" | "alert_threshold" | "action">;
  /** Spent in this window, in the budget's unit (tokens or USD). */
  used: number;
  now: number;
  window: { start: number; end: number };
  /** Thresholds (ratios) already alerted in this window; empty in a new window. */
  alreadyAlerted: readonly number[];
  /** Providers the caller could switch to (not spent, breaker not open), best first. */
  alternatives?: readonly string[];
}

export interface BudgetEvaluation {
  /** used / limit, unbounded (1.3 = 30 % over). */
  ratio: number;
  /** 0-100 for display, rounded down to 0.1 so it never shows a threshold before it is reached. */
  pct: number;
  /** Thresholds reached for the first time in this window, ascending; 1 means exhausted. */
  crossed: number[];
  exhausted: boolean;
  action: BudgetDecision;
  /** With `switch_provider`: the first alternative. */
  suggested_provider: string | null;
  resets_at: number;
  resets_in_ms: number;
}

function includesRatio(list: readonly number[], value: number): boolean {
  return list.some((item) => Math.abs(item - value) < EPSILON);
}

/** The decision at or above 100 %: the first step of the chain that can be taken. */
export function exhaustedAction(
  chain: readonly BudgetAction[],
  alternatives: readonly string[] = [],
): { action: BudgetDecision; suggested_provider: string | null } {
  for (const step of chain) {
    if (step === "switch_provider") {
      const next = alternatives[0];
      if (next !== undefined) return { action: "switch_provider", suggested_provider: next };
      continue;
    }
    return { action: step, suggested_provider: null };
  }
  return { action: "alert", suggested_provider: null };
}

export function evaluateBudget(input: BudgetEvaluationInput): BudgetEvaluation {
  const { budget, used, now, window, alreadyAlerted } = input;
  const ratio = budget.limit > 0 ? Math.max(0, used) / budget.limit : Number.POSITIVE_INFINITY;
  const pct = Math.min(100, Math.floor(ratio * 1000 + EPSILON) / 10);
  const exhausted = ratio + EPSILON >= 1;
  const thresholds = [...budget.alert_threshold].sort((a, b) => a - b);
  if (!includesRatio(thresholds, 1)) thresholds.push(1);
  const crossed = thresholds.filter(
    (threshold) => ratio + EPSILON >= threshold && !includesRatio(alreadyAlerted, threshold),
  );
  let decision: { action: BudgetDecision; suggested_provider: string | null };
  if (exhausted) decision = exhaustedAction(budget.action, input.alternatives);
  else if (thresholds.some((threshold) => ratio + EPSILON >= threshold))
    decision = { action: "alert", suggested_provider: null };
  else decision = { action: "allow", suggested_provider: null };
  return {
    ratio,
    pct,
    crossed,
    exhausted,
    ...decision,
    resets_at: window.end,
    resets_in_ms: Math.max(0, window.end - now),
  };
}

const SEVERITY: Readonly<Record<BudgetDecision, number>> = {
  allow: 0,
  alert: 1,
  switch_provider: 2,
  block: 3,
};

/** One answer for a usage that counts against several budgets: the most severe action wins. */
export function mostSevere(actions: readonly BudgetDecision[]): BudgetDecision {
  let worst: BudgetDecision = "allow";
  for (const action of actions) if (SEVERITY[action] > SEVERITY[worst]) worst = action;
  return worst;
}
