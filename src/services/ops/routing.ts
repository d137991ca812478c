/**
 * `POST /v1/route`: the provider and model to use now. The guard (src/guards/routing.ts) orders
 * the providers; this service tells it which breakers are open, which per-provider budgets are
 * spent, and the latencies agents reported.
 */
import { z } from "zod";
import type { Config } from "../../config/index.ts";
import { BreakerState } from "../../guards/circuit-breaker.ts";
import { chooseRoute, type RouteDecision } from "../../guards/routing.ts";
import type { BreakerService } from "./breakers.ts";
import { type BudgetStatus, budgetStatuses, spentProviders } from "./budgets.ts";
import type { OpsContext } from "./context.ts";
import { serviceStats } from "./service-stats.ts";

/** How far back latency-aware routing looks at reported latencies. */
const LATENCY_WINDOW_MS = 15 * 60_000;

export function routeBodySchema(config: Config) {
  const tiers = [
    ...new Set(["high", "medium", "low", ...Object.keys(config.routing.complexity_thresholds)]),
  ].map((tier) => tier.toLowerCase());
  return z
    .object({
      complexity: z
        .union([
          z
            .string()
            .trim()
            .toLowerCase()
            .refine((tier) => tiers.includes(tier), `expected one of ${tiers.join(", ")}, or a score 0..1`),
          z.number().min(0).max(1),
        ])
        .nullish(),
    })
    .nullish()
    .transform((body) => ({ complexity: body?.complexity ?? null }));
}

export interface RouteRequest {
  complexity?: string | number | null;
  /** Providers not to suggest (the caller's own, when looking for another). */
  exclude?: readonly string[];
  /** Budget states already read by the caller (saves reading them again). */
  statuses?: readonly BudgetStatus[];
}

export interface RoutingService {
  decide(request: RouteRequest): Promise<RouteDecision>;
}

export function createRoutingService(ctx: OpsContext, breakers: BreakerService): RoutingService {
  return {
    async decide(request) {
      const now = ctx.now();
      const routing = ctx.config.routing;
      const statuses = request.statuses ?? (await budgetStatuses(ctx, now));
      const spent = spentProviders(statuses);
      const open = new Set(
        (await breakers.list())
          .filter((breaker) => breaker.snapshot.state === BreakerState.Open)
          .map((breaker) => breaker.name),
      );
      const latency = new Map<string, number>();
      if (routing.strategy === "latency_aware") {
        for (const entry of await serviceStats(ctx.db, { from: now - LATENCY_WINDOW_MS, to: now }, 1)) {
          if (entry.mean_ms !== null) latency.set(entry.name, entry.mean_ms);
        }
      }
      const exclude = new Set(request.exclude ?? []);
      return chooseRoute({
        providers: routing.providers.filter((provider) => !exclude.has(provider.name)),
        strategy: routing.strategy,
        complexity: request.complexity ?? null,
        complexityThresholds: routing.complexity_thresholds,
        breakerOpen: (provider) => open.has(provider),
        budgetSpent: (provider) => spent.has(provider),
        latencyMs: (provider) => latency.get(provider),
      });
    },
  };
}
