import { performance } from "node:perf_hooks";
import pg from "pg";
import type { Logger } from "../observability/logger.ts";
import type { Db } from "../store/pool.ts";
import {
  assertChannel,
  assertInt,
  assertMessage,
  assertPositiveInt,
  Campaign,
  type CampaignBackend,
  CoordinationError,
  defaultInstanceId,
  errorMessage,
  gcraParams,
  ListenerRegistry,
  ownerToken,
  SerialQueue,
  scrub,
} from "./common.ts";
import type { Coordinator, LeaderCallbacks, LeaderHandle, Lease, RateDecision, RateLimit } from "./types.ts";

export interface PostgresCoordinatorOptions {
  /** The process's pool (src/store/pool.ts): leases, counters, rate limits, NOTIFY. */
  db: Db;
  /** For the dedicated LISTEN and leader connections, which must not come from the pool. */
  url: string;
  instanceId?: string;
  log: Logger;
}

const CONNECT_TIMEOUT_MS = 5_000;
/** Namespace of leader advisory locks: (class, hashtext(name)) never meets single-key locks. */
const LEADER_LOCK_CLASS = 727_002;
/** Expired rows are swept at most this often per instance, piggybacking on ordinary calls. */
const CLEANUP_EVERY_MS = 60_000;
/** The LISTEN connection is probed this often, so a silently dead one is replaced. */
const LISTEN_PROBE_EVERY_MS = 30_000;

function describePostgres(url: string): { where: string; password: string | undefined } {
  try {
    const parsed = new URL(url);
    return {
      where: `${parsed.hostname}:${parsed.port || "5432"}${parsed.pathname}`,
      password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    };
  } catch {
    return { where: "the configured database", password: undefined };
  }
}

/** LISTEN takes an identifier, not a parameter; assertChannel allows no quote characters. */
function quoteChannel(channel: string): string {
  assertChannel(channel);
  return `"${channel}"`;
}

/** Ends a client without waiting on a socket that may be half-dead. */
function discard(client: pg.Client): void {
  client.end().catch(() => undefined);
}

/**
 * The dedicated LISTEN connection. It reconnects by itself with backoff and LISTENs again to
 * every channel that has listeners; notifications sent while it was down are lost (pub/sub is
 * fire-and-forget: subscribers re-read state from the database).
 */
class PgListener {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private backoffMs = 100;
  private closed = false;
  private down = false;
  readonly listeners: ListenerRegistry;
  private readonly queue = new SerialQueue();

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly log: Logger,
    private readonly where: string,
    private readonly password: string | undefined,
  ) {
    this.listeners = new ListenerRegistry(log);
  }

  async start(): Promise<void> {
    await this.ensureClient();
    this.probeTimer = setInterval(() => this.probe(), LISTEN_PROBE_EVERY_MS);
    this.probeTimer.unref();
  }

  subscribe(channel: string, listener: (message: string) => void): Promise<void> {
    const quoted = quoteChannel(channel);
    return this.queue.run(async () => {
      if (!this.listeners.add(channel, listener)) return;
      try {
        const client = await this.ensureClient();
        await client.query(`listen ${quoted}`);
      } catch (err) {
        this.listeners.remove(channel, listener);
        throw new CoordinationError(
          `cannot subscribe to ${channel}: ${scrub(errorMessage(err), this.password)}`,
        );
      }
    });
  }

  unsubscribe(channel: string, listener: (message: string) => void): Promise<void> {
    return this.queue.run(async () => {
      if (!this.listeners.remove(channel, listener)) return;
      // While disconnected there is nothing to undo: the next connection listens only to live channels.
      await this.client?.query(`unlisten ${quoteChannel(channel)}`).catch(() => undefined);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.probeTimer);
    this.listeners.clear();
    const client = this.client;
    this.client = null;
    await this.connecting?.catch(() => undefined);
    if (client) await client.end().catch(() => undefined);
  }

  private ensureClient(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async open(): Promise<pg.Client> {
    const client = new pg.Client(this.config);
    client.on("notification", (n) => this.listeners.dispatch(n.channel, n.payload ?? ""));
    client.on("error", (err) => {
      this.log.warn({ err: { message: scrub(err.message, this.password) } }, "LISTEN connection error");
    });
    client.on("end", () => this.lost(client));
    try {
      await client.connect();
      for (const channel of this.listeners.names()) await client.query(`listen ${quoteChannel(channel)}`);
    } catch (err) {
      discard(client);
      throw err;
    }
    if (this.closed) {
      discard(client);
      throw new CoordinationError("coordinator is closed");
    }
    this.client = client;
    this.backoffMs = 100;
    if (this.down) this.log.info({ db: this.where }, "LISTEN connection restored");
    this.down = false;
    return client;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.closed) return;
    if (!this.down) this.log.warn({ db: this.where }, "LISTEN connection lost; reconnecting");
    this.down = true;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.ensureClient().catch((err) => {
        this.log.debug(
          { err: { message: scrub(errorMessage(err), this.password) } },
          "LISTEN reconnect failed",
        );
        this.backoffMs = Math.min(this.backoffMs * 2, 5_000);
        this.scheduleReconnect();
      });
    }, this.backoffMs);
    this.reconnectTimer.unref();
  }

  private probe(): void {
    const client = this.client;
    if (!client) return;
    client.query("select 1").catch(() => {
      // No answer within query_timeout: treat the connection as dead and start over.
      this.lost(client);
      discard(client);
    });
  }
}

