import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { requireScope } from "../../../http/auth.ts";
import { parseBody, parseParams } from "../../../http/errors.ts";
import type { Actor } from "../../../store/audit.ts";
import { type BreakerService, breakerNameSchema, breakerReportSchema, breakerView } from "../breakers.ts";
import type { OpsContext } from "../context.ts";
import { isoOrUndefined } from "../text.ts";

const nameParams = z.object({ name: breakerNameSchema });

function keyActor(request: FastifyRequest, scope: "breakers"): Actor {
  const key = requireScope(request, scope);
  return { type: "api_key", id: key.name, name: key.name };
}

export function breakerRoutes(ctx: OpsContext, breakers: BreakerService) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post("/v1/breakers/:name/report", async (request) => {
      const actor = keyActor(request, "breakers");
      const { name } = parseParams(request, nameParams);
      const body = parseBody(request, breakerReportSchema);
      const { result } = await breakers.report(name, body, actor);
      const view = breakerView(name, result.state, ctx.now());
      return {
        state: view.state,
        failures: view.failures,
        ...(view.retry_at ? { retry_at: view.retry_at } : {}),
        ...(view.opened_at ? { opened_at: view.opened_at } : {}),
      };
    });

    app.get("/v1/breakers", async (request) => {
      requireScope(request, ["read", "breakers"]);
      const now = ctx.now();
      return {
        breakers: (await breakers.list()).map((entry) => breakerView(entry.name, entry.snapshot, now)),
      };
    });

    app.get("/v1/breakers/:name/permit", async (request) => {
      const actor = keyActor(request, "breakers");
      const { name } = parseParams(request, nameParams);
      const permit = await breakers.permit(name, actor);
      const leaseUntil = isoOrUndefined(permit.lease_until);
      const retryAt = isoOrUndefined(permit.retry_at);
      return {
        allowed: permit.allowed,
        state: permit.state.state,
        ...(leaseUntil ? { lease_until: leaseUntil } : {}),
        ...(retryAt ? { retry_at: retryAt } : {}),
        ...(permit.refusal ? { reason: permit.refusal } : {}),
      };
    });
  };
}
