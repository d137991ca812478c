/**
 * The group commit's SQL, in as few round trips as the pipeline allows (the ingest path is
 * latency-bound: Postgres waits on pitwall and pitwall on Postgres between statements). In the
 * steady state a batch is two round trips, each one simple query EXECUTEing statements the
 * connection PREPAREd once (literal arguments, no planning):
 *
 * 1. `begin`; the batch's advisory locks, taken by the silence read's one-time filter (an
 *    InitPlan Postgres evaluates once, before the scan, whether or not any silence exists), and
 *    the silences not yet ended; then the open incidents of the batch's keys and its groups,
 *    row-locked (a statement of its own: its snapshot is taken after the locks were granted);
 * 2. every write (incidents updated and inserted, events, firings per bin, groups) in one statement of
 *    data-modifying CTEs, and `commit`. The insert waits for the update (a resolved incident leaves the
 *    open-key index before its successor enters it), and events of an incident that merged into
 *    an existing one (the unique index's safety net) are re-pointed to it.
 */

import type { QueryResult } from "pg";
import type { DbClient } from "../../store/pool.ts";
import {
  type AlertEvent,
  columnList,
  EVENT_COLUMNS,
  GROUP_COLUMNS,
  type GroupDbRow,
  groupLock,
  INCIDENT_COLUMNS,
  type IncidentDbRow,
  keyLock,
  lockId,
  recordset,
  recordType,
  run,
  type SilenceDbRow,
  toGroup,
  toIncident,
  toSilence,
} from "./store.ts";
import type { AlertGroup, Incident, SilenceRow } from "./types.ts";

type Queryable = Pick<DbClient, "query">;

/**
 * The batch's advisory locks ($1, sorted: deadlock-free against every other holder; $2 marks the
 * ones taken shared), then the silences not yet ended at $3. The full path takes every lock
 * exclusively; count-only repeats take their groups shared (see writeCountOnlyRepeats).
 */
const LOCK_AND_SILENCES = `
  select * from silences
   where ends_at > $3
     and (select count(case when shared then pg_advisory_xact_lock_shared(l) else pg_advisory_xact_lock(l) end)
            from unnest($1::bigint[], $2::bool[]) as x(l, shared)) >= 0
   order by ends_at, id`;