/**
 * Coordination through Postgres. Leadership is a session advisory lock held on a dedicated
 * connection; leases, counters, rate limits and setOnce markers are rows in unlogged tables
 * (migration 003_coord.sql) timed by the database clock; pub/sub is LISTEN/NOTIFY.
 */
export async function createPostgresCoordinator(opts: PostgresCoordinatorOptions): Promise<Coordinator> {
  const instanceId = opts.instanceId ?? defaultInstanceId();
  const log = opts.log.child({ component: "coord", backend: "postgres", instance: instanceId });
  const { db } = opts;
  const { where, password } = describePostgres(opts.url);

  const baseConfig = (role: string, queryTimeoutMs: number): pg.ClientConfig => ({
    connectionString: opts.url,
    // Visible in pg_stat_activity, so an operator (or a test) can tell these connections apart.
    application_name: `pitwall-${role}:${instanceId}`.slice(0, 63),
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    query_timeout: queryTimeoutMs,
  });

  try {
    await db.query("select 1 from coord_leases limit 0");
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "42P01") {
      throw new CoordinationError(
        "coordination tables are missing: apply the database migrations (003_coord.sql)",
      );
    }
    throw new CoordinationError(
      `cannot reach Postgres at ${where} for coordination: ${scrub(errorMessage(err), password)}`,
    );
  }

  const listener = new PgListener(baseConfig("listen", 10_000), log, where, password);
  try {
    await listener.start();
  } catch (err) {
    await listener.close();
    throw new CoordinationError(
      `cannot open the LISTEN connection to Postgres at ${where}: ${scrub(errorMessage(err), password)}`,
    );
  }

  const campaigns = new Set<Campaign>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new CoordinationError("coordinator is closed");
  };

  // The first call sweeps, so rows left by instances that are gone do not wait a minute.
  let lastCleanup = Number.NEGATIVE_INFINITY;
  const maybeCleanup = () => {
    if (performance.now() - lastCleanup < CLEANUP_EVERY_MS) return;
    lastCleanup = performance.now();
    // A minute of grace keeps the sweep away from rows that a call is about to reuse.
    db.query(
      `with c as (delete from coord_counters where expires_at < now() - interval '1 minute'),
            r as (delete from coord_rate where tat < now() - interval '1 minute'),
            o as (delete from coord_once where expires_at < now() - interval '1 minute')
       delete from coord_leases where expires_at < now() - interval '1 hour'`,
    ).catch((err) => log.debug({ err: { message: errorMessage(err) } }, "coordination cleanup failed"));
  };

  const makeLease = (name: string, owner: string, ttlMs: number): Lease => ({
    name,
    async renew() {
      const { rowCount } = await db.query(
        `update coord_leases set expires_at = now() + $3::bigint * interval '1 millisecond'
          where name = $1 and owner = $2 and expires_at > now()`,
        [name, owner, ttlMs],
      );
      return rowCount === 1;
    },
    async release() {
      await db.query("delete from coord_leases where name = $1 and owner = $2", [name, owner]);
    },
  });

  const leaderBackend = (
    name: string,
    ttlMs: number,
    campaign: () => Campaign | undefined,
  ): CampaignBackend => {
    let client: pg.Client | null = null;
    let idleTimeoutWarned = false;
    const config = baseConfig("leader", ttlMs);

    const connect = async (): Promise<pg.Client> => {
      if (client) return client;
      const fresh = new pg.Client(config);
      fresh.on("error", (err) => {
        log.warn({ err: { message: scrub(err.message, password) }, leader: name }, "leader connection error");
      });
      fresh.on("end", () => {
        if (client !== fresh) return;
        client = null;
        campaign()?.connectionLost("leader connection lost");
      });
      try {
        await fresh.connect();
        // If this process freezes or its network goes away, the server ends the session after
        // one ttl without a renewal query, which frees the advisory lock for a follower.
        await fresh
          .query("select set_config('idle_session_timeout', $1, false)", [String(ttlMs)])
          .catch((err) => {
            if (!idleTimeoutWarned) {
              idleTimeoutWarned = true;
              log.warn(
                { err: { message: errorMessage(err) } },
                "Postgres < 14: a frozen leader keeps leadership until its connection dies",
              );
            }
          });
        // Server-side keepalives notice a peer that vanished without closing its socket.
        const keepaliveS = String(Math.max(1, Math.round(ttlMs / 3000)));
        await fresh.query(
          `select set_config('tcp_keepalives_idle', $1, false), set_config('tcp_keepalives_interval', $1, false),
                  set_config('tcp_keepalives_count', '3', false)`,
          [keepaliveS],
        );
      } catch (err) {
        discard(fresh);
        throw err;
      }
      client = fresh;
      return fresh;
    };

    const drop = () => {
      const current = client;
      client = null;
      if (current) discard(current);
    };

    return {
      async tryLead() {
        try {
          const c = await connect();
          const { rows } = await c.query<{ locked: boolean }>(
            "select pg_try_advisory_lock($1, hashtext($2)) as locked",
            [LEADER_LOCK_CLASS, name],
          );
          return { elected: rows[0]?.locked === true };
        } catch (err) {
          // A timed-out query leaves the connection busy; the next attempt starts afresh.
          drop();
          throw err;
        }
      },
      async confirm() {
        const c = client;
        if (!c) return false;
        const { rows } = await c.query<{ held: boolean }>(
          `select exists (select 1 from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()
                   and classid = $1 and objid = hashtext($2)::oid and objsubid = 2 and granted) as held`,
          [LEADER_LOCK_CLASS, name],
        );
        return rows[0]?.held === true;
      },
      async resign() {
        const current = client;
        client = null;
        // Ending the session frees its advisory locks; a dead socket must not hold up stop().
        if (current) {
          await Promise.race([
            current.end().catch(() => undefined),
            new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
          ]);
        }
      },
      abandon: drop,
    };
  };

  const coordinator: Coordinator = {
    kind: "postgres",
    instanceId,

    async tryAcquire(name: string, ttlMs: number): Promise<Lease | null> {
      assertOpen();
      assertPositiveInt("lease ttlMs", ttlMs);
      const owner = ownerToken(instanceId);
      const { rowCount } = await db.query(
        `insert into coord_leases (name, owner, expires_at) values ($1, $2, now() + $3::bigint * interval '1 millisecond')
         on conflict (name) do update set owner = excluded.owner, expires_at = excluded.expires_at
           where coord_leases.expires_at <= now()`,
        [name, owner, ttlMs],
      );
      return rowCount === 1 ? makeLease(name, owner, ttlMs) : null;
    },

    campaign(name: string, ttlMs: number, callbacks: LeaderCallbacks): LeaderHandle {
      assertOpen();
      let campaign: Campaign | undefined;
      campaign = new Campaign(
        { name, ttlMs, callbacks, log, onStopped: () => campaign && campaigns.delete(campaign) },
        leaderBackend(name, ttlMs, () => campaign),
      );
      campaigns.add(campaign);
      return campaign.start();
    },

    async publish(channel: string, message: string): Promise<void> {
      assertOpen();
      assertChannel(channel);
      assertMessage(channel, message);
      await db.query("select pg_notify($1, $2)", [channel, message]);
    },

    async subscribe(channel: string, fn: (message: string) => void): Promise<() => Promise<void>> {
      assertOpen();
      assertChannel(channel);
      await listener.subscribe(channel, fn);
      let done = false;
      return async () => {
        if (done) return;
        done = true;
        await listener.unsubscribe(channel, fn);
      };
    },

    async increment(key: string, windowMs: number, by = 1): Promise<number> {
      assertOpen();
      assertPositiveInt("counter windowMs", windowMs);
      assertInt("increment", by);
      maybeCleanup();
      const { rows } = await db.query<{ count: number }>(
        `with w as (select to_timestamp(floor(extract(epoch from now()) * 1000 / $2::bigint) * $2::bigint / 1000.0) as start)
         insert into coord_counters (key, window_start, count, expires_at)
           select $1, w.start, $3::bigint, w.start + $2::bigint * interval '1 millisecond' from w
         on conflict (key, window_start) do update set count = coord_counters.count + excluded.count
         returning count`,
        [key, windowMs, by],
      );
      return Number(rows[0]?.count ?? 0);
    },

    async count(key: string, windowMs: number): Promise<number> {
      assertOpen();
      assertPositiveInt("counter windowMs", windowMs);
      const { rows } = await db.query<{ count: number }>(
        `select count from coord_counters
          where key = $1 and window_start = to_timestamp(floor(extract(epoch from now()) * 1000 / $2::bigint) * $2::bigint / 1000.0)`,
        [key, windowMs],
      );
      return Number(rows[0]?.count ?? 0);
    },

    async rateLimit(key: string, limit: RateLimit): Promise<RateDecision> {
      assertOpen();
      const { emissionIntervalUs, burst } = gcraParams(limit);
      maybeCleanup();
      const { rows } = await db.query<{ allowed: boolean; retry_after_ms: number }>(
        "select allowed, retry_after_ms from coord_rate_limit($1, $2, $3)",
        [key, emissionIntervalUs, burst],
      );
      const row = rows[0];
      if (!row) throw new CoordinationError("rate limiter returned no row");
      return {
        allowed: row.allowed,
        retryAfterMs: row.allowed ? 0 : Math.max(1, Number(row.retry_after_ms)),
      };
    },

    async setOnce(key: string, ttlMs: number): Promise<boolean> {
      assertOpen();
      assertPositiveInt("setOnce ttlMs", ttlMs);
      maybeCleanup();
      const { rowCount } = await db.query(
        `insert into coord_once (key, expires_at) values ($1, now() + $2::bigint * interval '1 millisecond')
         on conflict (key) do update set expires_at = excluded.expires_at where coord_once.expires_at <= now()`,
        [key, ttlMs],
      );
      return rowCount === 1;
    },

    async close(): Promise<void> {
      if (closed) return;
      await Promise.allSettled([...campaigns].map((c) => c.stop()));
      closed = true;
      await listener.close();
    },
  };
  return coordinator;
}
