/**
 * The alerts service: one object the HTTP routes, the bot feature, the jobs and other modules
 * (through AlertSink) use. Ingest goes through the group commit; everything else is a
 * transaction of its own.
 */
import type { SilenceChoice } from "../../bot/callback-data/al.ts";
import type { Matcher } from "../../guards/alerts/silence.ts";
import type { Db } from "../../store/pool.ts";
import type { AlertSink, SystemAlert } from "../contracts.ts";
import {
  type ActionOutcome,
  actOnGroup,
  actOnIncident,
  showGroupPage,
  showGroupPicker,
  showIncidentPicker,
  silenceGroup,
  silenceIncident,
} from "./actions.ts";
import { type Batcher, BatcherFullError, createBatcher } from "./batcher.ts";
import type { AlertsEnv } from "./env.ts";
import { runEscalations } from "./escalate.ts";
import { ingestWithCountOnlyRepeats, type SilenceView } from "./fast-repeat.ts";
import { flushDueGroups } from "./flush.ts";
import { type IngestItem, type IngestResult, runIngestBatch } from "./ingest.ts";
import { deliverNotifications } from "./notifications.ts";
import {
  createSilence,
  type ExpireOutcome,
  expireDueSilences,
  expireSilence,
  listActiveSilences,
} from "./silences.ts";
import { listIncidents, type OpenCounts, openCounts } from "./store.ts";
import { selfCommitted, transaction } from "./tx.ts";
import { type ActorRef, type AlertView, type Incident, type SilenceRow, toAlertView } from "./types.ts";

export interface ListOptions {
  status?: Incident["status"] | undefined;
  limit: number;
  /** seq of the last row of the previous page. */
  afterSeq?: number | undefined;
}

export interface AlertsService {
  env: AlertsEnv;
  ingest(items: readonly IngestItem[]): Promise<IngestResult[]>;
  /** Alerts waiting for a group commit now (the ingest queue; bounded, see MAX_QUEUED_ALERTS). */
  ingestWaiting(): number;
  list(opts: ListOptions): Promise<{ alerts: AlertView[]; nextSeq: number | null }>;
  /** Open incidents, newest first, one page (for `/alerts`). */
  openPage(page: number, pageSize: number): Promise<{ incidents: Incident[]; counts: OpenCounts }>;
  incident(op: "ack" | "res", alertId: string, actor: ActorRef): Promise<ActionOutcome>;
  silenceIncident(alertId: string, choice: SilenceChoice, actor: ActorRef): Promise<ActionOutcome>;
  incidentPicker(alertId: string): Promise<ActionOutcome>;
  group(op: "ack" | "res", groupId: string, actor: ActorRef): Promise<ActionOutcome>;
  silenceGroup(groupId: string, choice: SilenceChoice, actor: ActorRef): Promise<ActionOutcome>;
  groupPicker(groupId: string): Promise<ActionOutcome>;
  groupPage(groupId: string, page: number): Promise<ActionOutcome>;
  createSilence(input: {
    key: string | null;
    matchers: Matcher[] | null;
    durationMs: number;
    actor: ActorRef;
    comment?: string | null;
  }): Promise<{ silence: SilenceRow; affected: number }>;
  expireSilence(id: string, actor: ActorRef): Promise<ExpireOutcome>;
  silences(): Promise<SilenceRow[]>;
  /** Leader jobs, also callable from tests. */
  flushGroups(): Promise<number>;
  escalate(): Promise<number>;
  expireSilences(): Promise<number>;
  deliverNotifications(): Promise<number>;
  sink: AlertSink;
  close(): Promise<void>;
}

export interface ServiceOptions {
  db: Db;
  env: AlertsEnv;
  batch?: { maxBatch?: number; maxWaitMs?: number; maxInFlight?: number; maxQueued?: number };
  /** Told about every committed batch's answers (metrics). */
  onIngested?: (results: readonly IngestResult[]) => void;
  /** Told how many alerts of a batch were written as count-only repeats (metrics). */
  onCountOnly?: (alerts: number) => void;
  /** Told how many alerts were refused because the ingest queue was full (metrics). */
  onRefused?: (alerts: number) => void;
}

/** Alerts waiting for a group commit at most (see batcher.ts `maxQueued`). */
export const MAX_QUEUED_ALERTS = 10_000;
const OVERLOAD_LOG_INTERVAL_MS = 10_000;

