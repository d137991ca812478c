/**
 * What a usage report is answered with, and the threshold alerts it may raise: each threshold
 * once per budget, key and window. The once is a row in `budget_alerts` (primary key on all four):
 * whichever request inserts it raises the alert, so 20 concurrent reports crossing 80 % raise one.
 * Evaluation runs after the usage has committed, on totals that include every committed report,
 * so a crossing is never missed because two reports could not see each other.
 */
import {
  type BudgetDecision,
  type BudgetEvaluation,
  budgetKeysFor,
  evaluateBudget,
  GLOBAL_KEY,
  mostSevere,
} from "../../guards/budget.ts";
import { budgetWindow, formatTimeUntil } from "../../guards/budget-window.ts";
import { type BudgetStatus, type BudgetView, budgetStatuses, budgetView } from "./budgets.ts";
import { type OpsContext, opsTimeZone } from "./context.ts";
import type { RoutingService } from "./routing.ts";
import { amount, localDateTime } from "./text.ts";
import type { UsageIdentity } from "./usage.ts";

export interface UsageAnswer {
  action: BudgetDecision;
  suggested_provider?: string;
  budgets: BudgetView[];
}

const toBasisPoints = (ratio: number) => Math.round(ratio * 10_000);

/** "80", "95.5": the threshold as people write it. */
function percentText(ratio: number): string {
  return String(Math.round(ratio * 1000) / 10);
}

export function budgetAlertKey(budget: string, key: string, threshold: number): string {
  return `budget:${budget}:${key}:${percentText(threshold)}`;
}

interface Evaluated {
  status: BudgetStatus;
  evaluation: BudgetEvaluation;
}

/** The budgets a usage counts against, evaluated now, with its threshold alerts raised. */
export async function answerUsage(
  ctx: OpsContext,
  routing: RoutingService,
  usage: UsageIdentity,
): Promise<UsageAnswer> {
  const now = ctx.now();
  const statuses = await budgetStatuses(ctx, now);
  const relevant = budgetKeysFor(usage, ctx.config.cost_management.budgets).map(({ budget, key }) => {
    const found = statuses.find((status) => status.budget.name === budget.name && status.key === key);
    if (found) return found;
    const window = budgetWindow(now, budget.window, opsTimeZone(ctx.config));
    return {
      budget,
      key,
      used: 0,
      window,
      evaluation: evaluateBudget({ budget, used: 0, now, window, alreadyAlerted: [] }),
    };
  });

  const alerted = await alertedThresholds(ctx, relevant);
  let alternatives: string[] | undefined;
  const evaluated: Evaluated[] = [];
  for (const status of relevant) {
    const { budget } = status;
    // Switching provider helps only a budget that is per provider (or per model); a global or
    // per-agent budget is spent whichever provider is used.
    const canSwitch =
      status.evaluation.exhausted &&
      budget.action.includes("switch_provider") &&
      (budget.scope === "per_provider" || budget.scope === "per_model");
    if (canSwitch && alternatives === undefined) {
      const route = await routing.decide({ exclude: [usage.provider], statuses });
      alternatives =
        route.provider === null ? [] : [route.provider, ...route.fallbacks.map((f) => f.provider)];
    }
    const evaluation = evaluateBudget({
      budget,
      used: status.used,
      now,
      window: status.window,
      alreadyAlerted: alerted.get(markerKey(budget.name, status.key, status.window.key)) ?? [],
      alternatives: canSwitch ? alternatives : [],
    });
    evaluated.push({ status: { ...status, evaluation }, evaluation });
  }

  await raiseThresholdAlerts(ctx, evaluated);

  const action = mostSevere(evaluated.map((entry) => entry.evaluation.action));
  const suggested = evaluated.find(
    (entry) => entry.evaluation.action === action && entry.evaluation.suggested_provider !== null,
  )?.evaluation.suggested_provider;
  return {
    action,
    ...(suggested ? { suggested_provider: suggested } : {}),
    budgets: evaluated.map((entry) => budgetView(entry.status)),
  };
}

function markerKey(budget: string, key: string, windowKey: string): string {
  return JSON.stringify([budget, key, windowKey]);
}

async function alertedThresholds(
  ctx: OpsContext,
  statuses: readonly BudgetStatus[],
): Promise<Map<string, number[]>> {
  const alerted = new Map<string, number[]>();
  if (statuses.length === 0) return alerted;
  const { rows } = await ctx.db.query<{
    budget: string;
    key: string;
    window_key: string;
    threshold_bp: number;
  }>(
    `select budget, key, window_key, threshold_bp from budget_alerts
      where budget = any($1) and key = any($2) and window_key = any($3)`,
    [
      statuses.map((status) => status.budget.name),
      statuses.map((status) => status.key),
      statuses.map((status) => status.window.key),
    ],
  );
  for (const row of rows) {
    const key = markerKey(row.budget, row.key, row.window_key);
    alerted.set(key, [...(alerted.get(key) ?? []), row.threshold_bp / 10_000]);
  }
  return alerted;
}

