import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Coordinator } from "../coord/types.ts";
import type { Metrics } from "../observability/metrics.ts";
import { writeAudit } from "../store/audit.ts";
import type { Db } from "../store/pool.ts";
import { type ApiKeyIdentity, hasScope, type Keyring, mayActFor, type Scope } from "./api-keys.ts";
import { HttpError } from "./errors.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The verified key on `/v1` routes; null elsewhere. Holds no secret. */
    apiKey: ApiKeyIdentity | null;
  }
}

export interface FailedAuthLimit {
  /** Failed attempts allowed per client address per window; the next ones get 429. */
  count: number;
  perMs: number;
}

export const DEFAULT_FAILED_AUTH_LIMIT: FailedAuthLimit = { count: 10, perMs: 60_000 };

/** `api.key_rate_limit`: requests each valid key may make per period, shared by all instances. */
export interface KeyRateLimit {
  count: number;
  perMs: number;
}

export interface AuthOptions {
  keyring: Keyring;
  coord: Coordinator;
  db: Db;
  metrics: Metrics;
  failedAuthLimit: FailedAuthLimit;
  /** Null (the default): valid keys are never throttled, so alert ingest never is. */
  keyRateLimit?: KeyRateLimit | null;
}

export const UNAUTHORIZED_MESSAGE = "missing or invalid API key; send Authorization: Bearer <key>";

type Presented = { token: string; reason?: undefined } | { token?: undefined; reason: "missing" | "invalid" };

/**
 * The token of `Authorization: Bearer <key>`, else of `X-API-Key`. An Authorization header of
 * another scheme (a proxy's Basic credentials) does not hide an X-API-Key sent beside it.
 */
export function presentedKey(headers: FastifyRequest["headers"]): Presented {
  const authorization = headers.authorization;
  if (typeof authorization === "string" && authorization.trim() !== "") {
    const match = /^\s*bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match?.[1]) return { token: match[1] };
  }
  const headerKey = headers["x-api-key"];
  if (typeof headerKey === "string" && headerKey.trim() !== "") return { token: headerKey.trim() };
  if (typeof authorization === "string" && authorization.trim() !== "") return { reason: "invalid" };
  return { reason: "missing" };
}

/** True for the routes that need a key: everything under `/v1`. */
export function isProtectedRoute(routeUrl: string | undefined): routeUrl is string {
  return routeUrl !== undefined && (routeUrl === "/v1" || routeUrl.startsWith("/v1/"));
}

/**
 * Authenticates every matched `/v1` route before its body is read, so an unauthenticated client
 * cannot make the server parse a megabyte. A valid key is never limited here; failures are counted
 * per client address across instances (coordinator), audited, and past the limit answered 429.
 * Hooks added to the root instance apply to route plugins registered later too, so a new route
 * under `/v1` cannot forget authentication.
 */
