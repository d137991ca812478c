/**
 * SQL of the approvals (src/store/migrations/006_approvals.sql): plain parameterised statements.
 * Every time is the service's clock, passed in: in production the database's clock
 * (src/store/db-clock.ts), so `expires_at > $now` is DESIGN.md's `expires_at > now()` read on one
 * clock by every instance, and tests can move time by hand. Deciding is ONE conditional UPDATE
 * (`where status = 'pending' and expires_at > $now`): whatever races it (two approvers, two
 * instances, a button and the expiry job), exactly one writer changes the row.
 */
import type { Db, DbClient } from "../../store/pool.ts";
import type { ApprovalRow, ApprovalStatus, BatchRow, DecidedBy, GrantRow } from "./types.ts";

type Queryable = Db | DbClient;

const COLUMNS = `seq, id, agent, tool, original_tool, args, args_hash, flags, request_reason, run_id, batch_id,
  level, level_source, rule, policy_reason, status, decided_by_kind, decided_by_id, decided_by_name,
  decision_reason, grant_id, api_key, idempotency_key, trace_id, card_ref, args_document_sent, created_at, expires_at,
  decided_at`;

export type NewApproval = Omit<ApprovalRow, "seq" | "args_document_sent">;

export async function insertApproval(db: Queryable, row: NewApproval): Promise<ApprovalRow> {
  const { rows } = await db.query<ApprovalRow>(
    `insert into approvals (id, agent, tool, original_tool, args, args_hash, flags, request_reason, run_id,
       batch_id, level, level_source, rule, policy_reason, status, decided_by_kind, decided_by_id,
       decided_by_name, decision_reason, grant_id, api_key, idempotency_key, trace_id, card_ref, created_at,
       expires_at, decided_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
       $22, $23, $24, $25, $26, $27)
     on conflict (api_key, idempotency_key) where idempotency_key is not null do nothing
     returning ${COLUMNS}`,
    [
      row.id,
      row.agent,
      row.tool,
      row.original_tool,
      JSON.stringify(row.args),
      row.args_hash,
      JSON.stringify(row.flags),
      row.request_reason,
      row.run_id,
      row.batch_id,
      row.level,
      row.level_source,
      row.rule,
      row.policy_reason,
      row.status,
      row.decided_by_kind,
      row.decided_by_id,
      row.decided_by_name,
      row.decision_reason,
      row.grant_id,
      row.api_key,
      row.idempotency_key,
      row.trace_id,
      row.card_ref,
      row.created_at,
      row.expires_at,
      row.decided_at,
    ],
  );
  // No row: another request with the same idempotency key committed first (the caller re-reads).
  return rows[0] as ApprovalRow;
}

export async function getApproval(db: Queryable, id: string): Promise<ApprovalRow | undefined> {
  const { rows } = await db.query<ApprovalRow>(`select ${COLUMNS} from approvals where id = $1`, [id]);
  return rows[0];
}

export async function getApprovals(db: Queryable, ids: readonly string[]): Promise<ApprovalRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<ApprovalRow>(
    `select ${COLUMNS} from approvals where id = any($1::text[]) order by seq`,
    [ids],
  );
  return rows;
}

export async function findByIdempotencyKey(
  db: Queryable,
  apiKey: string,
  idempotencyKey: string,
): Promise<ApprovalRow | undefined> {
  const { rows } = await db.query<ApprovalRow>(
    `select ${COLUMNS} from approvals where api_key = $1 and idempotency_key = $2`,
    [apiKey, idempotencyKey],
  );
  return rows[0];
}

export interface ListFilter {
  status?: ApprovalStatus;
  agent?: string;
  /** Agents the key may act for; undefined: any. */
  agents?: readonly string[];
  limit: number;
  /** seq of the last row of the previous page. */
  before?: number;
  /**
   * Rows to skip. The HTTP API pages by `before`; the bot pages by offset because its buttons
   * carry only a page number (`pg:<view>:<page>`, DESIGN.md's fixed callback data).
   */
  offset?: number;
  now: Date;
}

