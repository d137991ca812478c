import type { FastifyInstance, FastifyRequest } from "fastify";
import { type TraceContext, traceFromTraceparent } from "../observability/trace.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The request's trace: the caller's trace id from `traceparent`, our own span id. */
    readonly trace: TraceContext;
  }
}

const traces = new WeakMap<object, TraceContext>();

/**
 * The trace of a request, made on first use from its `traceparent` header. Keyed by the raw
 * message, so requests Fastify refuses before the hooks (a malformed URL, handled on an
 * undecorated request object) still get one for their error answer and log line.
 */
export function requestTrace(request: Pick<FastifyRequest, "raw" | "headers">): TraceContext {
  let trace = traces.get(request.raw);
  if (!trace) {
    const header = request.headers.traceparent;
    trace = traceFromTraceparent(typeof header === "string" ? header : undefined);
    traces.set(request.raw, trace);
  }
  return trace;
}

/** Our span as the response's `traceparent`, so a caller can find this request in our logs. */
export function formatTraceparent(trace: TraceContext): string {
  return `00-${trace.traceId}-${trace.spanId}-01`;
}

export function decorateRequestTrace(app: FastifyInstance): void {
  app.decorateRequest("trace", {
    getter(this: FastifyRequest) {
      return requestTrace(this);
    },
  });
}
