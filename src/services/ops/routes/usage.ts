import type { FastifyInstance } from "fastify";
import { assertMayActFor, requireScope } from "../../../http/auth.ts";
import { parseBody } from "../../../http/errors.ts";
import { answerUsage } from "../budget-alerts.ts";
import { budgetStatuses, budgetView } from "../budgets.ts";
import type { OpsContext } from "../context.ts";
import type { RoutingService } from "../routing.ts";
import { checkSpike } from "../spike-alerts.ts";
import { recordUsage, usageBodySchema } from "../usage.ts";

/**
 * `POST /v1/usage` records first (committed before anything is answered), then evaluates the
 * budgets on the committed totals and raises threshold and spike alerts. A retry with the same
 * request_id is answered from the current totals without counting again.
 */
export function usageRoutes(ctx: OpsContext, routing: RoutingService) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post("/v1/usage", async (request) => {
      const key = requireScope(request, "usage");
      const body = parseBody(request, usageBodySchema);
      if (body.agent !== undefined) assertMayActFor(request, body.agent);
      const recorded = await recordUsage(ctx, body, key.name);
      const answer = await answerUsage(ctx, routing, recorded.usage);
      if (recorded.tokens_spent > 0) await checkSpike(ctx);
      return recorded.duplicate ? { ...answer, duplicate: true } : answer;
    });

    app.get("/v1/budgets", async (request) => {
      requireScope(request, ["read", "usage"]);
      const statuses = await budgetStatuses(ctx, ctx.now());
      return { budgets: statuses.map(budgetView) };
    });
  };
}