/** The where clause of a filter, its values appended to `params`. */
function approvalsWhere(filter: Omit<ListFilter, "limit" | "offset">, params: unknown[]): string {
  const where: string[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  switch (filter.status) {
    case "pending":
      where.push(`status = 'pending' and expires_at > ${param(filter.now)}`);
      break;
    case "expired":
      where.push(`(status = 'expired' or (status = 'pending' and expires_at <= ${param(filter.now)}))`);
      break;
    case "approved":
    case "denied":
      where.push(`status = ${param(filter.status)}`);
      break;
  }
  if (filter.agent !== undefined) where.push(`agent = ${param(filter.agent)}`);
  if (filter.agents !== undefined) where.push(`agent = any(${param(filter.agents)}::text[])`);
  if (filter.before !== undefined) where.push(`seq < ${param(filter.before)}`);
  return where.length > 0 ? `where ${where.join(" and ")}` : "";
}

/** Newest first. `status` is the effective one: a pending row past expires_at counts as expired. */
export async function listApprovals(db: Queryable, filter: ListFilter): Promise<ApprovalRow[]> {
  const params: unknown[] = [];
  const where = approvalsWhere(filter, params);
  params.push(filter.limit, filter.offset ?? 0);
  const { rows } = await db.query<ApprovalRow>(
    `select ${COLUMNS} from approvals ${where}
      order by seq desc limit $${params.length - 1} offset $${params.length}`,
    params,
  );
  return rows;
}

/** How many approvals `listApprovals` would page through with this filter. */
export async function countApprovals(
  db: Queryable,
  filter: Omit<ListFilter, "limit" | "offset" | "before">,
): Promise<number> {
  const params: unknown[] = [];
  const where = approvalsWhere(filter, params);
  const { rows } = await db.query<{ n: number }>(`select count(*)::int as n from approvals ${where}`, params);
  return rows[0]?.n ?? 0;
}

export interface Decision {
  status: "approved" | "denied";
  by: DecidedBy;
  deciderId: string | null;
  deciderName: string | null;
  reason: string | null;
  grantId: string | null;
  now: Date;
}

/**
 * The one conditional UPDATE that decides: the row if this call decided it, else undefined (it was
 * decided already, or it expired, or it does not exist).
 */
export async function decideApproval(
  db: Queryable,
  id: string,
  decision: Decision,
): Promise<ApprovalRow | undefined> {
  const { rows } = await db.query<ApprovalRow>(
    `update approvals
        set status = $2, decided_by_kind = $3, decided_by_id = $4, decided_by_name = $5,
            decision_reason = $6, grant_id = $7, decided_at = $8
      where id = $1 and status = 'pending' and expires_at > $8
      returning ${COLUMNS}`,
    [
      id,
      decision.status,
      decision.by,
      decision.deciderId,
      decision.deciderName,
      decision.reason,
      decision.grantId,
      decision.now,
    ],
  );
  return rows[0];
}

export async function markDocumentsSent(db: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.query("update approvals set args_document_sent = true where id = any($1::text[])", [ids]);
}

export async function setCardRef(db: Queryable, ids: readonly string[], cardRef: string): Promise<void> {
  await db.query("update approvals set card_ref = $2 where id = any($1::text[])", [ids, cardRef]);
}

// ---- grants ------------------------------------------------------------------------------------

const GRANT_COLUMNS = `id, agent, tool, args_hash, args, approval_id, created_by_id, created_by_name, created_at,
  expires_at, revoked_at, revoked_by_id, revoked_by_name`;

export async function hasActiveGrant(
  db: Queryable,
  agent: string,
  tool: string,
  argsHash: string,
  now: Date,
): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `select id from approval_grants
      where agent = $1 and tool = $2 and args_hash = $3 and expires_at > $4 and revoked_at is null
      limit 1`,
    [agent, tool, argsHash, now],
  );
  return rows[0]?.id;
}

