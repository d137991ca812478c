import { AsyncLocalStorage } from "node:async_hooks";
import { randomHex } from "./random.ts";

/** W3C trace context carried through async work so logs and audit rows share one trace id. */
export interface TraceContext {
  traceId: string;
  spanId: string;
}

const storage = new AsyncLocalStorage<TraceContext>();

export function newTraceId(): string {
  return randomHex(16);
}

export function newSpanId(): string {
  return randomHex(8);
}

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** Reads a `traceparent` header; an invalid or all-zero id starts a new trace instead of failing. */
export function traceFromTraceparent(header: string | undefined): TraceContext {
  const match = header ? TRACEPARENT.exec(header.trim().toLowerCase()) : null;
  const traceId = match?.[1];
  if (traceId && !/^0+$/.test(traceId)) return { traceId, spanId: newSpanId() };
  return { traceId: newTraceId(), spanId: newSpanId() };
}

export function newTrace(): TraceContext {
  return { traceId: newTraceId(), spanId: newSpanId() };
}

export function runWithTrace<T>(trace: TraceContext, fn: () => T): T {
  return storage.run(trace, fn);
}

/** Binds the trace to the rest of the current async execution (used by HTTP hooks). */
export function enterTrace(trace: TraceContext): void {
  storage.enterWith(trace);
}

export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}