export function createAlertsService(opts: ServiceOptions): AlertsService {
  const { db, env } = opts;
  // The silences the last batch read: count-only repeats are checked against them (fast-repeat.ts).
  const silenceView: SilenceView = { silences: null };
  const batcher: Batcher<IngestItem, IngestResult> = createBatcher({
    run: async (items) => {
      const results = await ingestWithCountOnlyRepeats(
        db,
        env,
        silenceView,
        items,
        (rest) => selfCommitted(db, (client) => runIngestBatch(client, env, rest, silenceView)),
        opts.onCountOnly,
      );
      opts.onIngested?.(results.filter((r): r is IngestResult => !(r instanceof Error)));
      return results;
    },
    maxBatch: opts.batch?.maxBatch ?? 1000,
    // No added wait: a free slot takes what has arrived at once, and under load the batches grow
    // while both slots are busy (a wait only added latency in bench/ingest).
    maxWaitMs: opts.batch?.maxWaitMs ?? 0,
    // Two batches at once: the next takes its locks while the previous commits (batches on any
    // instance already run concurrently under the same locks, so this is equally safe).
    maxInFlight: opts.batch?.maxInFlight ?? 2,
    // About a second of alerts at full speed (bench/ingest): beyond that the database is behind
    // and senders are better told to retry (Alertmanager retries a 503) than kept waiting.
    maxQueued: opts.batch?.maxQueued ?? MAX_QUEUED_ALERTS,
  });

  // Refusals while overloaded: counted each, logged as one warning per interval.
  const overload = { refused: 0, loggedAt: Number.NEGATIVE_INFINITY };
  const refused = (alerts: number, waiting: number) => {
    opts.onRefused?.(alerts);
    overload.refused += alerts;
    const now = Date.now();
    if (now - overload.loggedAt < OVERLOAD_LOG_INTERVAL_MS) return;
    env.log.warn(
      { refused: overload.refused, waiting },
      "alert ingest overloaded: refusing alerts with 503 until the database catches up",
    );
    overload.refused = 0;
    overload.loggedAt = now;
  };

  const systemSender = (source: string): ActorRef => ({ type: "system", id: source, name: source });

  const sink: AlertSink = {
    async fire(alert: SystemAlert) {
      await batcher.submit([
        {
          input: {
            key: alert.key,
            severity: alert.severity,
            title: alert.title,
            text: alert.text,
            source: alert.source,
            labels: alert.labels ?? {},
            status: "firing",
          },
          sender: systemSender(alert.source),
        },
      ]);
    },
    async resolve(key: string, note?: string) {
      await batcher.submit([
        {
          input: {
            key,
            severity: "info",
            title: key,
            ...(note ? { text: note } : {}),
            labels: {},
            status: "resolved",
          },
          sender: systemSender("pitwall"),
        },
      ]);
    },
  };

  return {
    env,
    ingest: (items) =>
      batcher.submit(items).catch((err: unknown) => {
        if (err instanceof BatcherFullError) refused(items.length, err.waiting);
        throw err;
      }),
    ingestWaiting: () => batcher.waiting(),
    async list({ status, limit, afterSeq }) {
      const rows = await listIncidents(db, { status, limit: limit + 1, beforeSeq: afterSeq });
      const page = rows.slice(0, limit);
      const more = rows.length > limit;
      return { alerts: page.map(toAlertView), nextSeq: more ? (page.at(-1)?.seq ?? null) : null };
    },
    async openPage(page, pageSize) {
      const [incidents, counts] = await Promise.all([
        listIncidents(db, { open: true, limit: pageSize, offset: page * pageSize }),
        openCounts(db),
      ]);
      return { incidents, counts };
    },
    incident: (op, alertId, actor) => actOnIncident(db, env, alertId, op, actor),
    silenceIncident: (alertId, choice, actor) => silenceIncident(db, env, alertId, choice, actor),
    incidentPicker: (alertId) => showIncidentPicker(db, env, alertId),
    group: (op, groupId, actor) => actOnGroup(db, env, groupId, op, actor),
    silenceGroup: (groupId, choice, actor) => silenceGroup(db, env, groupId, choice, actor),
    groupPicker: (groupId) => showGroupPicker(db, env, groupId),
    groupPage: (groupId, page) => showGroupPage(db, env, groupId, page),
    async createSilence(input) {
      const { silence, affected } = await transaction(db, (client) =>
        createSilence(client, env, { ...input, via: "command" }),
      );
      return { silence, affected: affected.length };
    },
    expireSilence: (id, actor) => expireSilence(db, env, id, actor),
    silences: () => listActiveSilences(db, env),
    flushGroups: () => flushDueGroups(db, env),
    escalate: () => runEscalations(db, env),
    expireSilences: () => expireDueSilences(db, env),
    deliverNotifications: () => deliverNotifications(db, env),
    sink,
    close: () => batcher.close(),
  };
}
