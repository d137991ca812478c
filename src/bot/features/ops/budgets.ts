import { GLOBAL_KEY } from "../../../guards/budget.ts";
import type { BudgetStatus } from "../../../services/ops/budgets.ts";
import type { BotContext } from "../../context.ts";
import { b, code, type Part } from "../../format/index.ts";
import { clockTime, grouped, timeUntil } from "./time.ts";

const BAR_CELLS = 10;

/** "████████░░": a cell per 10 %, rounded down so a bar is never fuller than the budget. */
export function progressBar(pct: number): string {
  const filled = Math.max(0, Math.min(BAR_CELLS, Math.floor(pct / (100 / BAR_CELLS))));
  return "█".repeat(filled) + "░".repeat(BAR_CELLS - filled);
}

function amount(ctx: BotContext, value: number, unit: "tokens" | "usd"): string {
  return unit === "usd"
    ? ctx.t("ops-amount-usd", { amount: value.toFixed(2) })
    : ctx.t("ops-amount-tokens", { amount: grouped(value) });
}

/** `/budgets`: each budget and key with a bar, percent, use of limit and time to reset. */
export function budgetsMessage(
  ctx: BotContext,
  statuses: readonly BudgetStatus[],
  now: number,
  timeZone: string,
): Part[] {
  if (statuses.length === 0) return [ctx.t("ops-budgets-none")];
  const blocks: Part[] = [b(ctx.t("ops-budgets-title"))];
  for (const status of statuses) {
    const { budget, evaluation } = status;
    const who = status.key === GLOBAL_KEY ? ctx.t("ops-budget-global") : status.key;
    const percent = `${evaluation.pct.toFixed(1)} %`;
    blocks.push([
      "\n\n",
      b(budget.name),
      ` · ${who}`,
      "\n",
      code(progressBar(evaluation.pct)),
      ` ${percent}`,
      evaluation.exhausted ? ` ⚠️ ${ctx.t("ops-budget-exhausted")}` : "",
      "\n",
      ctx.t("ops-budget-usage", {
        used: amount(ctx, status.used, budget.unit),
        limit: amount(ctx, budget.limit, budget.unit),
      }),
      " · ",
      ctx.t("ops-budget-resets", {
        time: timeUntil(ctx, evaluation.resets_in_ms),
        at: clockTime(evaluation.resets_at, now, timeZone),
      }),
    ]);
  }
  return blocks;
}
