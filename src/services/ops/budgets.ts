/**
 * Budget state, computed from the clock and the hourly aggregates: there is no reset job that
 * could fail, a window is simply the time range `now` falls in (src/guards/budget-window.ts).
 */

import type { Budget, Config } from "../../config/index.ts";
import {
  type BudgetEvaluation,
  type BudgetScope,
  budgetKeyFor,
  evaluateBudget,
  GLOBAL_KEY,
} from "../../guards/budget.ts";
import { type BudgetWindow, budgetWindow } from "../../guards/budget-window.ts";
import type { Db, DbClient } from "../../store/pool.ts";
import { opsTimeZone } from "./context.ts";

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
 * Spent tokens and cost per provider, model and agent recorded in [start, end). Whole hours come
 * from the hourly aggregates (a monthly window reaches past the per-request rows' retention). When
 * the window starts inside an hour (zones with a half-hour offset), that first part-hour is summed
 * from the per-request rows, so a local midnight splits usage exactly. When `end` falls inside an
 * hour, that hour's aggregate is taken whole and the requests recorded from `end` on are subtracted:
 * for `end` = now there are none, so the hot path (every usage report, every routing decision) reads
 * an empty index range instead of summing the current hour's requests one by one. Both edges are
 * exact because each request and its hourly aggregate are written in one transaction (usage.ts);
 * with both edges in one hour, the part-hour from `start` less the part from `end` is [start, end).
 * A key whose requests all came after `end` nets to no request and is left out, as if unread.
 */
async function totalsBetween(db: Db | DbClient, start: number, end: number): Promise<TotalsRow[]> {
  const firstWholeHour = Math.ceil(start / HOUR_MS) * HOUR_MS;
  const endOfLastHour = Math.ceil(end / HOUR_MS) * HOUR_MS;
  const { rows } = await db.query<TotalsRow>(
    `select provider, model, agent, sum(tokens_spent)::bigint as tokens, sum(cost_usd)::float8 as cost
       from (select provider, model, agent, requests, tokens_spent, cost_usd
               from usage_hourly where hour >= $2 and hour < $4
             union all
             select provider, coalesce(model, ''), coalesce(agent, ''), 1, tokens_spent, cost_usd
               from usage_events where at >= $1 and at < $2
             union all
             select provider, coalesce(model, ''), coalesce(agent, ''), -1, -tokens_spent, -cost_usd
               from usage_events where at >= $3 and at < $4) as usage
      group by provider, model, agent
     having sum(requests) > 0`,
    [new Date(start), new Date(firstWholeHour), new Date(end), new Date(endOfLastHour)],
  );
  return rows;
}

/** Keys a budget always shows, used or not: global budgets, and configured providers. */
function defaultKeys(config: Config, scope: BudgetScope): string[] {
  switch (scope) {
    case "global":
      return [GLOBAL_KEY];
    case "per_provider":
      return config.routing.providers.map((provider) => provider.name);
    case "per_agent":
      return Object.keys(config.agents);
    case "per_model":
      return [];
  }
}

/** What budget statuses are read from: ops' context, or the digest's snapshot of the database. */
export interface BudgetSource {
  config: Config;
  db: Db | DbClient;
}

/**
 * Every budget for every key it has, at the instant `at` (epoch ms): each budget's window is the
 * one `at` falls in, in the ops time zone, and its usage is what was recorded in that window up to
 * and including `at`. The keys are those with usage plus the default ones. `alreadyAlerted` is left
 * empty here; the threshold alerts read their own markers.
 *
 * This is the one definition of a budget's window and usage: /budgets, GET /v1/budgets, routing,
 * the threshold alerts and the daily digest (at the instant just before its window's end) all read
 * it, so a report can never put a budget in another day or month than the budget itself does. For
 * `at` = now the count is everything in the window (there is no later usage yet); for a past
 * instant, usage recorded after it is left out, so a late digest says what the on-time one would
 * have said.
 */
export async function budgetStatuses(source: BudgetSource, at: number): Promise<BudgetStatus[]> {
  const timeZone = opsTimeZone(source.config);
  // Usage is recorded at whole milliseconds: "up to and including at" is "before at + 1 ms".
  const usageEnd = at + 1;
  const totalsByWindowStart = new Map<number, Promise<TotalsRow[]>>();
  const statuses: BudgetStatus[] = [];
  for (const budget of source.config.cost_management.budgets) {
    const window = budgetWindow(at, budget.window, timeZone);
    let totals = totalsByWindowStart.get(window.start);
    if (!totals) {
      totals = totalsBetween(source.db, window.start, usageEnd);
      totalsByWindowStart.set(window.start, totals);
    }
    const used = new Map<string, number>();
    for (const key of defaultKeys(source.config, budget.scope)) used.set(key, 0);
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
        evaluation: evaluateBudget({ budget, used: amount, now: at, window, alreadyAlerted: [] }),
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
