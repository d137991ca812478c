/**
 * Shapes shared by the pure alert stages. Each stage takes only the fields it reads (structural
 * types), so the service can pass its store rows as they are.
 */
import type { Severity } from "../../config/schema.ts";

export type { Severity };

/** Label name -> value, both strings (Prometheus' model; `input.ts` enforces it on the API). */
export type Labels = Readonly<Record<string, string>>;

/** What an alert sender says about the problem. */
export type AlertInputStatus = "firing" | "resolved";

/** An incident's state as DESIGN.md's alert rows show it. */
export type IncidentStatus = "firing" | "acknowledged" | "resolved" | "silenced";

/** One alert as received, from `POST /v1/alerts` (input.ts) or Alertmanager (alertmanager.ts). */
export interface AlertInput {
  /** The sender's dedup key; absent: `alertKey` derives one from source, title and labels. */
  key?: string | undefined;
  severity: Severity;
  title: string;
  text?: string | undefined;
  source?: string | undefined;
  labels: Record<string, string>;
  status: AlertInputStatus;
  /** When the problem began, as the sender saw it (Alertmanager's `startsAt`). */
  startsAt?: Date | undefined;
  /** When the sender saw it end (Alertmanager's `endsAt` of a resolved alert). */
  endsAt?: Date | undefined;
  /** A link back to the source (Alertmanager's `generatorURL`). */
  url?: string | undefined;
}
