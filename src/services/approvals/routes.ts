/**
 * HTTP API v1, approvals (DESIGN.md):
 * - `POST /v1/approvals` -> 200 `{id, status: approved|denied, by: "policy", rule, reason, ...}` or
 *   202 `{id, status: "pending", expires_at, rule, reason, ...}`; 400 when the arguments are not a
 *   JSON object, 413 when they are over safety.input.max_length (denied, with the reason), 403 for
 *   an agent the key may not act for, 409 when an idempotency key is reused for another request,
 *   429 past safety.output.rate_limit_per_user.
 * - `GET /v1/approvals/:id?wait=N` long-polls up to N seconds (at most 60; larger values are
 *   clamped) and answers the Approval as it stands then.
 * - `GET /v1/approvals?status=&agent=&limit=&cursor=` lists, newest first.
 * Long polls end early with the current state when the server shuts down.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { approvalRequestSchema, isId } from "../../guards/approvals/index.ts";
import { type ApiKeyIdentity, mayActFor } from "../../http/api-keys.ts";
import { assertMayActFor, requireScope } from "../../http/auth.ts";
import { HttpError, parseBody, parseParams, parseQuery } from "../../http/errors.ts";
import { writeAudit } from "../../store/audit.ts";
import type { Db } from "../../store/pool.ts";
import { type ApprovalsService, MAX_WAIT_S, type RequestAnswer } from "./service.ts";
import type { ApprovalRow } from "./types.ts";

const STATUSES = ["pending", "approved", "denied", "expired"] as const;

const idParams = z.object({
  id: z.string().refine(isId, "an approval id is 16 letters and digits, as POST /v1/approvals returned it"),
});

const waitQuery = z.object({
  wait: z.coerce
    .number({ error: `wait is a number of seconds from 0 to ${MAX_WAIT_S}` })
    .min(0, "wait must not be negative")
    .optional(),
});

const listQuery = z.object({
  status: z.enum(STATUSES, { error: `status is one of ${STATUSES.join(", ")}` }).optional(),
  agent: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z
    .string()
    .regex(/^\d{1,15}$/, "cursor is the next_cursor of the previous page")
    .optional(),
});

export function policyAnswer(service: ApprovalsService, row: ApprovalRow) {
  const view = service.view(row);
  return {
    id: row.id,
    status: view.status,
    by: "policy" as const,
    rule: row.rule,
    reason: row.policy_reason,
    agent: row.agent,
    tool: row.tool,
    ...(row.original_tool !== row.tool ? { original_tool: row.original_tool } : {}),
    level: row.level,
    level_source: row.level_source,
    flags: row.flags,
    ...(view.grant ? { grant: view.grant } : {}),
  };
}

export function pendingAnswer(service: ApprovalsService, row: ApprovalRow) {
  const view = service.view(row);
  return { ...view, poll: `/v1/approvals/${row.id}?wait=${MAX_WAIT_S}` };
}

function readableBy(key: ApiKeyIdentity, row: ApprovalRow): boolean {
  return mayActFor(key, row.agent);
}

export function approvalsRoutes(opts: { service: ApprovalsService; db: Db; defaultTimeoutMs: number }) {
  const { service } = opts;
  const bodySchema = approvalRequestSchema(opts.defaultTimeoutMs);
  return async (app: FastifyInstance) => {
    // Shutdown: Fastify waits for in-flight requests; long polls answer now instead of in 60 s.
    app.addHook("preClose", async () => {
      service.waiters.drain();
    });

    app.post("/v1/approvals", async (request, reply) => {
      const key = requireScope(request, "approvals");
      const body = parseBody(request, bodySchema);
      try {
        assertMayActFor(request, body.agent);
      } catch (err) {
        await writeAudit(opts.db, {
          actor: { type: "api_key", id: key.name },
          action: "approval.forbidden",
          target: `agent:${body.agent}`,
          details: { agent: body.agent, tool: body.tool, allowed_agents: key.agents ?? null },
        });
        throw err;
      }
      const answer: RequestAnswer = await service.request(body, key);
      switch (answer.kind) {
        case "policy":
          return reply.code(200).send(policyAnswer(service, answer.row));
        case "pending":
          return reply.code(202).send(pendingAnswer(service, answer.row));
        case "conflict":
          throw new HttpError(
            409,
            "idempotency_conflict",
            `idempotency_key ${JSON.stringify(body.idempotency_key)} was used for another request (approval ${answer.row.id}); use a new key for a new request`,
            { approval_id: answer.row.id },
          );
        case "rate_limited": {
          const retryAfterS = Math.ceil(answer.retryAfterMs / 1000);
          throw new HttpError(
            429,
            "rate_limited",
            `key ${key.name} sent more than ${answer.limit} approval requests in ${Math.round(answer.perMs / 60_000)} min (safety.output.rate_limit_per_user); retry in ${retryAfterS} s — until then the call must not run`,
            { limit: answer.limit, per_ms: answer.perMs, status: "denied" },
            { "retry-after": String(retryAfterS) },
          );
        }
        case "refused": {
          const denied = {
            status: "denied",
            by: "policy",
            rule: "input_check",
            reason: answer.reason,
            agent: body.agent,
            tool: answer.decision.tool,
            level: answer.decision.level,
            level_source: answer.decision.levelSource,
          };
          if (answer.violation.code === "too_long") {
            throw new HttpError(413, "args_too_long", answer.reason, {
              ...denied,
              tokens: answer.violation.tokens,
              limit: answer.violation.limit,
            });
          }
          throw new HttpError(400, "invalid_request", `body.args: ${answer.reason}`, [
            { path: "body.args", message: answer.reason },
          ]);
        }
      }
    });

    app.get("/v1/approvals/:id", async (request, reply) => {
      const key = requireScope(request, ["approvals", "read"]);
      const { id } = parseParams(request, idParams);
      const { wait } = parseQuery(request, waitQuery);
      const found = await service.get(id);
      if (!found) throw new HttpError(404, "not_found", `no approval ${id}`);
      if (!readableBy(key, found)) assertMayActFor(request, found.agent);
      const waitMs = Math.min(MAX_WAIT_S, wait ?? 0) * 1000;
      if (waitMs <= 0) return service.view(found);
      // The client going away ends the wait (nobody to answer).
      const abort = new AbortController();
      const onClose = () => {
        if (!reply.raw.writableFinished) abort.abort();
      };
      reply.raw.once("close", onClose);
      try {
        const row = await service.waitForDecision(id, waitMs, abort.signal);
        return service.view(row ?? found);
      } finally {
        reply.raw.off("close", onClose);
      }
    });

    app.get("/v1/approvals", async (request) => {
      const key = requireScope(request, ["approvals", "read"]);
      const query = parseQuery(request, listQuery);
      if (query.agent !== undefined && !mayActFor(key, query.agent)) assertMayActFor(request, query.agent);
      const rows = await service.list({
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(query.agent === undefined ? {} : { agent: query.agent }),
        // "*" means any agent (as mayActFor reads it), so it is no filter.
        ...(key.agents === undefined || key.agents.includes("*") ? {} : { agents: key.agents }),
        limit: query.limit + 1,
        ...(query.cursor === undefined ? {} : { before: Number(query.cursor) }),
      });
      const page = rows.slice(0, query.limit);
      const last = page[page.length - 1];
      return {
        approvals: page.map((row) => service.view(row)),
        ...(rows.length > query.limit && last ? { next_cursor: String(last.seq) } : {}),
      };
    });
  };
}
