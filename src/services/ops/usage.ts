/**
 * Recording usage (`POST /v1/usage`): one row per request, rolled into hourly aggregates and the
 * spike buckets in the same transaction, idempotent on `request_id`.
 */
import { z } from "zod";
import { costOf, tokensOf } from "../../guards/budget.ts";
import { inTransaction } from "../../store/pool.ts";
import type { OpsContext } from "./context.ts";

const HOUR_MS = 3_600_000;

/** Optional text: absent, null and "" all mean "not named". */
const optionalName = (max: number) =>
  z.preprocess(
    (value) => (value === null || (typeof value === "string" && value.trim() === "") ? undefined : value),
    z.string().trim().max(max).optional(),
  );

const tokenCount = z.int("must be a whole number of tokens").min(0, "must not be negative");

export const usageBodySchema = z.object({
  provider: z.string().trim().min(1, "must not be empty").max(128),
  model: optionalName(200),
  agent: optionalName(128),
  input_tokens: tokenCount,
  output_tokens: tokenCount,
  cost_usd: z.number().min(0, "must not be negative").nullish(),
  cached: z.boolean().nullish(),
  request_id: optionalName(200),
});

export type UsageInput = z.output<typeof usageBodySchema>;

/** What a usage counts against: the keys budgets split by. */
export interface UsageIdentity {
  provider: string;
  model: string | null;
  agent: string | null;
}

export interface RecordedUsage {
  /** true when `request_id` was seen before: nothing was counted again. */
  duplicate: boolean;
  /** The recorded request's keys (the first one's, for a duplicate). */
  usage: UsageIdentity;
  tokens_spent: number;
}

export async function recordUsage(
  ctx: OpsContext,
  input: UsageInput,
  apiKey: string | null,
): Promise<RecordedUsage> {
  const now = ctx.now();
  const identity: UsageIdentity = {
    provider: input.provider,
    model: input.model ?? null,
    agent: input.agent ?? null,
  };
  const tokens = tokensOf(input);
  // A cached answer spent nothing: unless the agent says what it cost, it costs 0.
  const cost =
    input.cached && input.cost_usd == null
      ? { cost_usd: 0, source: "prices" as const }
      : costOf(input, ctx.config.cost_management.prices);
  const hour = new Date(Math.floor(now / HOUR_MS) * HOUR_MS);
  const spikeWindow = ctx.config.cost_management.spike.window;
  const spikeBucket = new Date(Math.floor(now / spikeWindow) * spikeWindow);

  const result = await inTransaction(ctx.db, async (client) => {
    const inserted = await client.query(
      `insert into usage_events (request_id, at, provider, model, agent, input_tokens, output_tokens, cached,
                                 tokens_spent, tokens_saved, cost_usd, cost_source, api_key)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       on conflict ((coalesce(api_key, '')), request_id) where request_id is not null do nothing
       returning id`,
      [
        input.request_id ?? null,
        new Date(now),
        identity.provider,
        identity.model,
        identity.agent,
        input.input_tokens,
        input.output_tokens,
        input.cached === true,
        tokens.spent,
        tokens.saved,
        cost.cost_usd,
        cost.source,
        apiKey,
      ],
    );
    if (inserted.rowCount === 0) {
      // A retry of a request already counted: answer for the first one, count nothing.
      const { rows } = await client.query<{ provider: string; model: string | null; agent: string | null }>(
        "select provider, model, agent from usage_events where request_id = $1 and coalesce(api_key, '') = coalesce($2, '')",
        [input.request_id, apiKey],
      );
      const first = rows[0];
      return { duplicate: true, usage: first ?? identity, tokens_spent: 0 };
    }
    // Aggregates first, spike bucket second: every writer takes the row locks in this order.
    await client.query(
      `insert into usage_hourly (hour, provider, model, agent, requests, cached_requests, input_tokens,
                                 output_tokens, tokens_spent, tokens_saved, cost_usd)
       values ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10)
       on conflict (hour, provider, model, agent) do update set
         requests = usage_hourly.requests + 1,
         cached_requests = usage_hourly.cached_requests + excluded.cached_requests,
         input_tokens = usage_hourly.input_tokens + excluded.input_tokens,
         output_tokens = usage_hourly.output_tokens + excluded.output_tokens,
         tokens_spent = usage_hourly.tokens_spent + excluded.tokens_spent,
         tokens_saved = usage_hourly.tokens_saved + excluded.tokens_saved,
         cost_usd = usage_hourly.cost_usd + excluded.cost_usd`,
      [
        hour,
        identity.provider,
        identity.model ?? "",
        identity.agent ?? "",
        input.cached === true ? 1 : 0,
        input.input_tokens,
        input.output_tokens,
        tokens.spent,
        tokens.saved,
        cost.cost_usd,
      ],
    );
    if (tokens.spent > 0) {
      await client.query(
        `insert into usage_spike_buckets (bucket_start, tokens) values ($1, $2)
         on conflict (bucket_start) do update set tokens = usage_spike_buckets.tokens + excluded.tokens`,
        [spikeBucket, tokens.spent],
      );
    }
    return { duplicate: false, usage: identity, tokens_spent: tokens.spent };
  });

  if (!result.duplicate) {
    const provider = identity.provider;
    if (input.cached) ctx.counters.usageTokens.inc({ provider, kind: "saved" }, tokens.saved);
    else {
      ctx.counters.usageTokens.inc({ provider, kind: "input" }, input.input_tokens);
      ctx.counters.usageTokens.inc({ provider, kind: "output" }, input.output_tokens);
    }
    ctx.counters.usageCost.inc({ provider }, cost.cost_usd);
  }
  return result;
}
