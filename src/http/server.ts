import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Coordinator } from "../coord/types.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import { randomHex } from "../observability/random.ts";
import { enterTrace } from "../observability/trace.ts";
import type { Db } from "../store/pool.ts";
import { type ApiKey, createKeyring } from "./api-keys.ts";
import {
  DEFAULT_FAILED_AUTH_LIMIT,
  type FailedAuthLimit,
  installAuth,
  type KeyRateLimit,
  requireKey,
} from "./auth.ts";
import { installErrorHandlers, sendError } from "./errors.ts";
import { decorateRequestTrace, formatTraceparent, requestTrace } from "./request-trace.ts";

export type ComponentState = "ok" | "degraded" | "down" | "starting";

export interface ComponentStatus {
  name: string;
  state: ComponentState;
  detail?: string;
}

export interface HttpDeps {
  db: Db;
  coord: Coordinator;
  log: Logger;
  metrics: Metrics;
  /** Keys from PITWALL_API_KEYS and `api.keys`, together; duplicates are refused. */
  apiKeys: ApiKey[];
  /** true: the client address comes from X-Forwarded-For (set only behind a proxy you run). */
  trustProxy?: boolean;
  failedAuthLimit?: FailedAuthLimit;
  /** `api.key_rate_limit`; null or absent: valid keys are not throttled. */
  keyRateLimit?: KeyRateLimit | null;
  /** Default 1 MB. */
  bodyLimitBytes?: number;
  /** Components besides the database shown by /ready, /health and /healthz (telegram, coordination, ...). */
  components?: () => ComponentStatus[];
  /** For /healthz: true once migrations ran and the services started. Default: always true. */
  startupComplete?: () => boolean;
  /** Route plugins (later features); routes under /v1 are authenticated automatically. */
  registerRoutes?: Array<(app: FastifyInstance) => Promise<void>>;
  /** How long /ready waits for `select 1`. Default 2 s. */
  readyTimeoutMs?: number;
}

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const SECRET_QUERY_PARAM = /key|token|secret|password|passwd|auth|signature|sig$/i;

/** The URL for logs: query values whose names look secret are replaced. */
export function loggableUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const name of [...params.keys()]) {
    if (SECRET_QUERY_PARAM.test(name)) params.set(name, "[REDACTED]");
  }
  const query = params.toString();
  return query === "" ? url.slice(0, q) : `${url.slice(0, q)}?${query}`;
}

/**
 * Builds the HTTP service (not listening; see listen.ts). Everything it needs comes in `deps`, so
 * tests build it against a throwaway database and main.ts wires the real one.
 */
