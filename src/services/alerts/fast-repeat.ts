/**
 * Count-only repeats: the steady state of a storm is the same alerts again and again, each
 * changing nothing but its incident's count and last_seen. The full pipeline (ingest.ts) would
 * read every row into pitwall, run the stages and rewrite the row with an event; here such
 * repeats are one UPDATE of two columns (plus the firings count the digest reads), in one round
 * trip, decided by Postgres under the same key locks. Whatever it does not take — new keys,
 * changed content, resolves, silenced or unshown incidents, a due re-notification, a group that
 * needs a flush — goes through the full pipeline right after, in a transaction of its own.
 *
 * Each alert is answered after the transaction that holds it committed; a batch split in two can
 * therefore end half committed, and each caller hears the outcome of its own alerts.
 */
import type { AlertInput } from "../../guards/alerts/index.ts";
import { alertKey, groupId, groupKey, matchingSilence } from "../../guards/alerts/index.ts";
import type { Db } from "../../store/pool.ts";
import { writeCountOnlyRepeats } from "./batch-store.ts";
import { alertContentHash } from "./content-hash.ts";
import type { AlertsEnv } from "./env.ts";
import type { IngestItem, IngestResult } from "./ingest.ts";
import { toGuardSilence } from "./silence-match.ts";
import { selfCommitted } from "./tx.ts";
import type { SilenceRow } from "./types.ts";

/** What the last batch saw of the silences: null until a batch read them. */
export interface SilenceView {
  silences: SilenceRow[] | null;
}

interface KeyPlan {
  /** The alerts' content hash; null once one alert of the key cannot be a count-only repeat. */
  hash: string | null;
  /** The group they join. */
  groupId: string;
  indices: number[];
}

/**
 * Whether an alert may be a count-only repeat as far as pitwall can tell before reading: firing,
 * with labels (so the incident's labels are the alert's, which the silence check needs) that put
 * it in a group, and covered by no silence pitwall knows of. Postgres checks the rest.
 */
function countOnlyGroup(
  input: AlertInput,
  key: string,
  env: AlertsEnv,
  silences: ReturnType<typeof toGuardSilence>[],
  now: Date,
): string | null {
  if (input.status !== "firing") return null;
  if (Object.keys(input.labels).length === 0) return null;
  const group = groupKey(input.labels, env.alerting.grouping.group_by);
  if (group === null || matchingSilence({ key, labels: input.labels }, silences, now) !== null) return null;
  return groupId(group);
}

/** The keys whose every alert in the batch may be a count-only repeat, with the same content. */
export function planCountOnlyRepeats(
  items: readonly IngestItem[],
  env: AlertsEnv,
  silences: readonly SilenceRow[],
  now: Date,
): Map<string, KeyPlan> {
  const guardSilences = silences.map(toGuardSilence);
  const plans = new Map<string, KeyPlan>();
  items.forEach((item, index) => {
    const key = alertKey(item.input);
    let plan = plans.get(key);
    const group = plan?.hash === null ? null : countOnlyGroup(item.input, key, env, guardSilences, now);
    const hash = group === null ? null : alertContentHash(item.input);
    if (plan === undefined) {
      plan = { hash, groupId: group ?? "", indices: [] };
      plans.set(key, plan);
    } else if (plan.hash !== hash || plan.groupId !== group) {
      plan.hash = null;
    }
    plan.indices.push(index);
  });
  for (const [key, plan] of plans) if (plan.hash === null) plans.delete(key);
  return plans;
}

export type BatchOutcome = Array<IngestResult | Error>;

/**
 * Runs a batch: count-only repeats first (when pitwall has seen the silences), the rest through
 * `full`, which runs the full pipeline in its own transaction. An error of the full part is the
 * answer of its alerts only when the count-only part already committed others.
 */
export async function ingestWithCountOnlyRepeats(
  db: Db,
  env: AlertsEnv,
  view: SilenceView,
  items: readonly IngestItem[],
  full: (items: readonly IngestItem[]) => Promise<IngestResult[]>,
  /** Told how many alerts of the batch were count-only repeats (metrics). */
  onCountOnly?: (alerts: number) => void,
): Promise<BatchOutcome> {
  const now = env.now();
  // The silences the alerts are checked against, and which Postgres must find unchanged: read
  // once, as another batch may replace the view while this one waits for a connection.
  const silences = view.silences;
  const plans: Map<string, KeyPlan> =
    silences === null ? new Map() : planCountOnlyRepeats(items, env, silences, now);
  const results: Array<IngestResult | Error | undefined> = new Array(items.length);
  if (plans.size > 0) {
    const keys = [...plans.keys()];
    const outcome = await selfCommitted(db, (client) =>
      writeCountOnlyRepeats(client, {
        keys,
        groupIds: keys.map((key) => plans.get(key)!.groupId),
        hashes: keys.map((key) => plans.get(key)!.hash!),
        deltas: keys.map((key) => plans.get(key)!.indices.length),
        now,
        notifiedAfter: new Date(now.getTime() - env.alerting.suppression.deduplication_window),
        silences: silences!,
      }),
    );
    view.silences = outcome.silences;
    let countOnly = 0;
    for (const row of outcome.raised) {
      const indices = plans.get(row.key)!.indices;
      countOnly += indices.length;
      // The batch's alerts of one key in arrival order: the last one carries the new count.
      indices.forEach((index, n) => {
        results[index] = {
          id: row.id,
          key: row.key,
          status: "deduplicated",
          count: row.count - indices.length + 1 + n,
        };
      });
    }
    if (countOnly > 0) onCountOnly?.(countOnly);
  }
  const rest = items.flatMap((item, index) => (results[index] === undefined ? [{ item, index }] : []));
  if (rest.length > 0) {
    try {
      const fullResults = await full(rest.map((r) => r.item));
      rest.forEach((r, n) => {
        results[r.index] = fullResults[n]!;
      });
    } catch (err) {
      if (rest.length === items.length) throw err;
      const error = err instanceof Error ? err : new Error(String(err));
      for (const r of rest) results[r.index] = error;
    }
  }
  return results as BatchOutcome;
}
