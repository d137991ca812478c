/**
 * Rows in the real tables, written the way the other feature areas write them (column names from
 * migrations 001, 005, 006, 007 and 010), so the digest's queries are tested against the schema.
 */
import { randomBytes } from "node:crypto";
import { type Config, formatIssues, parseConfig } from "../../../src/config/index.ts";
import type { Db } from "../../../src/store/pool.ts";

export function config(yaml: string): Config {
  const result = parseConfig(yaml, {});
  if (!result.ok) throw new Error(`test config rejected:\n${formatIssues(result.errors)}`);
  return result.config;
}

/** A clock the test moves. */
export interface FakeClock {
  now: () => Date;
  set(at: number | string): void;
  advance(ms: number): void;
}

export function fakeClock(start: number | string): FakeClock {
  let current = typeof start === "string" ? Date.parse(start) : start;
  return {
    now: () => new Date(current),
    set(at) {
      current = typeof at === "string" ? Date.parse(at) : at;
    },
    advance(ms) {
      current += ms;
    },
  };
}

const id16 = () => randomBytes(12).toString("base64url").replace(/[-_]/g, "x").slice(0, 16);

export interface SeedIncident {
  key: string;
  severity?: "info" | "warning" | "critical";
  title?: string;
  firstSeen: number;
  /** Repeats after the opening that the full pipeline wrote: a 'repeated' event and a firing each. */
  repeats?: number[];
  /** Repeats written as counts only (fast-repeat.ts): a firing each, no event. */
  countOnlyRepeats?: number[];
  acknowledgedAt?: number;
  resolvedAt?: number;
}

