import type { FastifyInstance } from "fastify";
import { requireKey, requireScope } from "../../../http/auth.ts";
import { parseBody } from "../../../http/errors.ts";
import { listChecks } from "../checks/service.ts";
import type { OpsContext } from "../context.ts";
import type { ModeService } from "../mode.ts";
import { type RoutingService, routeBodySchema } from "../routing.ts";

/** Routing, mode and health checks: what agents ask before and while they work. */
export function statusRoutes(ctx: OpsContext, routing: RoutingService, mode: ModeService) {
  const routeBody = routeBodySchema(ctx.config);
  return async (app: FastifyInstance): Promise<void> => {
    app.post("/v1/route", async (request) => {
      requireScope(request, ["usage", "read"]);
      // An empty body means "no preference": the strongest model of the best provider.
      const body = parseBody(request, routeBody);
      const decision = await routing.decide({ complexity: body.complexity });
      return {
        provider: decision.provider,
        model: decision.model,
        fallbacks: decision.fallbacks,
        reason: decision.reason,
        skipped: decision.skipped,
        strategy: decision.strategy,
        tier: decision.tier,
        failover: ctx.config.routing.failover,
      };
    });

    // Every agent needs the mode, whatever its key's scopes.
    app.get("/v1/mode", async (request) => {
      requireKey(request);
      return mode.view();
    });

    app.get("/v1/checks", async (request) => {
      requireScope(request, ["read", "breakers", "usage"]);
      return { checks: await listChecks(ctx) };
    });
  };
}
