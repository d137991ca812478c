/**
 * The alerts' SQL: reading and writing incidents, groups, events and silences (the group commit's
 * combined statements are in batch-store.ts). Rows go in as one `jsonb_to_recordset` statement
 * per table, so writing hundreds costs one round trip. Every time is a parameter: the service's
 * clock decides.
 */
import { createHash } from "node:crypto";
import type { QueryResult, QueryResultRow } from "pg";
import { Fnv1a64 } from "../../guards/alerts/hash.ts";
import type { Matcher } from "../../guards/alerts/silence.ts";
import { currentTrace } from "../../observability/trace.ts";
import type { DbClient } from "../../store/pool.ts";
import type { ActorRef, AlertGroup, GroupAction, Incident, SilenceRow } from "./types.ts";

type Queryable = Pick<DbClient, "query">;

const statementNames = new Map<string, string>();

/**
 * Runs `text` as a named prepared statement: Postgres parses and plans each of these once per
 * connection instead of on every group commit (the ingest path runs them hundreds of times a
 * second). Names come from the text, so every distinct statement gets its own.
 */
export function run<R extends QueryResultRow = QueryResultRow>(
  client: Queryable,
  text: string,
  values: unknown[],
): Promise<QueryResult<R>> {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `pw_alerts_${createHash("sha1").update(text).digest("hex").slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return client.query<R>({ name, text, values });
}

// ---- locks ------------------------------------------------------------------------------------

/**
 * Transaction advisory locks on names (`k:<key>`, `g:<groupId>`), taken in one statement in a
 * fixed order (sorted lock ids), so two transactions locking overlapping sets never deadlock.
 * Everything that changes a group or opens an incident takes them before any row lock:
 * advisory locks first, then rows, everywhere.
 */
export async function lockNames(client: Queryable, names: Iterable<string>): Promise<void> {
  const ids = [...new Set([...names].map(lockId))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (ids.length === 0) return;
  await run(client, "select count(pg_advisory_xact_lock(l)) from unnest($1::bigint[]) as l", [
    ids.map(String),
  ]);
}

export function lockId(name: string): bigint {
  return BigInt.asIntN(64, new Fnv1a64().addField("pitwall/alerts/lock").addString(name).bigint());
}

export const keyLock = (key: string) => `k:${key}`;
export const groupLock = (groupId: string) => `g:${groupId}`;

// ---- incidents --------------------------------------------------------------------------------

type Column<T> = readonly [column: string, sqlType: string, read: (row: T) => unknown];

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** Every column but `seq`, in one order for inserts, updates and reads. */
export const INCIDENT_COLUMNS: ReadonlyArray<Column<Incident>> = [
  ["id", "text", (i) => i.id],
  ["key", "text", (i) => i.key],
  ["severity", "text", (i) => i.severity],
  ["title", "text", (i) => i.title],
  ["text", "text", (i) => i.text],
  ["source", "text", (i) => i.source],
  ["labels", "jsonb", (i) => i.labels],
  ["url", "text", (i) => i.url],
  ["status", "text", (i) => i.status],
  ["count", "integer", (i) => i.count],
  ["first_seen", "timestamptz", (i) => iso(i.firstSeen)],
  ["last_seen", "timestamptz", (i) => iso(i.lastSeen)],
  ["resolved_at", "timestamptz", (i) => iso(i.resolvedAt)],
  ["resolved_by", "jsonb", (i) => i.resolvedBy],
  ["acknowledged_by", "jsonb", (i) => i.acknowledgedBy],
  ["acknowledged_at", "timestamptz", (i) => iso(i.acknowledgedAt)],
  ["silenced_until", "timestamptz", (i) => iso(i.silencedUntil)],
  ["silence_id", "text", (i) => i.silenceId],
  ["inhibited_by", "text", (i) => i.inhibitedBy],
  ["group_id", "text", (i) => i.groupId],
  ["group_epoch", "integer", (i) => i.groupEpoch],
  ["message_ref", "text", (i) => i.messageRef],
  ["message_gen", "integer", (i) => i.messageGen],
  ["render_hash", "text", (i) => i.renderHash],
  ["first_notified_at", "timestamptz", (i) => iso(i.firstNotifiedAt)],
  ["last_notified_at", "timestamptz", (i) => iso(i.lastNotifiedAt)],
  ["escalation_due_at", "timestamptz", (i) => iso(i.escalationDueAt)],
  ["last_escalated_at", "timestamptz", (i) => iso(i.lastEscalatedAt)],
  ["escalations", "integer", (i) => i.escalations],
  ["pagerduty_triggered", "boolean", (i) => i.pagerdutyTriggered],
  ["content_hash", "text", (i) => i.contentHash],
];

export function recordset<T>(columns: ReadonlyArray<Column<T>>, rows: readonly T[]): string {
  return JSON.stringify(
    rows.map((row) => Object.fromEntries(columns.map(([column, , read]) => [column, read(row)]))),
  );
}

export const recordType = <T>(columns: ReadonlyArray<Column<T>>) =>
  columns.map(([column, type]) => `"${column}" ${type}`).join(", ");
export const columnList = <T>(columns: ReadonlyArray<Column<T>>) => columns.map(([c]) => `"${c}"`).join(", ");

const UPDATE_INCIDENTS = `
  update alerts a set ${INCIDENT_COLUMNS.filter(([c]) => c !== "id")
    .map(([c]) => `"${c}" = x."${c}"`)
    .join(", ")}
    from jsonb_to_recordset($1::jsonb) as x(${recordType(INCIDENT_COLUMNS)})
   where a.id = x.id`;

export async function updateIncidents(client: Queryable, incidents: readonly Incident[]): Promise<void> {
  if (incidents.length === 0) return;
  await run(client, UPDATE_INCIDENTS, [recordset(INCIDENT_COLUMNS, incidents)]);
}

export interface IncidentDbRow {
  seq: number;
  id: string;
  key: string;
  severity: Incident["severity"];
  title: string;
  text: string | null;
  source: string | null;
  labels: Record<string, string>;
  url: string | null;
  status: Incident["status"];
  count: number;
  first_seen: Date;
  last_seen: Date;
  resolved_at: Date | null;
  resolved_by: ActorRef | null;
  acknowledged_by: ActorRef | null;
  acknowledged_at: Date | null;
  silenced_until: Date | null;
  silence_id: string | null;
  inhibited_by: string | null;
  group_id: string | null;
  group_epoch: number | null;
  message_ref: string | null;
  message_gen: number;
  render_hash: string | null;
  first_notified_at: Date | null;
  last_notified_at: Date | null;
  escalation_due_at: Date | null;
  last_escalated_at: Date | null;
  escalations: number;
  pagerduty_triggered: boolean;
  content_hash: string | null;
}

export function toIncident(r: IncidentDbRow): Incident {
  return {
    seq: r.seq,
    id: r.id,
    key: r.key,
    severity: r.severity,
    title: r.title,
    text: r.text,
    source: r.source,
    labels: r.labels,
    url: r.url,
    status: r.status,
    count: r.count,
    firstSeen: r.first_seen,
    lastSeen: r.last_seen,
    resolvedAt: r.resolved_at,
    resolvedBy: r.resolved_by,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: r.acknowledged_at,
    silencedUntil: r.silenced_until,
    silenceId: r.silence_id,
    inhibitedBy: r.inhibited_by,
    groupId: r.group_id,
    groupEpoch: r.group_epoch,
    messageRef: r.message_ref,
    messageGen: r.message_gen,
    renderHash: r.render_hash,
    firstNotifiedAt: r.first_notified_at,
    lastNotifiedAt: r.last_notified_at,
    escalationDueAt: r.escalation_due_at,
    lastEscalatedAt: r.last_escalated_at,
    escalations: r.escalations,
    pagerdutyTriggered: r.pagerduty_triggered,
    contentHash: r.content_hash ?? null,
  };
}

const lockClause = (lock: boolean) => (lock ? "order by id for update" : "");

/** The newest incident of each key (resolved ones included): answers for resolves of closed keys. */
export async function latestIncidentsByKeys(client: Queryable, keys: readonly string[]): Promise<Incident[]> {
  if (keys.length === 0) return [];
  const { rows } = await run<IncidentDbRow>(
    client,
    `select distinct on (key) * from alerts where key = any($1::text[]) order by key, seq desc`,
    [keys],
  );
  return rows.map(toIncident);
}

export async function incidentById(
  client: Queryable,
  id: string,
  opts: { lock?: boolean } = {},
): Promise<Incident | null> {
  const { rows } = await run<IncidentDbRow>(
    client,
    `select * from alerts where id = $1 ${opts.lock ? "for update" : ""}`,
    [id],
  );
  return rows[0] ? toIncident(rows[0]) : null;
}

export async function incidentsByIds(
  client: Queryable,
  ids: readonly string[],
  opts: { lock?: boolean } = {},
): Promise<Incident[]> {
  if (ids.length === 0) return [];
  const { rows } = await run<IncidentDbRow>(
    client,
    `select * from alerts where id = any($1::text[]) ${lockClause(opts.lock ?? false)}`,
    [ids],
  );
  return rows.map(toIncident);
}

/** Incidents of a group's epoch; `shownOnly`: those its message shows. */
export async function groupMembers(
  client: Queryable,
  groupId: string,
  epoch: number,
  opts: { lock?: boolean; shownOnly?: boolean } = {},
): Promise<Incident[]> {
  const { rows } = await run<IncidentDbRow>(
    client,
    `select * from alerts where group_id = $1 and group_epoch = $2
        ${opts.shownOnly ? "and first_notified_at is not null" : ""} ${lockClause(opts.lock ?? false)}`,
    [groupId, epoch],
  );
  return rows.map(toIncident);
}

/**
 * Open incidents that could inhibit: the source side of a rule (severity, exact labels) and, when
 * the rule has `equal` labels, the first of them set to one of `values`.
 */
export async function inhibitionCandidates(
  client: Queryable,
  source: { severity: string | null; match: Readonly<Record<string, string>> },
  equal: { name: string; values: readonly string[] } | null,
): Promise<Array<Pick<Incident, "key" | "severity" | "labels" | "status">>> {
  const { rows } = await run<Pick<IncidentDbRow, "key" | "severity" | "labels" | "status">>(
    client,
    `select key, severity, labels, status from alerts
      where status <> 'resolved'
        and ($1::text is null or severity = $1)
        and labels @> $2::jsonb
        and ($3::text is null or labels ->> $3 = any($4::text[]))
      limit 5000`,
    [source.severity, JSON.stringify(source.match), equal?.name ?? null, equal?.values ?? []],
  );
  return rows;
}

export interface ListQuery {
  status?: Incident["status"] | undefined;
  /** Only incidents not resolved. */
  open?: boolean;
  limit: number;
  /** Rows with seq below this (the cursor). */
  beforeSeq?: number | undefined;
  offset?: number;
}

export async function listIncidents(client: Queryable, q: ListQuery): Promise<Incident[]> {
  const { rows } = await run<IncidentDbRow>(
    client,
    `select * from alerts
      where ($1::text is null or status = $1)
        and ($2::boolean is not true or status <> 'resolved')
        and ($3::bigint is null or seq < $3)
      order by seq desc
      limit $4 offset $5`,
    [q.status ?? null, q.open ?? false, q.beforeSeq ?? null, q.limit, q.offset ?? 0],
  );
  return rows.map(toIncident);
}

export interface OpenCounts {
  total: number;
  firing: number;
  acknowledged: number;
  silenced: number;
}

export async function openCounts(client: Queryable): Promise<OpenCounts> {
  const { rows } = await run<{ status: string; n: number }>(
    client,
    "select status, count(*)::int as n from alerts where status <> 'resolved' group by status",
    [],
  );
  const counts: OpenCounts = { total: 0, firing: 0, acknowledged: 0, silenced: 0 };
  for (const row of rows) {
    if (row.status === "firing" || row.status === "acknowledged" || row.status === "silenced") {
      counts[row.status] = row.n;
      counts.total += row.n;
    }
  }
  return counts;
}

// ---- events -----------------------------------------------------------------------------------

export interface AlertEvent {
  alertId: string;
  at: Date;
  kind: string;
  traceId?: string | null | undefined;
  actor?: ActorRef | null | undefined;
  details?: Record<string, unknown>;
}

export const EVENT_COLUMNS: ReadonlyArray<Column<AlertEvent>> = [
  ["alert_id", "text", (e) => e.alertId],
  ["at", "timestamptz", (e) => e.at.toISOString()],
  ["kind", "text", (e) => e.kind],
  ["trace_id", "text", (e) => e.traceId ?? currentTrace()?.traceId ?? null],
  ["actor", "jsonb", (e) => e.actor ?? null],
  ["details", "jsonb", (e) => e.details ?? {}],
];

export async function insertEvents(client: Queryable, events: readonly AlertEvent[]): Promise<void> {
  if (events.length === 0) return;
  await run(
    client,
    `insert into alert_events (${columnList(EVENT_COLUMNS)})
     select ${columnList(EVENT_COLUMNS)} from jsonb_to_recordset($1::jsonb) as x(${recordType(EVENT_COLUMNS)})`,
    [recordset(EVENT_COLUMNS, events)],
  );
}

// ---- groups -----------------------------------------------------------------------------------

export const GROUP_COLUMNS: ReadonlyArray<Column<AlertGroup>> = [
  ["id", "text", (g) => g.id],
  ["group_key", "text", (g) => g.groupKey],
  ["labels", "jsonb", (g) => g.labels],
  ["epoch", "integer", (g) => g.epoch],
  ["closed", "boolean", (g) => g.closed],
  ["first_alert_at", "timestamptz", (g) => iso(g.firstAlertAt)],
  ["last_flush_at", "timestamptz", (g) => iso(g.lastFlushAt)],
  ["pending_since", "timestamptz", (g) => iso(g.pendingSince)],
  ["pending_loud", "boolean", (g) => g.pendingLoud],
  ["flush_due_at", "timestamptz", (g) => iso(g.flushDueAt)],
  ["message_ref", "text", (g) => g.messageRef],
  ["message_gen", "integer", (g) => g.messageGen],
  ["render_hash", "text", (g) => g.renderHash],
  ["view_page", "integer", (g) => g.viewPage],
  ["last_action", "jsonb", (g) => g.lastAction],
];

export interface GroupDbRow {
  id: string;
  group_key: string;
  labels: Record<string, string>;
  epoch: number;
  closed: boolean;
  first_alert_at: Date;
  last_flush_at: Date | null;
  pending_since: Date | null;
  pending_loud: boolean;
  flush_due_at: Date | null;
  message_ref: string | null;
  message_gen: number;
  render_hash: string | null;
  view_page: number;
  last_action: GroupAction | null;
}

export function toGroup(r: GroupDbRow): AlertGroup {
  return {
    id: r.id,
    groupKey: r.group_key,
    labels: r.labels,
    epoch: r.epoch,
    closed: r.closed,
    firstAlertAt: r.first_alert_at,
    lastFlushAt: r.last_flush_at,
    pendingSince: r.pending_since,
    pendingLoud: r.pending_loud,
    flushDueAt: r.flush_due_at,
    messageRef: r.message_ref,
    messageGen: r.message_gen,
    renderHash: r.render_hash,
    viewPage: r.view_page,
    lastAction: r.last_action,
  };
}

export async function groupsByIds(
  client: Queryable,
  ids: readonly string[],
  opts: { lock?: boolean } = {},
): Promise<AlertGroup[]> {
  if (ids.length === 0) return [];
  const { rows } = await run<GroupDbRow>(
    client,
    `select * from alert_groups where id = any($1::text[]) ${lockClause(opts.lock ?? false)}`,
    [ids],
  );
  return rows.map(toGroup);
}

export async function upsertGroups(client: Queryable, groups: readonly AlertGroup[]): Promise<void> {
  if (groups.length === 0) return;
  await run(
    client,
    `insert into alert_groups (${columnList(GROUP_COLUMNS)})
     select ${columnList(GROUP_COLUMNS)} from jsonb_to_recordset($1::jsonb) as x(${recordType(GROUP_COLUMNS)})
     on conflict (id) do update set ${GROUP_COLUMNS.filter(([c]) => c !== "id")
       .map(([c]) => `"${c}" = excluded."${c}"`)
       .join(", ")}`,
    [recordset(GROUP_COLUMNS, groups)],
  );
}

/** Ids of groups whose flush is due at `now`, earliest first. */
export async function dueGroupIds(client: Queryable, now: Date, limit: number): Promise<string[]> {
  const { rows } = await run<{ id: string }>(
    client,
    "select id from alert_groups where flush_due_at <= $1 order by flush_due_at limit $2",
    [now, limit],
  );
  return rows.map((r) => r.id);
}

// ---- silences ---------------------------------------------------------------------------------

export interface SilenceDbRow {
  id: string;
  key: string | null;
  matchers: Matcher[] | null;
  starts_at: Date | null;
  ends_at: Date;
  created_at: Date;
  created_by: ActorRef;
  comment: string | null;
  expired_by: ActorRef | null;
}

export function toSilence(r: SilenceDbRow): SilenceRow {
  return {
    id: r.id,
    key: r.key,
    matchers: r.matchers,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    createdAt: r.created_at,
    createdBy: r.created_by,
    comment: r.comment,
    expiredBy: r.expired_by,
  };
}

/** Silences not yet ended at `now` (including those starting later), ending soonest first. */
export async function activeSilences(client: Queryable, now: Date): Promise<SilenceRow[]> {
  const { rows } = await run<SilenceDbRow>(
    client,
    "select * from silences where ends_at > $1 order by ends_at, id",
    [now],
  );
  return rows.map(toSilence);
}

export async function silenceById(client: Queryable, id: string): Promise<SilenceRow | null> {
  const { rows } = await run<SilenceDbRow>(client, "select * from silences where id = $1", [id]);
  return rows[0] ? toSilence(rows[0]) : null;
}

export async function insertSilence(client: Queryable, s: SilenceRow): Promise<void> {
  await run(
    client,
    `insert into silences (id, key, matchers, starts_at, ends_at, created_at, created_by, comment)
     values ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      s.id,
      s.key,
      s.matchers === null ? null : JSON.stringify(s.matchers),
      s.startsAt,
      s.endsAt,
      s.createdAt,
      JSON.stringify(s.createdBy),
      s.comment,
    ],
  );
}

export async function endSilence(client: Queryable, id: string, at: Date, by: ActorRef): Promise<void> {
  await run(client, "update silences set ends_at = $2, expired_by = $3 where id = $1", [
    id,
    at,
    JSON.stringify(by),
  ]);
}

/** Silenced incidents whose silence has ended at `now` (the expiry job). */
export async function expiredSilencedIds(client: Queryable, now: Date, limit: number): Promise<string[]> {
  const { rows } = await run<{ id: string }>(
    client,
    "select id from alerts where status = 'silenced' and silenced_until <= $1 order by silenced_until limit $2",
    [now, limit],
  );
  return rows.map((r) => r.id);
}

/** Open incidents a silence may cover: by key, or by any label (the caller matches exactly). */
export async function openIncidentsForSilence(client: Queryable, key: string | null): Promise<Incident[]> {
  const { rows } = await run<IncidentDbRow>(
    client,
    `select * from alerts where status in ('firing', 'silenced') and ($1::text is null or key = $1)`,
    [key],
  );
  return rows.map(toIncident);
}
