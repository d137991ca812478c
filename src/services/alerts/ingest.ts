/**
 * One group commit of incoming alerts, through the pipeline of STYLE.md in one transaction:
 * fingerprint -> dedup -> grouping -> silences/inhibition -> notify (queue) -> record.
 *
 * Concurrency: the batch first takes advisory locks on every key and group it touches (one
 * statement, sorted: deadlock-free), then reads the open incidents under row locks. Two batches
 * (on any instance) with a common key run one after the other, so a key never gets two open
 * incidents or two first messages; the partial unique index backs this up.
 *
 * Within a batch, alerts of one key are applied in arrival order in memory, and each incident or
 * group is written and notified once, with its final state.
 */
import type { AlertInput, IngestStatus, InhibitRule } from "../../guards/alerts/index.ts";
import {
  alertKey,
  dedupDecision,
  groupId as groupIdOf,
  groupKey as groupKeyOf,
  ingestStatus,
  isInhibited,
  matchingSilence,
} from "../../guards/alerts/index.ts";
import type { DbClient } from "../../store/pool.ts";
import { beginLockAndRead, writeBatch } from "./batch-store.ts";
import { alertContentHash } from "./content-hash.ts";
import type { AlertsEnv } from "./env.ts";
import { escalationDueAt } from "./escalation-plan.ts";
import type { SilenceView } from "./fast-repeat.ts";
import { ensureGroup, markChanged, reopen } from "./groups.ts";
import { newId } from "./ids.ts";
import { editIncidentMessage, sendIncidentMessage } from "./messages.ts";
import { queuePagerDutyFollowUp } from "./notifications.ts";
import { toGuardSilence } from "./silence-match.ts";
import {
  type AlertEvent,
  groupLock,
  groupsByIds,
  inhibitionCandidates,
  keyLock,
  latestIncidentsByKeys,
  lockNames,
} from "./store.ts";
import type { ActorRef, AlertGroup, Incident } from "./types.ts";

export interface IngestItem {
  input: AlertInput;
  /** Who sent it: the API key's name, `alertmanager/<receiver>`, a pitwall component. */
  sender: ActorRef;
  /** The request's trace, written into the alert event. */
  traceId?: string | undefined;
}

export interface IngestResult {
  /** The incident; null only for a resolve of a key pitwall never saw. */
  id: string | null;
  key: string;
  status: IngestStatus;
  count: number;
}

/** What the notify stage does for an incident once the whole batch is applied. */
type Intent = "first" | "renotify" | "edit";
const INTENT_RANK: Record<Intent, number> = { edit: 1, renotify: 2, first: 3 };

interface Prepared extends IngestItem {
  key: string;
  groupId: string | null;
}

/** The parts of a group the notify stage moves (markChanged, reopen, a new epoch). */
function sameGroupState(a: AlertGroup, b: AlertGroup): boolean {
  const t = (d: Date | null) => (d === null ? null : d.getTime());
  return (
    a.epoch === b.epoch &&
    a.closed === b.closed &&
    t(a.firstAlertAt) === t(b.firstAlertAt) &&
    t(a.lastFlushAt) === t(b.lastFlushAt) &&
    t(a.pendingSince) === t(b.pendingSince) &&
    a.pendingLoud === b.pendingLoud &&
    t(a.flushDueAt) === t(b.flushDueAt)
  );
}

/**
 * Whether the notify stage leaves every group as it was: each grouped intent is for an incident
 * the batch row-locked (not one it opens), already in its group's current, open epoch (or, for an
 * edit, in an earlier epoch, whose message is final), and the group already waits for a flush at
 * least as loud. Then the batch needs no group lock (see runIngestBatch).
 */
function leavesGroupsAsTheyWere(
  intents: ReadonlyMap<string, Intent>,
  touched: ReadonlyMap<string, Incident>,
  existing: ReadonlyMap<string, Incident>,
  groups: ReadonlyMap<string, AlertGroup>,
  now: Date,
  timing: AlertsEnv["alerting"]["grouping"],
): boolean {
  for (const [id, intent] of intents) {
    const incident = touched.get(id)!;
    if (incident.groupId === null) continue;
    const group = groups.get(incident.groupId);
    if (!group || !existing.has(id)) return false;
    if (intent !== "first" && incident.groupEpoch !== group.epoch) continue; // its epoch's message is final
    if (group.closed || incident.groupEpoch !== group.epoch) return false;
    const probe = { ...group };
    markChanged(probe, now, intent !== "edit", timing);
    if (!sameGroupState(probe, group)) return false;
  }
  return true;
}

