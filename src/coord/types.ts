/**
 * Coordination between pitwall instances. Two implementations share this contract and one test
 * suite: Redis (when REDIS_URL is set) and Postgres (advisory locks, LISTEN/NOTIFY, tables).
 */

/** A held lease on a name. It expires `ttlMs` after its last renewal unless released. */
export interface Lease {
  readonly name: string;
  /** Extends the lease by its ttl; false when it was lost (expired and taken, or released). */
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

  /** Takes the named lease if free or expired; null when another holder has it. No auto-renewal. */
  tryAcquire(name: string, ttlMs: number): Promise<Lease | null>;

  /**
   * Campaigns for leadership of `name`: at most one leader at a time across instances; the lease
   * is renewed automatically (every ttl/3); when the leader dies another instance takes over
   * within `ttlMs`. A leader that fails to renew calls onDeposed before the lease can expire.
   */
  campaign(name: string, ttlMs: number, callbacks: LeaderCallbacks): LeaderHandle;

  /** Fire-and-forget broadcast to every instance subscribed to `channel` (including this one). */
  publish(channel: string, message: string): Promise<void>;
  /** Returns an unsubscribe function. Messages published after this resolves are delivered. */
  subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>>;

  /** Fixed-window counter shared by all instances: adds `by` (default 1) and returns the new count. */
  increment(key: string, windowMs: number, by?: number): Promise<number>;
  /** Current count of a fixed-window counter without changing it. */
  count(key: string, windowMs: number): Promise<number>;

  /** Shared rate limiter (GCRA). An allowed call is counted; a refused one is not. */
  rateLimit(key: string, limit: RateLimit): Promise<RateDecision>;

  /** Sets `key` for `ttlMs` only if absent; true when this call set it ("once per hour" checks). */
  setOnce(key: string, ttlMs: number): Promise<boolean>;

  close(): Promise<void>;
}