export async function createHttpServer(deps: HttpDeps): Promise<FastifyInstance> {
  const bodyLimitBytes = deps.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const keyring = createKeyring(deps.apiKeys);
  const components = deps.components ?? (() => []);
  const startupComplete = deps.startupComplete ?? (() => true);
  const readyTimeoutMs = deps.readyTimeoutMs ?? 2_000;

  const app = Fastify({
    loggerInstance: deps.log,
    // Our own one-line access log below; Fastify's would log the URL with its query string.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "req_id" }),
    bodyLimit: bodyLimitBytes,
    // Route handlers validate their own parameters (a breaker name over 64 chars is a 400 naming
    // the rule); Fastify's default of 100 would answer 414 before any handler runs.
    routerOptions: { maxParamLength: 1024 },
    trustProxy: deps.trustProxy ?? false,
    // Malformed URLs are refused by the router before any hook runs; answer them in our shape too.
    frameworkErrors: (err, request, reply) => {
      request.log.info(
        { method: request.method, url: loggableUrl(request.url), status: 400 },
        "request refused",
      );
      reply.header("traceparent", formatTraceparent(requestTrace(request)));
      reply.header("x-request-id", request.id);
      return sendError(err, request, reply, { bodyLimitBytes });
    },
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && REQUEST_ID.test(given) ? given : randomHex(8);
    },
    // Keep serving during shutdown until in-flight requests finish; new ones get 503.
    return503OnClosing: true,
    // Typed with Fastify's base logger: our pino Logger's generic type does not widen to it, and
    // route plugins everywhere take the plain FastifyInstance.
  }) as unknown as FastifyInstance;

  // The API speaks JSON only: a text/plain body would otherwise reach handlers as a string.
  app.removeContentTypeParser("text/plain");

  decorateRequestTrace(app);

  app.addHook("onRequest", (request, reply, done) => {
    const trace = request.trace;
    // Binds the trace to the rest of this request's async work: logs and audit rows pick it up.
    enterTrace(trace);
    reply.header("traceparent", formatTraceparent(trace));
    reply.header("x-request-id", request.id);
    done();
  });

  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    const status = reply.statusCode;
    deps.metrics.httpDuration.observe(
      { method: request.method, route, status: String(status) },
      reply.elapsedTime / 1000,
    );
    // Hot routes (alert ingest, `config: { quietAccessLog: true }`) log their successes at debug:
    // each is recorded durably anyway and counted in the metric above; so are their 503s (the
    // route logs one summary while it sheds load, not a line per refused request). Their 4xx
    // stay at info and other 5xx at error, like every other route's lines.
    const quiet =
      (status < 400 || status === 503) &&
      (request.routeOptions.config as { quietAccessLog?: boolean } | undefined)?.quietAccessLog;
    const level = status >= 500 ? "error" : quiet ? "debug" : "info";
    if (deps.log.isLevelEnabled(level)) {
      const line = {
        method: request.method,
        url: loggableUrl(request.url),
        route,
        status,
        duration_ms: Math.round(reply.elapsedTime * 10) / 10,
        trace_id: requestTrace(request).traceId,
        client: request.ip,
      };
      request.log[level](line, "request completed");
    }
    done();
  });

  installErrorHandlers(app, { bodyLimitBytes });
  installAuth(app, {
    keyring,
    coord: deps.coord,
    db: deps.db,
    metrics: deps.metrics,
    failedAuthLimit: deps.failedAuthLimit ?? DEFAULT_FAILED_AUTH_LIMIT,
    keyRateLimit: deps.keyRateLimit ?? null,
  });

  app.get("/health", async () => ({ status: "ok", components: components() }));

  app.get("/healthz", async (_request, reply) => {
    if (!startupComplete()) return reply.code(503).send({ status: "starting", components: components() });
    return { status: "started", components: components() };
  });

  app.get("/ready", async (_request, reply) => {
    const database = await pingDatabase(deps.db, readyTimeoutMs);
    const all = [database, ...components()];
    if (database.state !== "ok") return reply.code(503).send({ status: "unavailable", components: all });
    const degraded = all.some((c) => c.state !== "ok");
    return { status: degraded ? "degraded" : "ready", components: all };
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });

  app.get("/v1/whoami", async (request) => {
    const key = requireKey(request);
    // agents: null means the key may act for any agent.
    return { key: key.name, scopes: key.scopes, agents: key.agents ?? null };
  });

  for (const register of deps.registerRoutes ?? []) {
    await app.register(async (scope) => register(scope));
  }

  // Plugin errors surface here rather than at listen; routes are only added through registerRoutes.
  await app.ready();
  return app;
}

/**
 * `select 1` within `timeoutMs`. A hung pool (every connection stuck) counts as down: the service
 * cannot commit anything then either.
 */
export async function pingDatabase(db: Db, timeoutMs: number): Promise<ComponentStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  const query = db.query("select 1").then(
    () => "ok" as const,
    (err: unknown) => err as { code?: string; message?: string },
  );
  try {
    const result = await Promise.race([query, timeout]);
    if (result === "ok") return { name: "database", state: "ok" };
    if (result === "timeout") {
      return { name: "database", state: "down", detail: `no answer to select 1 within ${timeoutMs} ms` };
    }
    // The code only: driver messages can name hosts and users, and /ready needs no key.
    return { name: "database", state: "down", detail: `unreachable (${result.code ?? "connection error"})` };
  } finally {
    clearTimeout(timer);
  }
}
