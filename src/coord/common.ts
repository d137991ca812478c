import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { performance } from "node:perf_hooks";
import type { Logger } from "../observability/logger.ts";
import type { LeaderCallbacks, LeaderHandle, RateLimit } from "./types.ts";

/**
 * Postgres refuses NOTIFY payloads of 8000 bytes or more. Redis would carry them, but both
 * implementations refuse them so code that works on one works on the other.
 */
export const MAX_MESSAGE_BYTES = 7999;

/**
 * Channel names become Postgres identifiers (LISTEN "name"), limited to 63 bytes; the same rule
 * applies on Redis so a channel valid on one backend is valid on both.
 */
const CHANNEL_PATTERN = /^[A-Za-z0-9_.:-]{1,63}$/;

export class CoordinationError extends Error {
  override name = "CoordinationError";
}

export function defaultInstanceId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

/** A unique owner token: the instance id (for humans reading the store) plus randomness. */
export function ownerToken(instanceId: string): string {
  return `${instanceId}:${randomBytes(8).toString("hex")}`;
}

export function assertChannel(channel: string): void {
  if (!CHANNEL_PATTERN.test(channel)) {
    throw new CoordinationError(
      `invalid channel name ${JSON.stringify(channel.slice(0, 80))}: use 1-63 characters of A-Z a-z 0-9 _ . : -`,
    );
  }
}

export function assertMessage(channel: string, message: string): void {
  const bytes = Buffer.byteLength(message, "utf8");
  if (bytes > MAX_MESSAGE_BYTES) {
    throw new CoordinationError(
      `message on channel ${channel} is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES} bytes (Postgres NOTIFY): publish an id and let subscribers read the rest from the database`,
    );
  }
  if (message.includes("\u0000")) {
    throw new CoordinationError(
      `message on channel ${channel} contains a NUL character, which Postgres cannot carry`,
    );
  }
}

export function assertPositiveInt(what: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new CoordinationError(`${what} must be a positive integer, got ${value}`);
  }
}

export function assertInt(what: string, value: number): void {
  if (!Number.isSafeInteger(value)) throw new CoordinationError(`${what} must be an integer, got ${value}`);
}

/** GCRA parameters in whole microseconds, so both backends do exact integer arithmetic. */
export interface GcraParams {
  /** Time one event "costs": period / limit. */
  emissionIntervalUs: number;
  burst: number;
}