function unique<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/** Whether an alert could be the target of `rule` (so inhibition sources are worth loading). */
function mayBeTarget(
  alert: { severity: string; labels: Record<string, string> },
  rule: InhibitRule,
): boolean {
  if (rule.target_severity !== null && rule.target_severity !== alert.severity) return false;
  return Object.entries(rule.target_match).every(([name, value]) => (alert.labels[name] ?? "") === value);
}

type Source = Pick<Incident, "key" | "severity" | "labels" | "status">;

/**
 * Open incidents that may inhibit the batch's firing alerts, read only for rules some alert may
 * be a target of, and narrowed by the rule's source side and first `equal` label.
 */
async function loadInhibitionSources(
  client: DbClient,
  rules: readonly InhibitRule[],
  firing: readonly Prepared[],
): Promise<Source[]> {
  const found = new Map<string, Source>();
  for (const rule of rules) {
    const targets = firing.filter((p) => mayBeTarget(p.input, rule));
    if (targets.length === 0) continue;
    const [name] = rule.equal;
    const values =
      name === undefined
        ? []
        : unique(targets.map((t) => t.input.labels[name] ?? "").filter((v) => v !== ""));
    if (name !== undefined && values.length === 0) continue; // equal labels must be present on the target
    const rows = await inhibitionCandidates(
      client,
      { severity: rule.source_severity, match: rule.source_match },
      name === undefined ? null : { name, values },
    );
    for (const row of rows) found.set(row.key, row);
  }
  return [...found.values()];
}

/**
 * Runs one batch as one transaction on `client`, which must be outside any: its first statement
 * begins the transaction and its last commits it (see batch-store.ts), so the promise resolves
 * only after the commit. On an error the caller rolls back.
 *
 * Count-only repeats: a batch whose alerts leave every group as it was (repeats of incidents
 * already in their group's current epoch, the group already waiting for a flush that will show
 * them) needs no group lock and writes no group, so batches of different keys overlap even when
 * they share a group (a storm: one alertname). The batch is tried that way first, without group
 * locks; if it would change a group after all, it is rolled back (nothing was written yet) and run
 * again with them. Why the optimistic read is safe: the groups are read after the batch's
 * incidents are row-locked, in a later snapshot; every transaction that ends a group's pending
 * state or closes its epoch (a flush) row-locks the epoch's members first, so it either committed
 * before that snapshot (the batch sees it and takes the locked path) or waits for the batch's
 * commit and then shows its incidents as the batch left them.
 */
export async function runIngestBatch(
  client: DbClient,
  env: AlertsEnv,
  items: readonly IngestItem[],
  view?: SilenceView,
): Promise<IngestResult[]> {
  const optimistic = await attemptBatch(client, env, items, { lockGroups: false, view });
  if (optimistic !== null) return optimistic;
  return (await attemptBatch(client, env, items, { lockGroups: true, rollbackFirst: true, view }))!;
}

