import { currentTrace } from "../observability/trace.ts";
import type { Db, DbClient } from "./pool.ts";

export type ActorType = "operator" | "api_key" | "system" | "stranger";

export interface Actor {
  type: ActorType;
  id: string;
  name?: string;
}

export interface AuditEntry {
  actor: Actor;
  action: string;
  target?: string;
  details?: Record<string, unknown>;
  traceId?: string;
}

/**
 * Writes one audit row. Pass the transaction's client when the audited change is transactional,
 * so the audit row commits (or rolls back) with it. The trace id defaults to the current trace.
 */
export async function writeAudit(db: Db | DbClient, entry: AuditEntry): Promise<void> {
  await writeAudits(db, [entry]);
}

/** Several audit rows in one statement (one round trip on a path an agent waits on). */
export async function writeAudits(db: Db | DbClient, entries: readonly AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const params: unknown[] = [];
  const values = entries.map((entry) => {
    const at = params.length;
    params.push(
      entry.actor.type,
      entry.actor.id,
      entry.actor.name ?? null,
      entry.action,
      entry.target ?? null,
      entry.traceId ?? currentTrace()?.traceId ?? null,
      JSON.stringify(entry.details ?? {}),
    );
    return `($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}, $${at + 6}, $${at + 7})`;
  });
  await db.query(
    `insert into audit_log (actor_type, actor_id, actor_name, action, target, trace_id, details)
     values ${values.join(", ")}`,
    params,
  );
}

export interface AuditRow {
  id: number;
  at: Date;
  actor_type: ActorType;
  actor_id: string;
  actor_name: string | null;
  action: string;
  target: string | null;
  trace_id: string | null;
  details: Record<string, unknown>;
}

export async function listAudit(db: Db, opts: { action?: string; limit?: number } = {}): Promise<AuditRow[]> {
  const { rows } = await db.query<AuditRow>(
    `select * from audit_log where ($1::text is null or action = $1) order by id desc limit $2`,
    [opts.action ?? null, opts.limit ?? 100],
  );
  return rows;
}
