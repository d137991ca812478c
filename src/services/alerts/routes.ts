/**
 * HTTP API v1 for alerts (DESIGN.md): `POST /v1/alerts`, `POST /v1/alerts/alertmanager`,
 * `GET /v1/alerts`. Ingest answers 202 only after the group commit that holds the alert
 * committed; a database that cannot commit answers 503 (the error handler maps it), so nothing
 * is acknowledged that was not stored.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { alertsBodySchema, mapAlertmanagerWebhook } from "../../guards/alerts/index.ts";
import { requireScope } from "../../http/auth.ts";
import { HttpError, parseBody, parseQuery } from "../../http/errors.ts";
import { BatcherFullError } from "./batcher.ts";
import type { IngestItem, IngestResult } from "./ingest.ts";
import type { AlertsService } from "./service.ts";

export const MAX_LIST_LIMIT = 10_000;

const listQuerySchema = z.strictObject({
  status: z
    .enum(["firing", "acknowledged", "resolved", "silenced"], {
      error: "must be one of firing, acknowledged, resolved, silenced",
    })
    .optional(),
  limit: z.coerce
    .number({ error: `must be a whole number from 1 to ${MAX_LIST_LIMIT}` })
    .int(`must be a whole number from 1 to ${MAX_LIST_LIMIT}`)
    .min(1, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`)
    .max(MAX_LIST_LIMIT, `must be at most ${MAX_LIST_LIMIT}`)
    .default(100),
  cursor: z.string().max(64).optional(),
});

/** Cursors are opaque to clients: the last row's position, base64url. */
export function encodeCursor(seq: number): string {
  return Buffer.from(`s${seq}`).toString("base64url");
}

function decodeCursor(cursor: string): number {
  const match = /^s(\d{1,15})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) {
    throw new HttpError(
      400,
      "invalid_request",
      "query.cursor: not a cursor from this API; pass next_cursor as given",
    );
  }
  return Number(match[1]);
}

/** Seconds an overloaded ingest asks senders to wait. */
const OVERLOADED_RETRY_AFTER_S = 1;

/**
 * The service's ingest; a full queue is a 503 the sender can retry (nothing was taken). The
 * service counts and logs the refusals.
 */
async function ingest(service: AlertsService, items: IngestItem[]): Promise<IngestResult[]> {
  try {
    return await service.ingest(items);
  } catch (err) {
    if (!(err instanceof BatcherFullError)) throw err;
    throw new HttpError(
      503,
      "overloaded",
      `alerts arrive faster than they can be stored (${err.waiting} waiting); nothing of this request was recorded, retry in ${OVERLOADED_RETRY_AFTER_S} s`,
      undefined,
      { "retry-after": String(OVERLOADED_RETRY_AFTER_S) },
    );
  }
}

/** Ingest routes: successful answers are logged at debug (see the access log in src/http/server.ts). */
const HOT = { config: { quietAccessLog: true } };

export function alertsRoutes(service: AlertsService) {
  return async (app: FastifyInstance): Promise<void> => {
    app.post("/v1/alerts", HOT, async (request, reply) => {
      const key = requireScope(request, "alerts");
      const body = parseBody(request, alertsBodySchema);
      const sender = { type: "sender" as const, id: `api_key:${key.name}`, name: key.name };
      const traceId = request.trace.traceId;
      const results = await ingest(
        service,
        body.alerts.map((input): IngestItem => ({ input, sender, traceId })),
      );
      reply.code(202);
      return body.batch ? { results } : results[0];
    });

    app.post("/v1/alerts/alertmanager", HOT, async (request, reply) => {
      const key = requireScope(request, "alerts");
      const mapped = mapAlertmanagerWebhook(request.body);
      if (!mapped.ok) throw new HttpError(400, "invalid_request", mapped.reason);
      if (mapped.truncated > 0) {
        request.log.warn(
          { truncated: mapped.truncated, key: key.name },
          "Alertmanager left alerts out of this webhook (max_alerts); raise it to see them all",
        );
      }
      const traceId = request.trace.traceId;
      const results = await ingest(
        service,
        mapped.alerts.map(
          (input): IngestItem => ({
            input,
            sender: { type: "sender", id: `api_key:${key.name}`, name: input.source ?? key.name },
            traceId,
          }),
        ),
      );
      reply.code(202);
      return { results };
    });

    app.get("/v1/alerts", async (request) => {
      requireScope(request, ["read", "alerts"]);
      const query = parseQuery(request, listQuerySchema);
      const { alerts, nextSeq } = await service.list({
        status: query.status,
        limit: query.limit,
        afterSeq: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
      });
      return nextSeq === null ? { alerts } : { alerts, next_cursor: encodeCursor(nextSeq) };
    });
  };
}