export function gcraParams(limit: RateLimit): GcraParams {
  if (!(limit.limit > 0) || !Number.isFinite(limit.limit)) {
    throw new CoordinationError(`rate limit must be a positive number, got ${limit.limit}`);
  }
  assertPositiveInt("rate limit periodMs", limit.periodMs);
  const burst = limit.burst ?? Math.max(1, Math.floor(limit.limit));
  assertPositiveInt("rate limit burst", burst);
  const emissionIntervalUs = Math.max(1, Math.round((limit.periodMs * 1000) / limit.limit));
  return { emissionIntervalUs, burst };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Replaces every occurrence of a secret in a driver's error text (some echo connection strings). */
export function scrub(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join("***");
}

/**
 * What a backend does for one campaign. The runner owns timing and callbacks; the backend only
 * talks to its store.
 */
export interface CampaignBackend {
  /** One election attempt. `retryInMs` lets a backend that knows when the lease frees say so. */
  tryLead(): Promise<{ elected: boolean; retryInMs?: number }>;
  /** Confirms and extends leadership; false when it is gone. */
  confirm(): Promise<boolean>;
  /** Gives leadership up and frees resources; awaited on stop(). */
  resign(): Promise<void>;
  /** Best effort after an involuntary loss: let others take over as soon as possible. */
  abandon(): void;
}

export interface CampaignOptions {
  name: string;
  ttlMs: number;
  callbacks: LeaderCallbacks;
  log: Logger;
  /** Called once the campaign has stopped, so the coordinator can forget it. */
  onStopped?: () => void;
}

/**
 * The timing of a campaign, shared by both backends: attempts and renewals every ttl/3, and a
 * local deadline so that a leader whose renewals stall (store unreachable, event loop frozen)
 * calls onDeposed before its lease can expire anywhere else. Callbacks never overlap and always
 * alternate elected -> deposed.
 */
export class Campaign implements LeaderHandle {
  private readonly renewEveryMs: number;
  /** Deposition fires this long before the lease could expire in the store. */
  private readonly safetyMarginMs: number;
  private leading = false;
  private stopped = false;
  private validUntil = 0;
  private notBefore = 0;
  private tickTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private callbackChain: Promise<void> = Promise.resolve();
  private stopping: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly opts: CampaignOptions,
    private readonly backend: CampaignBackend,
  ) {
    assertPositiveInt("leader ttlMs", opts.ttlMs);
    this.renewEveryMs = Math.max(1, Math.floor(opts.ttlMs / 3));
    this.safetyMarginMs = Math.min(1000, Math.max(1, Math.floor(opts.ttlMs / 10)));
  }

  start(): this {
    this.schedule(0);
    return this;
  }

  isLeader(): boolean {
    return this.leading && performance.now() < this.validUntil;
  }

  /** The backend saw its connection die: leadership tied to it is gone now, not at the deadline. */
  connectionLost(reason: string): void {
    if (this.leading) this.depose(reason);
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.tickTimer);
    await this.inFlight;
    if (this.leading) {
      // The work stops before the lease is freed, so the next leader never overlaps with it.
      this.depose("stopped");
    }
    await this.callbackChain;
    try {
      await this.backend.resign();
    } catch (err) {
      this.opts.log.warn(
        { err: { message: errorMessage(err) }, leader: this.opts.name },
        "could not resign cleanly",
      );
    }
    this.opts.onStopped?.();
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.tickTimer);
    this.tickTimer = setTimeout(() => {
      this.inFlight = this.tick();
    }, delayMs);
    this.tickTimer.unref();
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const startedAt = performance.now();
    if (!this.leading) {
      if (startedAt < this.notBefore) {
        this.schedule(this.notBefore - startedAt);
        return;
      }
      let retryInMs = this.renewEveryMs;
      try {
        const attempt = await this.backend.tryLead();
        this.recovered();
        if (this.stopped) return;
        if (attempt.elected && performance.now() >= startedAt + this.opts.ttlMs - this.safetyMarginMs) {
          // The answer took so long (queued through a reconnect) that the lease may be nearly
          // gone already: confirm it with a fresh attempt before acting as leader.
          retryInMs = 0;
        } else if (attempt.elected) {
          this.elect(startedAt);
        } else if (attempt.retryInMs !== undefined) {
          retryInMs = Math.min(this.renewEveryMs, Math.max(1, attempt.retryInMs));
        }
      } catch (err) {
        this.failed(err, "leader election attempt failed");
      }
      this.schedule(retryInMs);
      return;
    }
    let held = false;
    let lostReason = "lease lost";
    try {
      held = await this.backend.confirm();
      this.recovered();
    } catch (err) {
      this.failed(err, "leader renewal failed");
      lostReason = "renewal failed";
    }
    if (this.stopped) return;
    if (!this.leading) {
      // Deposed while the renewal was in flight (deadline or connection loss): start over.
      this.schedule(Math.max(0, this.notBefore - performance.now()));
      return;
    }
    if (held) {
      this.extend(startedAt);
      this.schedule(this.renewEveryMs);
    } else {
      this.depose(lostReason);
      this.schedule(this.opts.ttlMs);
    }
  }

  private elect(startedAt: number): void {
    this.leading = true;
    this.extend(startedAt);
    this.opts.log.info({ leader: this.opts.name }, "elected leader");
    this.notify(this.opts.callbacks.onElected);
  }

  /** Validity counts from when the request was sent: the store's expiry is later than that. */
  private extend(startedAt: number): void {
    this.validUntil = startedAt + this.opts.ttlMs - this.safetyMarginMs;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => {
      if (this.leading && performance.now() >= this.validUntil) this.depose("renewal overdue");
    }, this.validUntil - performance.now());
    this.deadlineTimer.unref();
  }

  private depose(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.deadlineTimer);
    const voluntary = reason === "stopped";
    if (!voluntary) {
      // The instance that just lost its lease is the likeliest unhealthy one: give healthy peers
      // one ttl to take over before campaigning again.
      this.notBefore = performance.now() + this.opts.ttlMs;
      this.backend.abandon();
    }
    this.opts.log[voluntary ? "info" : "warn"]({ leader: this.opts.name, reason }, "no longer leader");
    this.notify(this.opts.callbacks.onDeposed);
  }

  private notify(callback: () => void | Promise<void>): void {
    this.callbackChain = this.callbackChain.then(async () => {
      try {
        await callback();
      } catch (err) {
        this.opts.log.error({ err, leader: this.opts.name }, "leader callback failed");
      }
    });
  }

  /** One warning per outage, not one per attempt. */
  private failed(err: unknown, msg: string): void {
    const level = this.failing ? "debug" : "warn";
    this.failing = true;
    this.opts.log[level]({ err: { message: errorMessage(err) }, leader: this.opts.name }, msg);
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.opts.log.info({ leader: this.opts.name }, "leader election store reachable again");
  }
}

/** Serialises async operations (subscription changes) so their effects apply in call order. */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** Listener bookkeeping shared by both pub/sub implementations. */
export class ListenerRegistry {
  private readonly channels = new Map<string, Set<(message: string) => void>>();

  constructor(private readonly log: Logger) {}

  /** Adds a listener; true when it is the channel's first (the backend must subscribe). */
  add(channel: string, listener: (message: string) => void): boolean {
    let set = this.channels.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.channels.set(channel, set);
    }
    set.add(listener);
    return first;
  }

  /** Removes a listener; true when the channel has none left (the backend must unsubscribe). */
  remove(channel: string, listener: (message: string) => void): boolean {
    const set = this.channels.get(channel);
    if (!set?.delete(listener)) return false;
    if (set.size > 0) return false;
    this.channels.delete(channel);
    return true;
  }

  has(channel: string): boolean {
    return this.channels.has(channel);
  }

  names(): string[] {
    return [...this.channels.keys()];
  }

  dispatch(channel: string, message: string): void {
    const set = this.channels.get(channel);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(message);
      } catch (err) {
        this.log.error({ err, channel }, "pub/sub listener failed");
      }
    }
  }

  clear(): void {
    this.channels.clear();
  }
}
