/**
 * Identity of alerts and groups: the first stage of the pipeline.
 *
 * - An alert's dedup key is the sender's `key` when given. Otherwise pitwall derives one from what
 *   a sender repeats each time: source, title and the label set (order of labels irrelevant).
 *   Alertmanager hashes labels only; pitwall's own senders often send no labels and tell problems
 *   apart by title, and two agents posting the same title are usually two problems, so source and
 *   title are part of the identity. To resolve an alert without a key, send the same three.
 * - Alertmanager alerts use Alertmanager's fingerprint, recomputed here exactly (FNV-1a 64 over
 *   sorted label pairs) when a webhook omits it, so both forms dedup together.
 * - Derived keys are 16 hex digits: short, well under the 200-character key limit, and fixed
 *   forever (stored rows and silences refer to them); a test pins known vectors.
 */
import { compareCodePoints, Fnv1a64, toBase62 } from "./hash.ts";
import type { Labels } from "./types.ts";

/** The longest key a sender may give (input.ts enforces it). */
export const MAX_KEY_LENGTH = 200;

/** `group_by: ["..."]` groups by every label, as in Alertmanager. */
export const GROUP_BY_ALL = "...";

/** Domain tag of derived keys; changing it would split every stored incident from its repeats. */
const ALERT_KEY_DOMAIN = "pitwall/alert/v1";

export interface KeyInput {
  key?: string | undefined;
  source?: string | undefined;
  title: string;
  labels?: Labels | undefined;
}

/** The dedup identity of an alert: its `key`, else a fingerprint of source, title and labels. */
export function alertKey(input: KeyInput): string {
  if (input.key !== undefined && input.key !== "") return input.key;
  const hash = new Fnv1a64()
    .addField(ALERT_KEY_DOMAIN)
    .addField(input.source ?? "")
    .addField(input.title);
  addLabels(hash, input.labels ?? {});
  return hash.hex();
}

/** Alertmanager's fingerprint of a label set: 16 hex digits, identical to what it sends. */
export function alertmanagerFingerprint(labels: Labels): string {
  return addLabels(new Fnv1a64(), labels).hex();
}

function addLabels(hash: Fnv1a64, labels: Labels): Fnv1a64 {
  for (const name of Object.keys(labels).sort(compareCodePoints)) {
    hash.addField(name).addField(labels[name] ?? "");
  }
  return hash;
}

/**
 * The group an alert belongs to under `group_by`, as a stable string (`alertname="HighLatency"`,
 * pairs sorted by name, values JSON-quoted), or null when it has none of the group_by labels:
 * such alerts are not grouped (DESIGN.md). An alert having only some of them is grouped by those
 * it has, as Alertmanager does; an empty value counts as absent (Prometheus' rule).
 */
export function groupKey(labels: Labels, groupBy: readonly string[]): string | null {
  const names = groupBy.includes(GROUP_BY_ALL) ? Object.keys(labels) : [...new Set(groupBy)];
  const pairs: string[] = [];
  for (const name of names.sort(compareCodePoints)) {
    const value = labels[name];
    if (value !== undefined && value !== "") pairs.push(`${name}=${JSON.stringify(value)}`);
  }
  return pairs.length === 0 ? null : pairs.join(",");
}

/**
 * A 16-character base62 id for a group key, deterministic so every instance and every restart
 * names the group alike; it fits callback data `ag:<op>:<groupId>`. Two independent FNV-1a 64
 * hashes give 128 bits, of which the id keeps about 95.
 */
export function groupId(key: string): string {
  const high = new Fnv1a64().addField("pitwall/group/1").addString(key).bigint();
  const low = new Fnv1a64().addField("pitwall/group/2").addString(key).bigint();
  return toBase62((high << 64n) | low, 16);
}
