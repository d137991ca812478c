/**
 * Coordination between pitwall instances. Two implementations share this contract and one test
 * suite: Redis (when REDIS_URL is set) and Postgres (advisory locks, LISTEN/NOTIFY, tables).
 */

/** A held lease on a name. It expires `ttlMs` after its last renewal unless released. */
export interface Lease {
  readonly name: string;
  /**
   * Extends the lease by its ttl; false when it was lost (expired and taken, or released). A lease
   * that expired is lost even if nobody took it yet: renew in time (e.g. every ttl/3).
   */
  renew(): Promise<boolean>;
  release(): Promise<void>;
}

export interface LeaderHandle {
  isLeader(): boolean;
  /** Steps down (if leader) and stops campaigning. */
  stop(): Promise<void>;
}

export interface LeaderCallbacks {
  /** Called when this instance becomes leader. */
  onElected(): void | Promise<void>;
  /** Called when leadership is lost (lease lost, connection lost) or given up by stop(). */
  onDeposed(): void | Promise<void>;
}

export interface RateDecision {
  allowed: boolean;
  /** When not allowed: how long until a call would be allowed. 0 when allowed. */
  retryAfterMs: number;
}

export interface RateLimit {
  /** Sustained events per period. */
  limit: number;
  periodMs: number;
  /** Events allowed at once after idle time; defaults to `limit`. */
  burst?: number;
}

export interface Coordinator {
  readonly kind: "redis" | "postgres";
  /** This instance's id (appears as lock owner and in logs). */
  readonly instanceId: string;

  /**
   * Whether the store behind it is reachable now, for /ready and /health (which stay 200: only
   * the database makes pitwall unready). Absent: it shares the database's health.
   */
  health?(): { state: "ok" | "degraded"; detail: string };

  /**
   * Takes the named lease if free or expired; null when another holder has it (this instance
   * included: a lease is not reentrant). No auto-renewal. Expiry is timed by the store's clock.
   */
  tryAcquire(name: string, ttlMs: number): Promise<Lease | null>;

  /**
   * Campaigns for leadership of `name`: at most one leader at a time across instances; the lease
   * is renewed automatically (every ttl/3); when the leader dies another instance takes over
   * within `ttlMs`. A leader that fails to renew calls onDeposed before the lease can expire.
   * An instance that lost leadership involuntarily waits one ttl before campaigning again, so a
   * healthy peer takes over first. Postgres: a session advisory lock on a dedicated connection
   * (freed at once when the process dies; the server also ends a session silent for one ttl).
   */
  campaign(name: string, ttlMs: number, callbacks: LeaderCallbacks): LeaderHandle;

  /**
   * Fire-and-forget broadcast to every instance subscribed to `channel` (including this one).
   * Channel: 1-63 of `A-Z a-z 0-9 _ . : -`. Message: at most MAX_MESSAGE_BYTES (7 999) UTF-8 bytes
   * (Postgres NOTIFY's limit, enforced on both backends). Messages sent while a subscriber's
   * connection is down are lost: treat a message as a hint and read state from the database.
   */
  publish(channel: string, message: string): Promise<void>;
  /** Returns an unsubscribe function. Messages published after this resolves are delivered. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;

  /**
   * Fixed-window counter shared by all instances: adds `by` (default 1) and returns the new count.
   * Windows are aligned to the store's clock (epoch multiples of `windowMs`); use one window size
   * per key.
   */
  increment(key: string, windowMs: number, by?: number): Promise<number>;
  /** Current count of a fixed-window counter without changing it. */
  count(key: string, windowMs: number): Promise<number>;

  /**
   * Shared rate limiter (GCRA). An allowed call is counted; a refused one is not. One call is
   * allowed every periodMs/limit on average, with up to `burst` at once after idle time.
   */
  rateLimit(key: string, limit: RateLimit): Promise<RateDecision>;

  /** Sets `key` for `ttlMs` only if absent; true when this call set it ("once per hour" checks). */
  setOnce(key: string, ttlMs: number): Promise<boolean>;

  close(): Promise<void>;
}