/** `execute pw_ingest_lock(...)` for these lock names (exclusive, and shared: false when both). */
function lockStatement(exclusive: Iterable<string>, shared: Iterable<string>, now: Date): string {
  const locks = new Map<bigint, boolean>();
  for (const name of shared) locks.set(lockId(name), true);
  for (const name of exclusive) locks.set(lockId(name), false);
  const ids = [...locks.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return (
    `execute pw_ingest_lock(array[${ids.join(",")}]::bigint[], ` +
    `array[${ids.map((id) => locks.get(id)).join(",")}]::bool[], ${sqlText(now.toISOString())})`
  );
}

const ROWS_AND_GROUPS = `
  with a as (
    select * from alerts where key = any($1::text[]) and status <> 'resolved' order by id for update
  ), g as (
    select * from alert_groups where id = any($2::text[]) order by id for update
  )
  select 'a' as kind, to_jsonb(a) as row from a
  union all
  select 'g' as kind, to_jsonb(g) as row from g`;

/**
 * The optimistic read (no group locks, see ingest.ts): the open incidents row-locked in one
 * statement, the groups read without a lock in the next, whose snapshot is taken only after the
 * row locks were granted.
 */
const ROWS = `
  select 'a' as kind, to_jsonb(a) as row
    from (select * from alerts where key = any($1::text[]) and status <> 'resolved' order by id for update) a`;

const GROUPS = `select 'g' as kind, to_jsonb(g) as row from alert_groups g where id = any($1::text[])`;

const INCIDENT_TIMES = [
  "first_seen",
  "last_seen",
  "resolved_at",
  "acknowledged_at",
  "silenced_until",
  "first_notified_at",
  "last_notified_at",
  "escalation_due_at",
  "last_escalated_at",
] as const;
const GROUP_TIMES = ["first_alert_at", "last_flush_at", "pending_since", "flush_due_at"] as const;

function withDates<T>(row: Record<string, unknown>, fields: readonly string[]): T {
  for (const field of fields) {
    const value = row[field];
    if (typeof value === "string") row[field] = new Date(value);
  }
  return row as T;
}

function splitRows(rows: ReadonlyArray<{ kind: "a" | "g"; row: Record<string, unknown> }>): {
  incidents: Incident[];
  groups: AlertGroup[];
} {
  const incidents: Incident[] = [];
  const groups: AlertGroup[] = [];
  for (const { kind, row } of rows) {
    if (kind === "a") incidents.push(toIncident(withDates<IncidentDbRow>(row, INCIDENT_TIMES)));
    else groups.push(toGroup(withDates<GroupDbRow>(row, GROUP_TIMES)));
  }
  return { incidents, groups };
}

// ---- literals: the folded statements below go out as one simple query (several statements in
// one round trip), which takes no parameters; every value is written as a quoted literal.

/** A quoted SQL literal of `text` (standard_conforming_strings: only quotes are special, E'' with backslashes). */
export function sqlText(text: string): string {
  if (text.includes("\\")) return `E'${text.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
  return `'${text.replaceAll("'", "''")}'`;
}

const sqlTextArray = (values: readonly string[]) => `array[${values.map(sqlText).join(",")}]::text[]`;

export interface LockedRead {
  silences: SilenceRow[];
  incidents: Incident[];
  groups: AlertGroup[];
}

/**
 * Begins the batch's transaction, takes the advisory locks on `names` (sorted: deadlock-free),
 * reads the silences not yet ended, then the open incidents of `keys` and the groups `groupIds`
 * under row locks: one round trip. In READ COMMITTED each statement of a multi-statement query
 * takes its own snapshot, so the row read starts after the locks were granted and sees every
 * batch that held them committed, as when they were separate queries.
 */
export async function beginLockAndRead(
  client: Queryable,
  names: Iterable<string>,
  keys: readonly string[],
  groupIds: readonly string[],
  now: Date,
  opts: {
    /**
     * false: `names` holds no group locks and the groups are read without a row lock, in a
     * statement of their own after the incidents' row locks (the optimistic read of ingest.ts).
     */
    lockGroups: boolean;
    /** Rolls back the connection's open transaction first (an optimistic attempt given up). */
    rollbackFirst?: boolean;
  } = { lockGroups: true },
): Promise<LockedRead> {
  await ensurePrepared(client);
  const reads = opts.lockGroups
    ? `execute pw_ingest_read(${sqlTextArray(keys)}, ${sqlTextArray(groupIds)})`
    : `execute pw_ingest_rows(${sqlTextArray(keys)});\nexecute pw_ingest_groups(${sqlTextArray(groupIds)})`;
  const text =
    `${opts.rollbackFirst ? "rollback;\n" : ""}begin;\n` + `${lockStatement(names, [], now)};\n${reads}`;
  const results = (await client.query(text)) as unknown as QueryResult[];
  const first = opts.rollbackFirst ? 1 : 0;
  const silences = (results[first + 1]!.rows as SilenceDbRow[]).map(toSilence);
  const rows = results
    .slice(first + 2)
    .flatMap((r) => r.rows as Array<{ kind: "a" | "g"; row: Record<string, unknown> }>);
  return { silences, ...splitRows(rows) };
}

const set = (columns: readonly (readonly [string, ...unknown[]])[], from: string) =>
  columns
    .filter(([c]) => c !== "id")
    .map(([c]) => `"${c}" = ${from}."${c}"`)
    .join(", ");

type BatchEvent = AlertEvent & { openKey: string | null };

const EVENT_INPUT = [
  ...EVENT_COLUMNS,
  ["open_key", "text", (e: BatchEvent) => e.openKey] as const,
] as ReadonlyArray<readonly [string, string, (e: BatchEvent) => unknown]>;

/** The 15-minute bin of alert_firings a time falls in (010_alert_firings.sql). */
export const FIRING_BIN = (at: string) =>
  `date_bin('15 minutes', ${at}, timestamptz '2000-01-01 00:00:00+00')`;

/** Firings already counted in the bin are added to, never replaced. */
const ADD_TO_BIN = "on conflict (alert_id, bin) do update set n = alert_firings.n + excluded.n";

const WRITE_BATCH = `
  with upd as (
    update alerts a set ${set(INCIDENT_COLUMNS, "x")}
      from jsonb_to_recordset($1::jsonb) as x(${recordType(INCIDENT_COLUMNS)})
     where a.id = x.id
    returning a.id
  ), ins as (
    insert into alerts (${columnList(INCIDENT_COLUMNS)})
    select ${columnList(INCIDENT_COLUMNS)}
      from jsonb_to_recordset($2::jsonb) as x(${recordType(INCIDENT_COLUMNS)})
     where (select count(*) from upd) >= 0
    on conflict (key) where status <> 'resolved' do update
      set count = alerts.count + excluded.count,
          last_seen = greatest(alerts.last_seen, excluded.last_seen)
    returning id, key, (xmax = 0) as inserted
  ), ev as (
    insert into alert_events (${columnList(EVENT_COLUMNS)})
    select coalesce((select i.id from ins i where i.key = x.open_key and not i.inserted), x.alert_id),
           ${columnList(EVENT_COLUMNS.filter(([c]) => c !== "alert_id"))}
      from jsonb_to_recordset($3::jsonb) as x(${recordType(EVENT_INPUT)})
  ), grp as (
    insert into alert_groups (${columnList(GROUP_COLUMNS)})
    select ${columnList(GROUP_COLUMNS)}
      from jsonb_to_recordset($4::jsonb) as x(${recordType(GROUP_COLUMNS)})
    on conflict (id) do update set ${set(GROUP_COLUMNS, "excluded")}
  ), fir as (
    insert into alert_firings (alert_id, bin, n)
    select coalesce((select i.id from ins i where i.key = x.open_key and not i.inserted), x.alert_id),
           ${FIRING_BIN("x.at")}, count(*)
      from jsonb_to_recordset($3::jsonb) as x(${recordType(EVENT_INPUT)})
     where x.kind in ('opened', 'repeated')
     group by 1, 2
    ${ADD_TO_BIN}
  )
  select id, key, inserted from ins`;

export interface BatchWrite {
  updated: readonly Incident[];
  created: readonly Incident[];
  events: readonly AlertEvent[];
  groups: readonly AlertGroup[];
}

/**
 * Writes the batch in one statement (and commits it, with `commit`); returns planned id -> real id for new incidents that merged
 * into an open one (only possible if something bypassed the key locks).
 */
export async function writeBatch(
  client: Queryable,
  batch: BatchWrite,
  opts: { commit: boolean } = { commit: false },
): Promise<Map<string, string>> {
  const openKeyOf = new Map(batch.created.filter((i) => i.status !== "resolved").map((i) => [i.id, i.key]));
  const events: BatchEvent[] = batch.events.map((e) => ({ ...e, openKey: openKeyOf.get(e.alertId) ?? null }));
  const values = [
    recordset(INCIDENT_COLUMNS, batch.updated),
    recordset(INCIDENT_COLUMNS, batch.created),
    recordset(EVENT_INPUT, events),
    recordset(GROUP_COLUMNS, batch.groups),
  ];
  let rows: Array<{ id: string; key: string; inserted: boolean }>;
  if (opts.commit) {
    // The write and the commit in one round trip; an error in the write skips the commit (the
    // caller rolls back), and the caller hears of success only once the commit returned.
    await ensurePrepared(client);
    const text = `execute pw_ingest_write(${values.map(sqlText).join(", ")});\ncommit`;
    const results = (await client.query(text)) as unknown as QueryResult[];
    rows = results[0]!.rows as typeof rows;
  } else {
    ({ rows } = await run<{ id: string; key: string; inserted: boolean }>(client, WRITE_BATCH, values));
  }
  const merged = new Map<string, string>();
  const byKey = new Map(rows.filter((r) => !r.inserted).map((r) => [r.key, r.id]));
  for (const incident of batch.created) {
    const existing = byKey.get(incident.key);
    if (existing !== undefined && incident.status !== "resolved") merged.set(incident.id, existing);
  }
  return merged;
}

// ---- count-only repeats (fast-repeat.ts) -------------------------------------------------------

/**
 * Raises count and last_seen of the open incidents a repeat would change in nothing else, and
 * counts the firings; a row that fails any condition is left alone and its alerts take the full
 * path. The conditions are those under which the full pipeline's repeat writes only count and
 * last_seen (ingest.ts): same content (hash), shown, no re-notification due (acknowledged, or
 * notified within the dedup window), in its group's current open epoch with a flush already
 * pending (so marking the group changed changes nothing), and pitwall's view of the silences
 * ($6/$7: the ids and ends of those not yet ended, with which pitwall checked the alerts) still
 * current — otherwise nothing is written. Its own statement, after the locks (LOCK_AND_SILENCES, groups shared): its
 * snapshot sees every batch, flush and action that held them committed; a row changed since (an
 * acknowledge, an escalation) is re-checked by Postgres against these conditions before it is
 * written.
 */
const REPEAT_UPDATE = `
  with silences_as_seen as (
    select (select count(*) from silences where ends_at > $4) = cardinality($6::text[])
       and not exists (
             select 1 from silences s
              where s.ends_at > $4
                and not exists (
                      select 1 from unnest($6::text[], $7::timestamptz[]) as c(id, ends_at)
                       where c.id = s.id and c.ends_at = date_trunc('milliseconds', s.ends_at))) as current
  ), target as materialized (
    -- Each key's open incident through the open-key index (unique: at most one per key), with
    -- its group's state. Materialized: the update below then finds its rows by id, a plan that
    -- stays right whatever the generic plan guesses about sizes (joined directly, Postgres
    -- chose to scan a whole group's members once per key).
    select o.id, x.d, x.hash
      from unnest($1::text[], $2::text[], $3::int[], $8::text[]) as x(key, hash, d, group_id)
      cross join lateral (
        -- offset 0: planned on its own, as the unique index lookup it is
        select a.id, a.group_id, a.group_epoch from alerts a
         where a.key = x.key and a.status <> 'resolved' offset 0) o
      join alert_groups g on g.id = o.group_id
     where o.group_id = x.group_id and g.epoch = o.group_epoch and not g.closed and g.pending_since is not null
  ), u as (
    update alerts a set count = a.count + x.d, last_seen = $4
      from target x
     where (select current from silences_as_seen)
       and a.id = x.id and a.status in ('firing', 'acknowledged') and a.content_hash = x.hash
       and a.first_notified_at is not null
       and (a.status = 'acknowledged' or a.last_notified_at > $5)
    returning a.id, a.key, a.count, x.d
  ), fir as (
    insert into alert_firings (alert_id, bin, n)
    select id, ${FIRING_BIN("$4")}, d from u
    ${ADD_TO_BIN}
  )
  select id, key, count from u`;

export interface CountOnlyRepeats {
  keys: readonly string[];
  /** Per key: the group its alerts join (only grouped alerts can be count-only repeats). */
  groupIds: readonly string[];
  /** Per key: the content hash its alerts carry, and how many of them the batch holds. */
  hashes: readonly string[];
  deltas: readonly number[];
  now: Date;
  /** Incidents notified after this are within the dedup window. */
  notifiedAfter: Date;
  /** The silences not yet ended the alerts were checked against. */
  silences: readonly SilenceRow[];
}

export interface CountOnlyOutcome {
  /** The incidents raised: their id, key and new count. */
  raised: Array<{ id: string; key: string; count: number }>;
  /** The silences not yet ended, as read under the locks (pitwall's view for the next batch). */
  silences: SilenceRow[];
}

/**
 * One round trip and one transaction: begin, the locks with the silences read, the update,
 * commit.
 */
export async function writeCountOnlyRepeats(
  client: Queryable,
  batch: CountOnlyRepeats,
): Promise<CountOnlyOutcome> {
  await ensurePrepared(client);
  // Keys exclusively, as the full path takes them; groups shared: a group's exclusive holders
  // are the ones that change it (a flush, an acknowledge, a full-path batch that marks it
  // changed), so count-only repeats of one group run side by side while none of those can.
  const locks = lockStatement(batch.keys.map(keyLock), batch.groupIds.map(groupLock), batch.now);
  const time = (d: Date) => sqlText(d.toISOString());
  const text =
    `begin;\n${locks};\n` +
    `execute pw_repeat_update(${sqlTextArray(batch.keys)}, ${sqlTextArray(batch.hashes)}, ` +
    `array[${batch.deltas.join(",")}]::int[], ${time(batch.now)}, ${time(batch.notifiedAfter)}, ` +
    `${sqlTextArray(batch.silences.map((s) => s.id))}, ` +
    `array[${batch.silences.map((s) => time(s.endsAt)).join(",")}]::timestamptz[], ` +
    `${sqlTextArray(batch.groupIds)});\ncommit`;
  const results = (await client.query(text)) as unknown as QueryResult[];
  return {
    silences: (results[1]!.rows as SilenceDbRow[]).map(toSilence),
    raised: results[2]!.rows as CountOnlyOutcome["raised"],
  };
}

/**
 * The folded statements as SQL-level prepared statements of the connection (PREPARE): a simple
 * query can EXECUTE them with literal arguments, so folding BEGIN and COMMIT in costs no
 * planning (the write alone would take about a millisecond to plan). Prepared once per
 * connection; the names are looked up first so that a connection that prepared some of them
 * before an error is completed rather than refused.
 */
const INGEST_STATEMENTS: ReadonlyArray<readonly [name: string, types: string, text: string]> = [
  ["pw_ingest_lock", "bigint[], bool[], timestamptz", LOCK_AND_SILENCES],
  ["pw_ingest_read", "text[], text[]", ROWS_AND_GROUPS],
  ["pw_ingest_rows", "text[]", ROWS],
  ["pw_ingest_groups", "text[]", GROUPS],
  ["pw_ingest_write", "jsonb, jsonb, jsonb, jsonb", WRITE_BATCH],
  [
    "pw_repeat_update",
    "text[], text[], int[], timestamptz, timestamptz, text[], timestamptz[], text[]",
    REPEAT_UPDATE,
  ],
];
const preparedOn = new WeakSet<object>();

async function ensurePrepared(client: Queryable): Promise<void> {
  if (preparedOn.has(client)) return;
  const { rows } = await client.query<{ name: string }>(
    "select name from pg_prepared_statements where name = any($1::text[])",
    [INGEST_STATEMENTS.map(([name]) => name)],
  );
  const have = new Set(rows.map((r) => r.name));
  const missing = INGEST_STATEMENTS.filter(([name]) => !have.has(name));
  if (missing.length > 0) {
    await client.query(
      missing.map(([name, types, text]) => `prepare ${name} (${types}) as ${text}`).join(";\n"),
    );
  }
  preparedOn.add(client);
}