export async function seedIncident(db: Db, incident: SeedIncident): Promise<string> {
  const id = id16();
  const repeats = incident.repeats ?? [];
  const countOnly = incident.countOnlyRepeats ?? [];
  const status =
    incident.resolvedAt !== undefined
      ? "resolved"
      : incident.acknowledgedAt !== undefined
        ? "acknowledged"
        : "firing";
  const lastSeen = Math.max(incident.firstSeen, ...repeats, ...countOnly);
  await db.query(
    `insert into alerts (id, key, severity, title, status, count, first_seen, last_seen, resolved_at, acknowledged_at,
                         acknowledged_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      id,
      incident.key,
      incident.severity ?? "warning",
      incident.title ?? incident.key,
      status,
      1 + repeats.length + countOnly.length,
      new Date(incident.firstSeen),
      new Date(lastSeen),
      incident.resolvedAt === undefined ? null : new Date(incident.resolvedAt),
      incident.acknowledgedAt === undefined ? null : new Date(incident.acknowledgedAt),
      incident.acknowledgedAt === undefined
        ? null
        : JSON.stringify({ type: "operator", id: "1001", name: "Ada" }),
    ],
  );
  const events: Array<[number, string]> = [
    [incident.firstSeen, "opened"],
    ...repeats.map((at): [number, string] => [at, "repeated"]),
  ];
  if (incident.acknowledgedAt !== undefined) events.push([incident.acknowledgedAt, "acknowledged"]);
  if (incident.resolvedAt !== undefined) events.push([incident.resolvedAt, "resolved"]);
  for (const [at, kind] of events) {
    await db.query("insert into alert_events (alert_id, at, kind) values ($1, $2, $3)", [
      id,
      new Date(at),
      kind,
    ]);
  }
  // Every alert received is a firing, whether or not it left an event (migration 010).
  for (const at of [incident.firstSeen, ...repeats, ...countOnly]) await seedFirings(db, id, at, 1);
  return id;
}

/** `n` firings of incident `alertId` at `at`, added to the 15-minute bin of `at` as the ingest adds them. */
export async function seedFirings(db: Db, alertId: string, at: number, n: number): Promise<void> {
  await db.query(
    `insert into alert_firings (alert_id, bin, n)
     values ($1, date_bin('15 minutes', $2::timestamptz, timestamptz '2000-01-01 00:00:00+00'), $3)
     on conflict (alert_id, bin) do update set n = alert_firings.n + excluded.n`,
    [alertId, new Date(at), n],
  );
}

export interface SeedApproval {
  status: "pending" | "approved" | "denied" | "expired";
  by?: "human" | "policy" | "expiry";
  createdAt: number;
  decidedAt?: number;
  expiresAt?: number;
}

export async function seedApproval(db: Db, approval: SeedApproval): Promise<void> {
  const decided = approval.status !== "pending";
  await db.query(
    `insert into approvals (id, agent, tool, original_tool, args, level, level_source, rule, policy_reason, status,
                            decided_by_kind, api_key, created_at, expires_at, decided_at)
     values ($1, 'coder', 'exec_command', 'Bash', '{}', 'limited', 'default', 'require_approval', 'asked', $2, $3,
             'coder-bot', $4, $5, $6)`,
    [
      id16(),
      approval.status,
      decided ? (approval.by ?? (approval.status === "expired" ? "expiry" : "human")) : null,
      new Date(approval.createdAt),
      new Date(approval.expiresAt ?? approval.createdAt + 5 * 60_000),
      decided ? new Date(approval.decidedAt ?? approval.createdAt) : null,
    ],
  );
}

export interface SeedUsage {
  at: number;
  provider: string;
  model?: string;
  agent?: string;
  input: number;
  output: number;
  cached?: boolean;
  cost?: number;
}

/** One usage report: the per-request row and its hourly aggregate, as the usage service writes them. */
export async function seedUsage(db: Db, usage: SeedUsage): Promise<void> {
  const total = usage.input + usage.output;
  const spent = usage.cached ? 0 : total;
  const saved = usage.cached ? total : 0;
  const cost = usage.cost ?? 0;
  await db.query(
    `insert into usage_events (at, provider, model, agent, input_tokens, output_tokens, cached, tokens_spent,
                               tokens_saved, cost_usd, cost_source)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'reported')`,
    [
      new Date(usage.at),
      usage.provider,
      usage.model ?? null,
      usage.agent ?? null,
      usage.input,
      usage.output,
      usage.cached ?? false,
      spent,
      saved,
      cost,
    ],
  );
  await db.query(
    `insert into usage_hourly (hour, provider, model, agent, requests, cached_requests, input_tokens, output_tokens,
                               tokens_spent, tokens_saved, cost_usd)
     values (date_trunc('hour', $1::timestamptz), $2, $3, $4, 1, $5, $6, $7, $8, $9, $10)
     on conflict (hour, provider, model, agent) do update set
       requests = usage_hourly.requests + 1, cached_requests = usage_hourly.cached_requests + excluded.cached_requests,
       input_tokens = usage_hourly.input_tokens + excluded.input_tokens,
       output_tokens = usage_hourly.output_tokens + excluded.output_tokens,
       tokens_spent = usage_hourly.tokens_spent + excluded.tokens_spent,
       tokens_saved = usage_hourly.tokens_saved + excluded.tokens_saved,
       cost_usd = usage_hourly.cost_usd + excluded.cost_usd`,
    [
      new Date(usage.at),
      usage.provider,
      usage.model ?? "",
      usage.agent ?? "",
      usage.cached ? 1 : 0,
      usage.input,
      usage.output,
      spent,
      saved,
      cost,
    ],
  );
}

export async function seedAudit(
  db: Db,
  entry: { at: number; action: string; target: string; details: Record<string, unknown> },
): Promise<void> {
  await db.query(
    `insert into audit_log (at, actor_type, actor_id, action, target, details) values ($1, 'system', 'pitwall', $2, $3, $4)`,
    [new Date(entry.at), entry.action, entry.target, JSON.stringify(entry.details)],
  );
}

export async function seedModeChange(
  db: Db,
  change: { at: number; mode: string; previous: string; reasons?: string[]; by?: string },
): Promise<void> {
  await db.query(
    "insert into mode_history (at, mode, previous, reasons, changed_by) values ($1, $2, $3, $4, $5)",
    [
      new Date(change.at),
      change.mode,
      change.previous,
      JSON.stringify(change.reasons ?? []),
      change.by ?? "auto",
    ],
  );
}

/** Empties every table the digest reads or writes. */
export async function truncateDigestTables(db: Db): Promise<void> {
  await db.query(
    `truncate digests, alert_firings, alert_events, alerts, approvals, usage_events, usage_hourly, audit_log,
              mode_history, outbox, telegram_messages, delivery_chats restart identity cascade`,
  );
}
