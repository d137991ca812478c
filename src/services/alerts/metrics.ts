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
}

export function createAlertMetrics(registry: Registry, db: Db): AlertMetrics {
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
  return {
    ingested(results) {
      for (const result of results) received.inc({ status: result.status });
    },
  };
}
