import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { assertMayActFor, requireScope } from "../../src/http/auth.ts";
import { parseBody } from "../../src/http/errors.ts";
import { writeAudit } from "../../src/store/audit.ts";
import { type Db, inTransaction } from "../../src/store/pool.ts";

const EchoBody = z.object({
  agent: z.string(),
  labels: z.record(z.string(), z.string()).optional(),
  items: z.array(z.object({ title: z.string() })).optional(),
});

/** Test-only routes standing in for the features later issues add under /v1. */
export function testRoutes(db: Db, hooks: { beforeCommit?: () => Promise<void> } = {}) {
  return async (app: FastifyInstance) => {
    app.post("/v1/test/echo", async (request) => {
      requireScope(request, "alerts");
      const body = parseBody(request, EchoBody);
      assertMayActFor(request, body.agent);
      return { ok: true, body };
    });

    app.get("/v1/test/admin", async (request) => {
      requireScope(request, "admin");
      return { ok: true };
    });

    app.post("/v1/test/audit", async (request, reply) => {
      const key = requireScope(request, "alerts");
      // No trace id passed: it must come from the request's async context.
      await writeAudit(db, { actor: { type: "api_key", id: key.name }, action: "test.audit" });
      return reply.code(202).send({ ok: true });
    });

    app.post("/v1/test/commit", async (request, reply) => {
      requireScope(request, "alerts");
      const body = parseBody(request, z.object({ key: z.string() }));
      await inTransaction(db, async (client) => {
        await client.query("insert into settings (key, value) values ($1, '{}')", [body.key]);
        await hooks.beforeCommit?.();
      });
      return reply.code(202).send({ key: body.key, status: "committed" });
    });

    app.get("/v1/test/boom", async () => {
      throw new Error("internal detail: connection string postgres://u:hunter2@db");
    });
  };
}
