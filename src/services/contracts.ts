/**
 * The seams between feature areas, so each can be built and tested alone: budgets, breakers,
 * checks, mode and delivery raise alerts through `AlertSink` (implemented by the alerts service);
 * approvals read the mode through `ModeReader` (implemented by the mode service).
 */

export type AlertSeverity = "info" | "warning" | "critical";

export interface SystemAlert {
  /** Dedup identity, e.g. `breaker:openai`, `budget:daily_limit:openai:80`. */
  key: string;
  severity: AlertSeverity;
  title: string;
  text?: string;
  /** Who raised it: `breaker`, `budget`, `check`, `mode`, `delivery`, ... */
  source: string;
  labels?: Record<string, string>;
}

export interface AlertSink {
  /** Raises (or repeats) an alert through the full pipeline: dedup, grouping, silences, notify. */
  fire(alert: SystemAlert): Promise<void>;
  /** Resolves the open incident for `key`, if any (a no-op otherwise). */
  resolve(key: string, note?: string): Promise<void>;
}

export type Mode = "FULL" | "DEGRADED" | "MINIMAL" | "MAINTENANCE";

export interface ModeReader {
  current(): Promise<{ mode: Mode; reasons: string[] }>;
}
