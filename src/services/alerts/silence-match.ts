/**
 * Stored silences as the silence guard reads them, and the matching the service needs beyond
 * the guard: which open incidents a new silence covers.
 */
import { type Silence, silenceCovers } from "../../guards/alerts/silence.ts";
import type { Incident, SilenceRow } from "./types.ts";

export function toGuardSilence(row: SilenceRow): Silence {
  return { id: row.id, key: row.key, matchers: row.matchers, startsAt: row.startsAt, endsAt: row.endsAt };
}

/** Whether the stored silence covers the incident (its key and labels), ignoring its times. */
export function covers(row: SilenceRow, incident: Pick<Incident, "key" | "labels">): boolean {
  return silenceCovers(toGuardSilence(row), incident);
}
