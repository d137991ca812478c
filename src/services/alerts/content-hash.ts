/**
 * What an alert says, as a short hash: severity, title, text, source, url and labels. The ingest
 * stores the hash of the last alert applied to an incident (`alerts.content_hash`); a repeat with
 * the same hash would rewrite those columns with what they already hold, so it can be written as
 * a count-only repeat (fast-repeat.ts).
 *
 * Fields a repeat leaves unset (text, source, url: "keep the incident's") hash differently from
 * empty ones, so "unset" never passes for "same". Changing this function between versions costs
 * nothing but one full repeat per open incident (the stored hashes stop matching once).
 */
import { createHash } from "node:crypto";
import type { AlertInput } from "../../guards/alerts/index.ts";

const UNSET = null;

export function alertContentHash(input: AlertInput): string {
  const names = Object.keys(input.labels).sort();
  const labels = names.map((name) => [name, input.labels[name]]);
  const fields = [
    input.severity,
    input.title,
    input.text ?? UNSET,
    input.source ?? UNSET,
    input.url ?? UNSET,
    labels,
  ];
  return createHash("sha1").update(JSON.stringify(fields)).digest("base64url");
}
