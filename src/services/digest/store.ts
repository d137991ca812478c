/**
 * The `digests` table (migration 008): one row per local date, claimed in the transaction that
 * queues the digest's messages, and the email copy's delivery state.
 */
import type { Db, DbClient } from "../../store/pool.ts";

/** Serialises claims, so "nothing older after something newer" holds across instances. */
const CLAIM_LOCK = 727_008;

export interface DigestClaim {
  date: string;
  scheduledAt: number;
  windowStart: number;
  windowEnd: number;
  late: boolean;
  createdAt: number;
  /** The email to send, when digest.email is configured. */
  email: { subject: string; text: string; html: string } | null;
  summary: unknown;
}

/**
 * Inserts the row for `claim.date` unless that date, or a later one, already has one. Returns
 * false when it was not inserted: another run (this instance or another) sent that digest, or a
 * newer one went out, and this one must not. Call inside the transaction that queues the messages.
 */
export async function claimDigest(client: DbClient, claim: DigestClaim): Promise<boolean> {
  await client.query("select pg_advisory_xact_lock($1)", [CLAIM_LOCK]);
  const { rows } = await client.query(
    `insert into digests (digest_date, scheduled_at, window_start, window_end, late, created_at,
                          email_status, email_payload, email_next_attempt_at, summary)
     select $1::date, $2, $3, $4, $5, $6, $7, $8, $9, $10
      where not exists (select 1 from digests where digest_date > $1::date)
     on conflict (digest_date) do nothing
     returning digest_date`,
    [
      claim.date,
      new Date(claim.scheduledAt),
      new Date(claim.windowStart),
      new Date(claim.windowEnd),
      claim.late,
      new Date(claim.createdAt),
      claim.email ? "pending" : "none",
      claim.email ? JSON.stringify(claim.email) : null,
      claim.email ? new Date(claim.createdAt) : null,
      JSON.stringify(claim.summary ?? {}),
    ],
  );
  return rows.length > 0;
}

export async function recordOutboxRows(
  client: DbClient,
  date: string,
  rows: { photo: number | null; text: number | null },
): Promise<void> {
  await client.query(
    "update digests set photo_outbox_id = $2, text_outbox_id = $3 where digest_date = $1::date",
    [date, rows.photo, rows.text],
  );
}

/** True when the digest of `date`, or of a later date, was claimed already. */
export async function digestExistsFrom(db: Db, date: string): Promise<boolean> {
  const { rows } = await db.query("select 1 from digests where digest_date >= $1::date limit 1", [date]);
  return rows.length > 0;
}

/** When the digests table was created: a schedule before that was never missed, pitwall had no digest yet. */
export async function digestsInstalledAt(db: Db): Promise<number | null> {
  const { rows } = await db.query<{ applied_at: Date }>(
    "select applied_at from schema_migrations where name = '008_digest.sql'",
  );
  return rows[0]?.applied_at.getTime() ?? null;
}

export interface ClaimedEmail {
  date: string;
  attempts: number;
  payload: { subject: string; text: string; html: string };
}

/** Takes one due email for an attempt (`leaseMs` long); null when it is not due or another instance has it. */
export async function claimEmail(
  db: Db,
  date: string,
  now: number,
  leaseMs: number,
): Promise<ClaimedEmail | null> {
  const { rows } = await db.query<{ date: string; attempts: number; payload: ClaimedEmail["payload"] }>(
    `update digests set email_claimed_until = $3, email_attempts = email_attempts + 1
      where digest_date = $1::date and email_status = 'pending' and email_next_attempt_at <= $2
        and (email_claimed_until is null or email_claimed_until <= $2)
      returning to_char(digest_date, 'YYYY-MM-DD') as date, email_attempts as attempts, email_payload as payload`,
    [date, new Date(now), new Date(now + leaseMs)],
  );
  return rows[0] ?? null;
}

export async function emailSent(db: Db, date: string, now: number): Promise<void> {
  await db.query(
    `update digests set email_status = 'sent', email_sent_at = $2, email_payload = null, email_error = null,
            email_claimed_until = null
      where digest_date = $1::date`,
    [date, new Date(now)],
  );
}

export async function emailFailed(
  db: Db,
  date: string,
  failure: { error: string; retryAt: number | null },
): Promise<void> {
  if (failure.retryAt === null) {
    await db.query(
      `update digests set email_status = 'failed', email_error = $2, email_payload = null, email_claimed_until = null
        where digest_date = $1::date`,
      [date, failure.error],
    );
    return;
  }
  await db.query(
    `update digests set email_error = $2, email_next_attempt_at = $3, email_claimed_until = null
      where digest_date = $1::date`,
    [date, failure.error, new Date(failure.retryAt)],
  );
}

/** Dates whose email is due for an attempt, oldest first. */
export async function dueEmails(db: Db, now: number): Promise<string[]> {
  const { rows } = await db.query<{ date: string }>(
    `select to_char(digest_date, 'YYYY-MM-DD') as date from digests
      where email_status = 'pending' and email_next_attempt_at <= $1
        and (email_claimed_until is null or email_claimed_until <= $1)
      order by digest_date limit 5`,
    [new Date(now)],
  );
  return rows.map((row) => row.date);
}