export function installAuth(app: FastifyInstance, opts: AuthOptions): void {
  app.decorateRequest("apiKey", null);
  const retryAfterS = Math.max(1, Math.ceil(opts.failedAuthLimit.perMs / 1000));

  app.addHook("onRequest", async (request) => {
    const route = request.routeOptions.url;
    if (!isProtectedRoute(route)) return;
    const presented = presentedKey(request.headers);
    const identity = opts.keyring.verify(presented.token);
    if (identity) {
      request.apiKey = identity;
      if (opts.keyRateLimit) await enforceKeyRate(request, identity.name, opts.keyRateLimit);
      return;
    }
    const reason = presented.reason ?? "invalid";
    opts.metrics.authFailures.inc();
    const failures = await countFailure(request);
    const limit = opts.failedAuthLimit.count;
    const overLimit = failures !== null && failures > limit;
    // Past the limit only the first refusal of the window is audited and logged: a flood must not
    // fill the audit log. The metric counts every one.
    if (!overLimit || failures === limit + 1) {
      request.log.warn(
        { client: request.ip, reason, route, rate_limited: overLimit },
        "API authentication failed",
      );
      await auditFailure(request, route, { reason, route, rate_limited: overLimit });
    }
    if (overLimit) {
      throw new HttpError(
        429,
        "too_many_failed_auth",
        `too many failed authentication attempts from this address; retry in ${retryAfterS} s with a valid key`,
        undefined,
        { "retry-after": String(retryAfterS) },
      );
    }
    throw new HttpError(401, "unauthorized", UNAUTHORIZED_MESSAGE, undefined, {
      "www-authenticate": "Bearer",
    });
  });

  /**
   * One request of the key against `api.key_rate_limit` (GCRA through the coordinator, so every
   * instance counts the same budget). When the coordinator cannot answer, the request goes
   * through: a limit that protects the service must not become the outage.
   */
  async function enforceKeyRate(request: FastifyRequest, keyName: string, limit: KeyRateLimit) {
    let decision: { allowed: boolean; retryAfterMs: number };
    try {
      decision = await opts.coord.rateLimit(`apikey:${keyName}`, {
        limit: limit.count,
        periodMs: limit.perMs,
      });
    } catch (err) {
      request.log.warn({ err: errorSummary(err) }, "could not check the key's rate limit; allowed");
      return;
    }
    if (decision.allowed) return;
    const retryAfterS = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
    throw new HttpError(
      429,
      "rate_limited",
      `key ${keyName} is over its limit of ${limit.count} requests per ${formatPeriod(limit.perMs)} (api.key_rate_limit); retry in ${retryAfterS} s`,
      undefined,
      { "retry-after": String(retryAfterS) },
    );
  }

  /**
   * Counts one failure of the client's address. When the counter cannot be reached (the database
   * behind it is down), the attempt is still refused with 401: the caller's key is wrong either
   * way, and a 503 would invite it to retry the same key.
   */
  async function countFailure(request: FastifyRequest): Promise<number | null> {
    try {
      return await opts.coord.increment(`authfail:${request.ip}`, opts.failedAuthLimit.perMs);
    } catch (err) {
      request.log.warn({ err: errorSummary(err) }, "could not count a failed authentication");
      return null;
    }
  }

  async function auditFailure(
    request: FastifyRequest,
    route: string,
    details: Record<string, unknown>,
  ): Promise<void> {
    try {
      await writeAudit(opts.db, {
        actor: { type: "stranger", id: request.ip },
        action: "api.auth_failed",
        target: `${request.method} ${route}`,
        details: { ...details, method: request.method },
        traceId: request.trace.traceId,
      });
    } catch (err) {
      // The refusal matters more than its record; the log line above already holds the facts.
      request.log.warn({ err: errorSummary(err) }, "could not audit a failed authentication");
    }
  }
}

function formatPeriod(ms: number): string {
  if (ms % 3_600_000 === 0) return ms === 3_600_000 ? "hour" : `${ms / 3_600_000} hours`;
  if (ms % 60_000 === 0) return ms === 60_000 ? "minute" : `${ms / 60_000} minutes`;
  return ms === 1_000 ? "second" : `${ms / 1000} s`;
}

function errorSummary(err: unknown): { code?: string; message?: string } {
  const e = err as { code?: string; message?: string } | null;
  return { code: e?.code, message: e?.message };
}

/** The request's key; 401 when the route was not authenticated (a route outside `/v1` asked). */
export function requireKey(request: FastifyRequest): ApiKeyIdentity {
  if (!request.apiKey) {
    throw new HttpError(401, "unauthorized", UNAUTHORIZED_MESSAGE, undefined, {
      "www-authenticate": "Bearer",
    });
  }
  return request.apiKey;
}

/**
 * 403 unless the key holds one of the scopes (`all` holds every scope). Pass several when any
 * will do, e.g. `["approvals", "read"]` for an agent polling its own approval.
 */
export function requireScope(request: FastifyRequest, scope: Scope | readonly Scope[]): ApiKeyIdentity {
  const key = requireKey(request);
  const wanted: readonly Scope[] = typeof scope === "string" ? [scope] : scope;
  if (wanted.some((s) => hasScope(key, s))) return key;
  const named = wanted.map((s) => `"${s}"`).join(" or ");
  throw new HttpError(403, "forbidden", `key ${key.name} lacks scope ${named}`, {
    required_scopes: wanted,
    key_scopes: key.scopes,
  });
}

/** 403 unless the key may act for `agent`. */
export function assertMayActFor(request: FastifyRequest, agent: string): ApiKeyIdentity {
  const key = requireKey(request);
  if (mayActFor(key, agent)) return key;
  throw new HttpError(403, "forbidden", `key ${key.name} may not act for agent ${agent}`, {
    agent,
    allowed_agents: key.agents,
  });
}