async function raiseThresholdAlerts(ctx: OpsContext, evaluated: readonly Evaluated[]): Promise<void> {
  for (const { status, evaluation } of evaluated) {
    for (const threshold of evaluation.crossed) {
      const { budget, key, window } = status;
      const now = ctx.now();
      const claimed = await ctx.db.query(
        `insert into budget_alerts (budget, key, window_key, threshold_bp, alerted_at) values ($1, $2, $3, $4, $5)
         on conflict do nothing returning threshold_bp`,
        [budget.name, key, window.key, toBasisPoints(threshold), new Date(now)],
      );
      if (claimed.rowCount === 0) continue; // another request raised it
      // Alerts of an older window still open (the bookkeeping job had not run yet) are resolved
      // first, so this window's alert opens a new incident instead of repeating the old one.
      await resolvePastWindows(ctx, { budget: budget.name, key, currentWindow: window.key });
      const fired = await ctx.alerts.fire(budgetAlert(ctx, status, evaluation, threshold));
      if (!fired) {
        // Let the next report try again rather than lose the alert.
        await ctx.db.query(
          "delete from budget_alerts where budget = $1 and key = $2 and window_key = $3 and threshold_bp = $4",
          [budget.name, key, window.key, toBasisPoints(threshold)],
        );
      }
    }
  }
}

function budgetAlert(ctx: OpsContext, status: BudgetStatus, evaluation: BudgetEvaluation, threshold: number) {
  const { budget, key, window } = status;
  const timeZone = opsTimeZone(ctx.config);
  const who = key === GLOBAL_KEY ? "" : ` (${key})`;
  const exhausted = threshold >= 1;
  const resets = `resets in ${formatTimeUntil(evaluation.resets_in_ms)} (${localDateTime(window.end, timeZone)} ${timeZone})`;
  const outcome = exhausted
    ? ` Agents are told: ${evaluation.action}${evaluation.suggested_provider ? ` (to ${evaluation.suggested_provider})` : ""}.`
    : "";
  return {
    key: budgetAlertKey(budget.name, key, threshold),
    severity: exhausted ? ("critical" as const) : ("warning" as const),
    title: exhausted
      ? `Budget ${budget.name}${who} exhausted`
      : `Budget ${budget.name}${who} at ${percentText(threshold)} %`,
    text: `${amount(status.used, budget.unit)} of ${amount(budget.limit, budget.unit)} used (${evaluation.pct} %) in the ${budget.window} window ${window.key}; ${resets}.${outcome}`,
    source: "budget",
    labels: {
      alertname: "BudgetThreshold",
      budget: budget.name,
      key,
      threshold: `${percentText(threshold)}%`,
      window: window.key,
    },
  };
}

/**
 * Resolves threshold alerts of windows that have ended: a budget that reset is no longer at 80 %.
 * With `budget`/`key`, only theirs; else every budget's (the bookkeeping job).
 */
export async function resolvePastWindows(
  ctx: OpsContext,
  only?: { budget: string; key: string; currentWindow: string },
): Promise<number> {
  const now = ctx.now();
  const { rows } = await ctx.db.query<{
    budget: string;
    key: string;
    window_key: string;
    threshold_bp: number;
  }>(
    `select budget, key, window_key, threshold_bp from budget_alerts
      where resolved_at is null and ($1::text is null or (budget = $1 and key = $2))`,
    [only?.budget ?? null, only?.key ?? null],
  );
  const timeZone = opsTimeZone(ctx.config);
  let resolved = 0;
  for (const row of rows) {
    const budget = ctx.config.cost_management.budgets.find((entry) => entry.name === row.budget);
    const current = only?.currentWindow ?? (budget ? budgetWindow(now, budget.window, timeZone).key : null);
    if (current === row.window_key) continue;
    const { rowCount } = await ctx.db.query(
      `update budget_alerts set resolved_at = $5
        where budget = $1 and key = $2 and window_key = $3 and threshold_bp = $4 and resolved_at is null`,
      [row.budget, row.key, row.window_key, row.threshold_bp, new Date(now)],
    );
    if (rowCount === 0) continue; // another instance resolved it
    resolved++;
    await ctx.alerts.resolve(
      budgetAlertKey(row.budget, row.key, row.threshold_bp / 10_000),
      budget ? `the ${budget.window} window ${row.window_key} ended; the budget has reset` : "budget removed",
    );
  }
  return resolved;
}
