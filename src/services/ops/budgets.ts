/**
 * Budget state, computed from the clock and the hourly aggregates: there is no reset job that
 * could fail, a window is simply the time range `now` falls in (src/guards/budget-window.ts).
 */

import type { Budget } from "../../config/index.ts";
import {
  type BudgetEvaluation,
  type BudgetScope,
  budgetKeyFor,
  evaluateBudget,
  GLOBAL_KEY,
} from "../../guards/budget.ts";
import { type BudgetWindow, budgetWindow } from "../../guards/budget-window.ts";
import type { Db, DbClient } from "../../store/pool.ts";
import { type OpsContext, opsTimeZone } from "./context.ts";

const HOUR_MS = 3_600_000;

/** One budget for one key (a provider, agent or model, or "*" for a global budget) in its window. */
export interface BudgetStatus {
  budget: Budget;
  key: string;
  used: number;
  window: BudgetWindow;
  evaluation: BudgetEvaluation;
}

/** The API's shape (DESIGN.md, "Budget"). */
export interface BudgetView {
  name: string;
  scope: BudgetScope;
  key: string;
  unit: "tokens" | "usd";
  used: number;
  limit: number;
  pct: number;
  window: "daily" | "monthly";
  resets_at: string;
}

export function budgetView(status: BudgetStatus): BudgetView {
  const { budget } = status;
  return {
    name: budget.name,
    scope: budget.scope,
    key: status.key,
    unit: budget.unit,
    used: budget.unit === "usd" ? Math.round(status.used * 1e6) / 1e6 : status.used,
    limit: budget.limit,
    pct: status.evaluation.pct,
    window: budget.window,
    resets_at: new Date(status.window.end).toISOString(),
  };
}

interface TotalsRow {
  provider: string;
  model: string;
  agent: string;
  tokens: number;
  cost: number;
}

/**
 * Spent tokens and cost per provider, model and agent in a window. Whole hours come from the
 * hourly aggregates; when the window starts inside an hour (zones with a half-hour offset), that
 * first part-hour is summed from the per-request rows, so a local midnight splits usage exactly.
 */
async function windowTotals(db: Db | DbClient, window: BudgetWindow): Promise<TotalsRow[]> {
  const firstWholeHour = Math.ceil(window.start / HOUR_MS) * HOUR_MS;
  const { rows } = await db.query<TotalsRow>(
    `select provider, model, agent, sum(tokens_spent)::bigint as tokens, sum(cost_usd)::float8 as cost
       from (select provider, model, agent, tokens_spent, cost_usd
               from usage_hourly where hour >= $1 and hour < $2
             union all
             select provider, coalesce(model, ''), coalesce(agent, ''), tokens_spent, cost_usd
               from usage_events where at >= $3 and at < $1) as usage
      group by provider, model, agent`,
    [new Date(firstWholeHour), new Date(window.end), new Date(window.start)],
  );
  return rows;
}

/** Keys a budget always shows, used or not: global budgets, and configured providers. */
function defaultKeys(ctx: OpsContext, scope: BudgetScope): string[] {
  switch (scope) {
    case "global":
      return [GLOBAL_KEY];
    case "per_provider":
      return ctx.config.routing.providers.map((provider) => provider.name);
    case "per_agent":
      return Object.keys(ctx.config.agents);
    case "per_model":
      return [];
  }
}

/**
 * Every budget for every key it has in its current window: the keys with usage plus the default
 * ones. `alreadyAlerted` is left empty here; the threshold alerts read their own markers.
 */
export async function budgetStatuses(ctx: OpsContext, now: number): Promise<BudgetStatus[]> {
  const timeZone = opsTimeZone(ctx.config);
  const totalsByWindow = new Map<string, Promise<TotalsRow[]>>();
  const statuses: BudgetStatus[] = [];
  for (const budget of ctx.config.cost_management.budgets) {
    const window = budgetWindow(now, budget.window, timeZone);
    const cacheKey = `${window.start}:${window.end}`;
    let totals = totalsByWindow.get(cacheKey);
    if (!totals) {
      totals = windowTotals(ctx.db, window);
      totalsByWindow.set(cacheKey, totals);
    }
    const used = new Map<string, number>();
    for (const key of defaultKeys(ctx, budget.scope)) used.set(key, 0);
    for (const row of await totals) {
      const key = budgetKeyFor(
        { provider: row.provider, model: row.model || null, agent: row.agent || null },
        budget.scope,
      );
      used.set(key, (used.get(key) ?? 0) + (budget.unit === "usd" ? row.cost : row.tokens));
    }
    for (const [key, amount] of used) {
      statuses.push({
        budget,
        key,
        used: amount,
        window,
        evaluation: evaluateBudget({ budget, used: amount, now, window, alreadyAlerted: [] }),
      });
    }
  }
  return statuses;
}

/** Providers a per_provider budget has exhausted in its current window. */
export function spentProviders(statuses: readonly BudgetStatus[]): Set<string> {
  const spent = new Set<string>();
  for (const status of statuses) {
    if (status.budget.scope === "per_provider" && status.evaluation.exhausted) spent.add(status.key);
  }
  return spent;
}