/** One attempt; null when, without group locks, the batch would have changed a group. */
async function attemptBatch(
  client: DbClient,
  env: AlertsEnv,
  items: readonly IngestItem[],
  mode: { lockGroups: boolean; rollbackFirst?: boolean; view?: SilenceView | undefined },
): Promise<IngestResult[] | null> {
  const now = env.now();
  const cfg = env.alerting;
  const lockGroups = mode.lockGroups;

  // ---- fingerprint
  const prepared: Prepared[] = items.map((item) => {
    const key = alertKey(item.input);
    const gk = groupKeyOf(item.input.labels, cfg.grouping.group_by);
    return { ...item, key, groupId: gk === null ? null : groupIdOf(gk) };
  });
  const keys = unique(prepared.map((p) => p.key));

  // ---- lock and read (see the file comment): keys and the groups the firing alerts join
  const inputGroups = unique(
    prepared.flatMap((p) => (p.groupId && p.input.status === "firing" ? [p.groupId] : [])),
  );
  const locked = new Set<string>(keys.map(keyLock));
  if (lockGroups) for (const id of inputGroups) locked.add(groupLock(id));
  const read = await beginLockAndRead(client, locked, keys, inputGroups, now, mode);
  if (mode.view) mode.view.silences = read.silences;
  const silences = read.silences.map(toGuardSilence);
  const open = read.incidents;
  const groups = new Map(read.groups.map((g) => [g.id, g]));
  // An open incident's group can differ from its repeat's (labels changed, a resolve without
  // labels): lock and read it now. Rare; a deadlock here is retried by the transaction.
  const late = unique(open.flatMap((i) => (i.groupId && !groups.has(i.groupId) ? [i.groupId] : [])));
  if (!lockGroups) {
    // A new key opens an incident that joins a group: the locked path, without reading more.
    const openKeys = new Set(open.map((i) => i.key));
    const opensGrouped = prepared.some(
      (p) => p.groupId !== null && p.input.status === "firing" && !openKeys.has(p.key),
    );
    if (late.length > 0 || opensGrouped) return null;
  } else if (late.length > 0) {
    await lockNames(client, late.map(groupLock));
    for (const group of await groupsByIds(client, late, { lock: true })) groups.set(group.id, group);
  }
  const rules = cfg.inhibition;
  // Inhibition decides only whether an incident is shown: alerts of incidents already shown
  // (a storm's repeats) need no sources, which keeps the steady state to one read.
  const shownKeys = new Set(open.filter((i) => i.firstNotifiedAt !== null).map((i) => i.key));
  const unshownFiring = prepared.filter((p) => p.input.status === "firing" && !shownKeys.has(p.key));
  const dbSources =
    rules.length > 0 && unshownFiring.length > 0
      ? await loadInhibitionSources(client, rules, unshownFiring)
      : [];

  // ---- dedup, grouping, silences, inhibition: in memory, in arrival order
  const byKey = new Map(open.map((i) => [i.key, i]));
  const existing = new Map(open.map((i) => [i.id, i]));
  const created = new Map<string, Incident>();
  const intents = new Map<string, Intent>();
  const touchedGroups = new Map<string, AlertGroup>();
  const resolvedNow = new Map<string, Incident>();
  const events: AlertEvent[] = [];
  const results: Array<IngestResult | null> = [];
  const ignoredResolves: Array<{ index: number; key: string }> = [];

  const intend = (incident: Incident, intent: Intent) => {
    const before = intents.get(incident.id);
    if (before === undefined || INTENT_RANK[intent] > INTENT_RANK[before]) intents.set(incident.id, intent);
  };
  const silenceOf = (incident: Incident) => matchingSilence(incident, silences, now);
  const inhibitorOf = (incident: Incident): string | null => {
    if (rules.length === 0) return null;
    const sources: Source[] = [
      ...byKey.values(),
      ...dbSources.filter((s) => !byKey.has(s.key) && !resolvedNow.has(s.key)),
    ];
    return isInhibited(incident, sources, rules);
  };
  /** Silences start or end for firing incidents; acknowledged ones stay acknowledged. */
  const applySilence = (incident: Incident): void => {
    if (incident.status !== "firing" && incident.status !== "silenced") return;
    const silence = silenceOf(incident);
    if (silence) {
      incident.status = "silenced";
      incident.silencedUntil = silence.endsAt;
      incident.silenceId = silence.id;
    } else if (incident.status === "silenced") {
      incident.status = "firing";
      incident.silenceId = null;
    }
  };

  for (const [index, p] of prepared.entries()) {
    const input = p.input;
    const current = byKey.get(p.key) ?? null;
    const decision = dedupDecision(current, input, now, {
      deduplication_window: cfg.suppression.deduplication_window,
    });
    const event = (incident: Incident, kind: string, details: Record<string, unknown> = {}) =>
      events.push({
        alertId: incident.id,
        at: now,
        kind,
        traceId: p.traceId ?? null,
        actor: p.sender,
        details: { severity: input.severity, ...details },
      });

    switch (decision.action) {
      case "open": {
        const incident: Incident = {
          id: newId(),
          key: p.key,
          severity: input.severity,
          title: input.title,
          text: input.text ?? null,
          source: input.source ?? null,
          labels: { ...input.labels },
          url: input.url ?? null,
          status: "firing",
          count: 1,
          firstSeen: now,
          lastSeen: now,
          resolvedAt: null,
          resolvedBy: null,
          acknowledgedBy: null,
          acknowledgedAt: null,
          silencedUntil: null,
          silenceId: null,
          inhibitedBy: null,
          groupId: p.groupId,
          groupEpoch: null,
          messageRef: null,
          messageGen: 0,
          renderHash: null,
          firstNotifiedAt: null,
          lastNotifiedAt: null,
          escalationDueAt: null,
          lastEscalatedAt: null,
          escalations: 0,
          pagerdutyTriggered: false,
          contentHash: alertContentHash(input),
        };
        applySilence(incident);
        if (incident.status === "firing") incident.inhibitedBy = inhibitorOf(incident);
        const suppressed = incident.status === "silenced" || incident.inhibitedBy !== null;
        created.set(incident.id, incident);
        byKey.set(p.key, incident);
        if (!suppressed) intend(incident, "first");
        event(incident, "opened", {
          ...(incident.silenceId ? { silence: incident.silenceId } : {}),
          ...(incident.inhibitedBy ? { inhibited_by: incident.inhibitedBy } : {}),
        });
        results.push({ id: incident.id, key: p.key, status: ingestStatus(decision, suppressed), count: 1 });
        break;
      }
      case "repeat": {
        const incident = current!;
        incident.count = decision.count;
        incident.severity = decision.severity;
        incident.lastSeen = now;
        incident.title = input.title;
        if (input.text !== undefined) incident.text = input.text;
        if (input.source !== undefined) incident.source = input.source;
        if (Object.keys(input.labels).length > 0) incident.labels = { ...input.labels };
        if (input.url !== undefined) incident.url = input.url;
        incident.contentHash = alertContentHash(input);
        applySilence(incident);
        const shown = incident.firstNotifiedAt !== null;
        // Inhibition decides whether an incident is shown at all; once shown it stays shown.
        if (!shown) incident.inhibitedBy = incident.status === "firing" ? inhibitorOf(incident) : null;
        const suppressed = incident.status === "silenced" || (!shown && incident.inhibitedBy !== null);
        if (!suppressed)
          intend(incident, !shown ? "first" : decision.notify === "renotify" ? "renotify" : "edit");
        else if (shown) intend(incident, "edit");
        event(incident, "repeated", { count: incident.count, reason: decision.reason });
        results.push({
          id: incident.id,
          key: p.key,
          status: ingestStatus(decision, suppressed),
          count: incident.count,
        });
        break;
      }
      case "resolve": {
        const incident = current!;
        incident.status = "resolved";
        incident.resolvedAt = now;
        incident.resolvedBy = p.sender;
        incident.lastSeen = now;
        if (incident.firstNotifiedAt !== null) intend(incident, "edit");
        byKey.delete(p.key);
        resolvedNow.set(p.key, incident);
        event(incident, "resolved", { by: "sender" });
        results.push({ id: incident.id, key: p.key, status: "resolved", count: incident.count });
        break;
      }
      case "ignore-resolved": {
        const last = resolvedNow.get(p.key);
        if (last) results.push({ id: last.id, key: p.key, status: "resolved", count: last.count });
        else {
          results.push(null);
          ignoredResolves.push({ index, key: p.key });
        }
        break;
      }
    }
  }

  // ---- notify: each incident once, with its final state
  const touched = new Map<string, Incident>();
  for (const incident of [...existing.values(), ...created.values(), ...resolvedNow.values()]) {
    touched.set(incident.id, incident);
  }
  const timing = cfg.grouping;
  if (!lockGroups && !leavesGroupsAsTheyWere(intents, touched, existing, groups, now, timing)) return null;
  for (const [id, intent] of intents) {
    const incident = touched.get(id)!;
    if (incident.groupId === null) {
      if (intent === "edit") {
        await editIncidentMessage(client, env, incident);
      } else {
        incident.firstNotifiedAt ??= now;
        incident.lastNotifiedAt = now;
        await sendIncidentMessage(client, env, incident);
      }
      continue;
    }
    const group = ensureGroup(groups, incident, cfg.grouping.group_by, now)!;
    if (intent === "first") {
      if (group.closed) reopen(group, now);
      incident.groupEpoch = group.epoch;
    } else if (incident.groupEpoch !== group.epoch) {
      continue; // its epoch's message is final
    }
    markChanged(group, now, intent !== "edit", timing);
    touchedGroups.set(group.id, group);
  }
  for (const incident of touched.values()) {
    incident.escalationDueAt = escalationDueAt(incident, env, now);
  }
  for (const incident of resolvedNow.values()) await queuePagerDutyFollowUp(client, env, incident, "resolve");

  // ---- record (one statement; see batch-store.ts), and commit with it unless a read follows
  const merged = await writeBatch(
    client,
    {
      updated: [...existing.values()],
      created: [...created.values()],
      events,
      // Without group locks no group changed (leavesGroupsAsTheyWere), and none may be written.
      groups: lockGroups ? [...touchedGroups.values()] : [],
    },
    { commit: ignoredResolves.length === 0 },
  );
  const realId = (id: string) => merged.get(id) ?? id;

  if (ignoredResolves.length > 0) {
    const latest = new Map(
      (await latestIncidentsByKeys(client, unique(ignoredResolves.map((r) => r.key)))).map((i) => [i.key, i]),
    );
    for (const { index, key } of ignoredResolves) {
      const last = latest.get(key);
      results[index] = { id: last?.id ?? null, key, status: "resolved", count: last?.count ?? 0 };
    }
    await client.query("commit");
  }
  return results.map((r) => ({ ...r!, id: r!.id === null ? null : realId(r!.id) }));
}