export async function insertGrant(db: Queryable, grant: GrantRow): Promise<void> {
  await db.query(
    `insert into approval_grants (id, agent, tool, args_hash, args, approval_id, created_by_id, created_by_name,
       created_at, expires_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      grant.id,
      grant.agent,
      grant.tool,
      grant.args_hash,
      JSON.stringify(grant.args),
      grant.approval_id,
      grant.created_by_id,
      grant.created_by_name,
      grant.created_at,
      grant.expires_at,
    ],
  );
}

export async function getGrant(db: Queryable, id: string): Promise<GrantRow | undefined> {
  const { rows } = await db.query<GrantRow>(`select ${GRANT_COLUMNS} from approval_grants where id = $1`, [
    id,
  ]);
  return rows[0];
}

/** Newest first; `id` breaks ties of `created_at` so offset pages neither repeat nor skip a grant. */
export async function listActiveGrants(
  db: Queryable,
  now: Date,
  limit: number,
  offset = 0,
): Promise<GrantRow[]> {
  const { rows } = await db.query<GrantRow>(
    `select ${GRANT_COLUMNS} from approval_grants
      where revoked_at is null and expires_at > $1
      order by created_at desc, id desc limit $2 offset $3`,
    [now, limit, offset],
  );
  return rows;
}

export async function countActiveGrants(db: Queryable, now: Date): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    "select count(*)::int as n from approval_grants where revoked_at is null and expires_at > $1",
    [now],
  );
  return rows[0]?.n ?? 0;
}

/** Revokes an active grant; the row if this call revoked it. */
export async function revokeGrant(
  db: Queryable,
  id: string,
  by: { id: string; name: string },
  now: Date,
): Promise<GrantRow | undefined> {
  const { rows } = await db.query<GrantRow>(
    `update approval_grants set revoked_at = $2, revoked_by_id = $3, revoked_by_name = $4
      where id = $1 and revoked_at is null and expires_at > $2
      returning ${GRANT_COLUMNS}`,
    [id, now, by.id, by.name],
  );
  return rows[0];
}

/** Grants that ran out since the last pass (to audit their end once). */
export async function noteExpiredGrants(db: Queryable, now: Date, limit: number): Promise<GrantRow[]> {
  const { rows } = await db.query<GrantRow>(
    `update approval_grants g set expiry_noted_at = $1
       from (select id from approval_grants
              where revoked_at is null and expiry_noted_at is null and expires_at <= $1
              order by expires_at limit $2
              for update skip locked) due
      where g.id = due.id
      returning ${GRANT_COLUMNS.split(",")
        .map((column) => `g.${column.trim()}`)
        .join(", ")}`,
    [now, limit],
  );
  return rows;
}

// ---- batches -----------------------------------------------------------------------------------

/** Serialises requests of one run (across instances) until the transaction ends. */
export async function lockRun(client: DbClient, agent: string, runId: string): Promise<void> {
  await client.query("select pg_advisory_xact_lock(hashtextextended($1, 727005))", [`${agent}/${runId}`]);
}

/**
 * The run's open batch a new request joins: its card still has a pending request, or it was
 * started less than `groupWaitMs` ago.
 */
export async function findJoinableBatch(
  db: Queryable,
  agent: string,
  runId: string,
  now: Date,
  groupWaitMs: number,
): Promise<BatchRow | undefined> {
  const { rows } = await db.query<BatchRow>(
    `select b.id, b.agent, b.run_id, b.status, b.created_at, b.card_ref
       from approval_batches b
      where b.agent = $1 and b.run_id = $2 and b.status = 'open'
        and (b.created_at > $3::timestamptz - make_interval(secs => $4::double precision / 1000)
             or exists (select 1 from approvals a
                         where a.batch_id = b.id and a.status = 'pending' and a.expires_at > $3))
      order by b.created_at desc
      limit 1`,
    [agent, runId, now, groupWaitMs],
  );
  return rows[0];
}

export async function insertBatch(db: Queryable, batch: BatchRow): Promise<void> {
  await db.query(
    `insert into approval_batches (id, agent, run_id, status, created_at, card_ref)
     values ($1, $2, $3, $4, $5, $6)`,
    [batch.id, batch.agent, batch.run_id, batch.status, batch.created_at, batch.card_ref],
  );
}

export async function getBatch(db: Queryable, id: string): Promise<BatchRow | undefined> {
  const { rows } = await db.query<BatchRow>(
    "select id, agent, run_id, status, created_at, card_ref from approval_batches where id = $1",
    [id],
  );
  return rows[0];
}

/** Locks the batch row for the rest of the transaction (card re-renders are serialised). */
export async function lockBatch(client: DbClient, id: string): Promise<BatchRow | undefined> {
  const { rows } = await client.query<BatchRow>(
    "select id, agent, run_id, status, created_at, card_ref from approval_batches where id = $1 for update",
    [id],
  );
  return rows[0];
}

export async function splitBatch(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query(
    "update approval_batches set status = 'split' where id = $1 and status = 'open'",
    [id],
  );
  return (rowCount ?? 0) > 0;
}

export async function batchMembers(db: Queryable, batchId: string): Promise<ApprovalRow[]> {
  const { rows } = await db.query<ApprovalRow>(
    `select ${COLUMNS} from approvals where batch_id = $1 order by seq`,
    [batchId],
  );
  return rows;
}

// ---- "Deny with reason" prompts ----------------------------------------------------------------

export interface ReasonPromptRow {
  approval_id: string;
  user_id: number;
  chat_id: string;
  prompt_ref: string | null;
  picker_ref: string | null;
  created_at: Date;
  closed_at: Date | null;
}

/** Opens the question for one approver; false when one is already open (the press is repeated). */
export async function openReasonPrompt(
  db: Queryable,
  row: { approvalId: string; userId: number; chatId: string; now: Date },
): Promise<boolean> {
  const { rowCount } = await db.query(
    `insert into approval_reason_prompts (approval_id, user_id, chat_id, created_at)
     values ($1, $2, $3, $4)
     on conflict (approval_id, user_id) do update
       set chat_id = excluded.chat_id, created_at = excluded.created_at, closed_at = null,
           prompt_ref = null, picker_ref = null
       where approval_reason_prompts.closed_at is not null`,
    [row.approvalId, row.userId, row.chatId, row.now],
  );
  return (rowCount ?? 0) > 0;
}

export async function setReasonPromptRefs(
  db: Queryable,
  approvalId: string,
  userId: number,
  refs: { prompt: string | null; picker: string | null },
): Promise<void> {
  await db.query(
    "update approval_reason_prompts set prompt_ref = $3, picker_ref = $4 where approval_id = $1 and user_id = $2",
    [approvalId, userId, refs.prompt, refs.picker],
  );
}

/** Closes the open questions of an approval (all approvers, or one); returns what was closed. */
export async function closeReasonPrompts(
  db: Queryable,
  approvalId: string,
  now: Date,
  userId?: number,
): Promise<ReasonPromptRow[]> {
  const { rows } = await db.query<ReasonPromptRow>(
    `update approval_reason_prompts set closed_at = $2
      where approval_id = $1 and closed_at is null and ($3::bigint is null or user_id = $3)
      returning approval_id, user_id, chat_id, prompt_ref, picker_ref, created_at, closed_at`,
    [approvalId, now, userId ?? null],
  );
  return rows;
}

/** Names a message sent directly (not through the outbox) so the outbox can edit or delete it later. */
export async function nameMessage(
  db: Queryable,
  ref: string,
  chat: { id: string; thread: number | null },
  messageId: number,
): Promise<void> {
  await db.query(
    `insert into telegram_messages (ref, chat_id, thread_id, message_id) values ($1, $2, $3, $4)
     on conflict (ref) do update set chat_id = excluded.chat_id, thread_id = excluded.thread_id,
       message_id = excluded.message_id, updated_at = now()`,
    [ref, chat.id, chat.thread, messageId],
  );
}

/** The request and the policy's verdict in one statement: store/audit.ts's writeAudits. */
export { writeAudits } from "../../store/audit.ts";
