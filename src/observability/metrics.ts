import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/**
 * One registry per process (a fresh one per test app), with default process metrics and the
 * metrics DESIGN.md names. Later features add their own through `registry`.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "pitwall_" });
  const registers = [registry];
  return {
    registry,
    httpDuration: new Histogram({
      name: "pitwall_http_request_duration_seconds",
      help: "HTTP request latency by route and status",
      labelNames: ["method", "route", "status"] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    telegramErrors: new Counter({
      name: "pitwall_telegram_errors_total",
      help: "Telegram API errors by method and error code",
      labelNames: ["method", "code"] as const,
      registers,
    }),
    notifications: new Counter({
      name: "pitwall_notifications_total",
      help: "Outbox rows delivered by kind and channel",
      labelNames: ["kind", "channel"] as const,
      registers,
    }),
    outboxDepth: new Gauge({
      name: "pitwall_outbox_depth",
      help: "Outbox rows not yet delivered",
      registers,
    }),
    sendLatency: new Histogram({
      name: "pitwall_telegram_send_seconds",
      help: "Latency of Telegram API calls made by the outbox",
      labelNames: ["method"] as const,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    outboxWait: new Histogram({
      name: "pitwall_outbox_wait_seconds",
      help: "Time from enqueue to delivery of an outbox row",
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 3600],
      registers,
    }),
    authFailures: new Counter({
      name: "pitwall_auth_failures_total",
      help: "Rejected API authentication attempts",
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
