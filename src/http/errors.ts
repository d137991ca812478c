import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { runWithTrace } from "../observability/trace.ts";
import { isDatabaseUnavailable } from "../store/pool.ts";
import { requestTrace } from "./request-trace.ts";

/** The one error shape of the API. */
export interface ErrorBody {
  error: string;
  message: string;
  details?: unknown;
}

/** One schema problem: where (`body.labels.env`) and what. */
export interface FieldIssue {
  path: string;
  message: string;
}

/** Seconds a client should wait before retrying after a 503 from the database. */
export const DATABASE_RETRY_AFTER_S = 5;

/**
 * An error a route throws to answer with a given status and error code. The message is shown to
 * the caller as is, so it must say what was wrong and what to do, and never carry a secret.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    status: number,
    code: string,
    message: string,
    details?: unknown,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { error: this.code, message: this.message }
      : { error: this.code, message: this.message, details: this.details };
  }
}

export type InputLocation = "body" | "query" | "params" | "headers";

/** `["labels", "env"]` under body -> `body.labels.env`; array indexes as `[0]`. */
export function formatIssuePath(where: InputLocation | undefined, path: readonly PropertyKey[]): string {
  let out = where ?? "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? String(segment) : `.${String(segment)}`;
  }
  return out === "" ? "(root)" : out;
}

/** A ZodError as a 400 that names the first offending field in its message and all of them in details. */
export function zodToHttpError(err: z.ZodError, where?: InputLocation): HttpError {
  const issues: FieldIssue[] = err.issues.map((issue) => ({
    path: formatIssuePath(where, issue.path),
    message: issue.message,
  }));
  const first = issues[0];
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  const message = first ? `${first.path}: ${first.message}${more}` : "the request is invalid";
  return new HttpError(400, "invalid_request", message, issues);
}

/** Parses `value` with `schema` or throws the 400 that names the field paths. */
export function parseInput<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: InputLocation,
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  if (where === "body" && value === undefined) {
    throw new HttpError(
      400,
      "invalid_request",
      "a JSON body is required; send one with Content-Type: application/json",
    );
  }
  throw zodToHttpError(result.error, where);
}

export function parseBody<S extends z.ZodType>(request: FastifyRequest, schema: S): z.output<S> {
  return parseInput(schema, request.body, "body");
}

export function parseQuery<S extends z.ZodType>(request: FastifyRequest, schema: S): z.output<S> {
  return parseInput(schema, request.query, "query");
}

export function parseParams<S extends z.ZodType>(request: FastifyRequest, schema: S): z.output<S> {
  return parseInput(schema, request.params, "params");
}

export function databaseUnavailableError(): HttpError {
  return new HttpError(
    503,
    "database_unavailable",
    `the database is unavailable; nothing was recorded, retry in ${DATABASE_RETRY_AFTER_S} s`,
    undefined,
    { "retry-after": String(DATABASE_RETRY_AFTER_S) },
  );
}

function formatBytes(bytes: number): string {
  if (bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} bytes`;
}

/**
 * Maps any error thrown on the way to a response into the API's error shape. Fastify's own errors
 * (body parsing, limits, routing) keep their status but get our codes and messages; unknown errors
 * become a generic 500 with the trace id, their stack goes to the log only.
 */
export function toHttpError(err: unknown, opts: { bodyLimitBytes: number; traceId: string }): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof z.ZodError) return zodToHttpError(err);
  if (isDatabaseUnavailable(err)) return databaseUnavailableError();
  const fe = err as Partial<FastifyError> | null;
  switch (fe?.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new HttpError(400, "invalid_json", "the body is not valid JSON");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new HttpError(
        400,
        "invalid_json",
        "the body is empty but Content-Type is application/json; send a JSON document or drop the header",
      );
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new HttpError(
        413,
        "payload_too_large",
        `the body is larger than the ${formatBytes(opts.bodyLimitBytes)} limit; split it into smaller requests`,
        { limit_bytes: opts.bodyLimitBytes },
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new HttpError(
        415,
        "unsupported_media_type",
        "unsupported Content-Type; send JSON with Content-Type: application/json",
      );
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new HttpError(400, "bad_request", "the body size does not match Content-Length");
  }
  if (fe && Array.isArray(fe.validation)) {
    const where = (fe.validationContext as InputLocation | undefined) ?? "body";
    const issues: FieldIssue[] = fe.validation.map((v) => ({
      path: `${where}${v.instancePath.replaceAll("/", ".")}`,
      message: v.message ?? "is invalid",
    }));
    const first = issues[0];
    return new HttpError(
      400,
      "invalid_request",
      first ? `${first.path}: ${first.message}` : "invalid request",
      issues,
    );
  }
  // Other client errors Fastify raises itself (bad URL encoding, param too long, aborted body).
  const status = typeof fe?.statusCode === "number" ? fe.statusCode : 500;
  if (status >= 400 && status < 500 && typeof fe?.code === "string" && fe.code.startsWith("FST_")) {
    return new HttpError(status, "bad_request", fe.message ?? "bad request");
  }
  return new HttpError(500, "internal", `internal error; quote trace id ${opts.traceId} when reporting it`, {
    trace_id: opts.traceId,
  });
}

/** Answers `err` in the API's error shape, logging what the caller is not shown. */
export function sendError(
  err: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  opts: { bodyLimitBytes: number },
): FastifyReply {
  // Re-enter the request's trace: body parsing and URL errors can surface outside the hook chain.
  const trace = requestTrace(request);
  return runWithTrace(trace, () => {
    const httpError = toHttpError(err, { bodyLimitBytes: opts.bodyLimitBytes, traceId: trace.traceId });
    if (httpError.code === "internal") {
      request.log.error({ err }, "request failed");
    } else if (httpError.code === "database_unavailable") {
      const e = err as { code?: string; message?: string } | null;
      request.log.warn({ err: { code: e?.code, message: e?.message } }, "database unavailable; answered 503");
    }
    for (const [name, value] of Object.entries(httpError.headers)) reply.header(name, value);
    // The client may still be sending the rest of a body we will not read.
    if (httpError.status === 413 || httpError.status === 415) reply.header("connection", "close");
    return reply.code(httpError.status).send(httpError.toBody());
  });
}

/** Installs the error and not-found handlers that answer every failure in the API's shape. */
export function installErrorHandlers(app: FastifyInstance, opts: { bodyLimitBytes: number }): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) =>
    sendError(err, request, reply, opts),
  );

  app.setNotFoundHandler((request, reply) => {
    // The path only: a query string may carry a secret, and a long path is cut to keep answers small.
    const path = (request.url.split("?")[0] ?? "").slice(0, 200);
    return reply
      .code(404)
      .send(new HttpError(404, "not_found", `no route ${request.method} ${path}`).toBody());
  });
}
