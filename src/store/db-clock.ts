/**
 * pitwall's clock is the database's. Deadlines that several instances enforce (an approval's
 * `expires_at`, which the decide UPDATE compares with "now"; dedup windows; silences; leases in
 * rows) must be read on one clock, or two instances with skewed clocks disagree by the skew: one
 * still accepts a decision the other has already expired. DESIGN.md reads this as `expires_at >
 * now()` in SQL; here every instance measures its offset from Postgres' clock and adds it, so the
 * services keep taking "now" as a value (and tests keep a fake clock) while all instances share
 * the database's time to within a round trip.
 */
import type { Logger } from "../observability/logger.ts";
import type { Db } from "./pool.ts";

export interface DatabaseClock {
  now(): Date;
  /** The last measured offset, database minus this machine, in milliseconds. */
  offsetMs(): number;
  close(): void;
}

export interface DatabaseClockOptions {
  /** How often the offset is measured again. Default 60 s. */
  resyncMs?: number;
  /** Offsets beyond this are logged as a warning (the machine's clock needs NTP). Default 2 s. */
  warnAboveMs?: number;
}

const SAMPLES = 3;

/** One measurement: the sample with the shortest round trip, its midpoint against the server time. */
async function measureOffset(db: Db): Promise<number> {
  let best: { rtt: number; offset: number } | null = null;
  for (let i = 0; i < SAMPLES; i++) {
    const sent = Date.now();
    const { rows } = await db.query<{ ms: string }>(
      "select (extract(epoch from clock_timestamp()) * 1000)::bigint::text as ms",
    );
    const received = Date.now();
    const rtt = received - sent;
    const offset = Number(rows[0]!.ms) - (sent + received) / 2;
    if (best === null || rtt < best.rtt) best = { rtt, offset };
  }
  return Math.round(best!.offset);
}

/**
 * Measures the offset now (a database that cannot answer fails startup, as the migrations before
 * it would have), then again every `resyncMs`; a failed resync keeps the last offset.
 */
export async function createDatabaseClock(
  db: Db,
  log: Logger,
  opts: DatabaseClockOptions = {},
): Promise<DatabaseClock> {
  const warnAboveMs = opts.warnAboveMs ?? 2_000;
  let offset = 0;
  // The offset last warned about: one warning per distinct skew, not one a minute.
  let warnedAt: number | null = null;
  const sync = async () => {
    offset = await measureOffset(db);
    if (Math.abs(offset) <= warnAboveMs) {
      warnedAt = null;
    } else if (warnedAt === null || Math.abs(offset - warnedAt) > warnAboveMs) {
      warnedAt = offset;
      log.warn(
        { offset_ms: offset },
        "this machine's clock differs from the database's; pitwall keeps time by the database (set up NTP here)",
      );
    }
  };
  await sync();
  const timer = setInterval(() => {
    sync().catch((err) => log.debug({ err }, "database clock: resync failed; keeping the last offset"));
  }, opts.resyncMs ?? 60_000);
  timer.unref();
  return {
    now: () => new Date(Date.now() + offset),
    offsetMs: () => offset,
    close: () => clearInterval(timer),
  };
}
