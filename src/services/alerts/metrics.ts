/**
 * The alerts' Prometheus metrics (DESIGN.md, Observability): alerts received by ingest answer,
 * and open incidents by status, read from Postgres when scraped (any instance answers the same).
 */
import { Counter, Gauge, type Registry } from "prom-client";
import type { Db } from "../../store/pool.ts";
import type { IngestResult } from "./ingest.ts";
import { openCounts } from "./store.ts";

export interface AlertMetrics {
  ingested(results: readonly IngestResult[]): void;
  countOnly(alerts: number): void;
  refused(alerts: number): void;
}

export function createAlertMetrics(registry: Registry, db: Db, ingestWaiting: () => number): AlertMetrics {
  const received = new Counter({
    name: "pitwall_alerts_received_total",
    help: "Alerts received by ingest, by the status they were answered with",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  new Gauge({
    name: "pitwall_alerts_open",
    help: "Open incidents by status",
    labelNames: ["status"] as const,
    registers: [registry],
    async collect() {
      const counts = await openCounts(db).catch(() => null);
      if (!counts) return;
      for (const status of ["firing", "acknowledged", "silenced"] as const)
        this.set({ status }, counts[status]);
    },
  });
  const countOnly = new Counter({
    name: "pitwall_alerts_count_only_total",
    help: "Alerts written as count-only repeats (one UPDATE, no event); the rest took the full pipeline",
    registers: [registry],
  });
  const refused = new Counter({
    name: "pitwall_alerts_refused_overloaded_total",
    help: "Alerts refused with 503 because the ingest queue was full (the sender retries)",
    registers: [registry],
  });
  new Gauge({
    name: "pitwall_alert_ingest_waiting",
    help: "Alerts waiting for a group commit on this instance (refused beyond 10 000)",
    registers: [registry],
    collect() {
      this.set(ingestWaiting());
    },
  });
  return {
    ingested(results) {
      for (const result of results) received.inc({ status: result.status });
    },
    countOnly: (alerts) => countOnly.inc(alerts),
    refused: (alerts) => refused.inc(alerts),
  };
}
