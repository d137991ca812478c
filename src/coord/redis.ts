import { createHash } from "node:crypto";
import { Redis } from "ioredis";
import type { Logger } from "../observability/logger.ts";
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

export interface RedisCoordinatorOptions {
  url: string;
  instanceId?: string;
  log: Logger;
  /** Prefix of every key and channel, so deployments can share one Redis. Default "pitwall:". */
  keyPrefix?: string;
}

const CONNECT_TIMEOUT_MS = 5_000;

/** A Lua script run by EVALSHA, falling back to EVAL when the server has not cached it yet. */
class Script {
  private readonly sha: string;

  constructor(private readonly lua: string) {
    this.sha = createHash("sha1").update(lua).digest("hex");
  }

  async run(client: Redis, keys: string[], args: Array<string | number>): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!errorMessage(err).startsWith("NOSCRIPT")) throw err;
      return client.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}

// Time comes from the Redis server (TIME) in every script below, so instances whose clocks
// disagree still agree on windows and arrival times. Redis < 7 needs effects replication to
// write after TIME; on 7+ the call is a no-op.
const TIME_US = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now_us = tonumber(t[1]) * 1000000 + tonumber(t[2])
`;

/** KEYS[1] lease; ARGV owner, ttl ms. 1 when still held by owner (and extended), else 0. */
const RENEW = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`);

/** KEYS[1] lease; ARGV owner. Deletes only the owner's own lease. */
const RELEASE = new Script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`);

/**
 * KEYS[1] leader lease; ARGV owner, ttl ms. 0 when the owner holds it now (taken or kept), else
 * the holder's remaining ms, so followers retry right when it could expire.
 */
const CAMPAIGN = new Script(`
local holder = redis.call('GET', KEYS[1])
if holder == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 0
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
local left = redis.call('PTTL', KEYS[1])
if left < 1 then return 1 end
return left`);

/** KEYS[1] counter base; ARGV window ms, by. Returns the new count of the current window. */
const INCREMENT = new Script(`${TIME_US}
local window_ms = tonumber(ARGV[1])
local now_ms = math.floor(now_us / 1000)
local index = math.floor(now_ms / window_ms)
local key = KEYS[1] .. ':' .. index
local n = redis.call('INCRBY', key, ARGV[2])
redis.call('PEXPIRE', key, (index + 1) * window_ms - now_ms)
return n`);

/** KEYS[1] counter base; ARGV window ms. */
const COUNT = new Script(`${TIME_US}
local window_ms = tonumber(ARGV[1])
local index = math.floor(math.floor(now_us / 1000) / window_ms)
return tonumber(redis.call('GET', KEYS[1] .. ':' .. index) or '0')`);

/**
 * GCRA. KEYS[1] theoretical arrival time (us); ARGV emission interval us, burst.
 * Returns 0 when allowed (and recorded), else microseconds until a call would be allowed.
 * All values stay below 2^53, so Lua's doubles hold them exactly.
 */
const GCRA = new Script(`${TIME_US}
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now_us then tat = now_us end
local new_tat = tat + interval
local allow_at = new_tat - burst * interval
if allow_at > now_us then return allow_at - now_us end
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now_us) / 1000) + 1)
return 0`);

/** Host and port for messages: never the password, never the whole URL. */
function describeRedis(url: string): { where: string; password: string | undefined } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CoordinationError(
      "REDIS_URL is not a valid URL (expected redis://[user:password@]host:port[/db])",
    );
  }
  return {
    where: `${parsed.hostname}:${parsed.port || "6379"}`,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
  };
}

/**
 * Coordination through Redis: leases are `SET NX PX` keys with compare-and-set renew/release,
 * counters are INCRBY keys per window, the rate limiter is GCRA in one script, and pub/sub uses a
 * dedicated subscriber connection. Standalone Redis (or a primary): the scripts build keys from
 * the server's clock, which Redis Cluster would refuse.
 */
export async function createRedisCoordinator(opts: RedisCoordinatorOptions): Promise<Coordinator> {
  const instanceId = opts.instanceId ?? defaultInstanceId();
  const prefix = opts.keyPrefix ?? "pitwall:";
  const log = opts.log.child({ component: "coord", backend: "redis", instance: instanceId });
  const { where, password } = describeRedis(opts.url);

  const connect = async (role: string): Promise<Redis> => {
    const client = new Redis(opts.url, {
      lazyConnect: true,
      connectionName: `pitwall-${role}:${instanceId}`,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // Fail calls during an outage instead of queueing them for minutes; callers decide.
      maxRetriesPerRequest: 2,
      commandTimeout: 5_000,
      retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 6), 5_000),
    });
    let down = false;
    // connect() rejects with a bare "Connection is closed"; the reason (refused, WRONGPASS, ...)
    // arrives as an 'error' event.
    let lastError: Error | undefined;
    client.on("error", (err: Error) => {
      lastError = err;
      const level = down ? "debug" : "warn";
      down = true;
      log[level](
        { err: { message: scrub(err.message, password) }, redis: where, role },
        "Redis connection error",
      );
    });
    client.on("ready", () => {
      if (down) log.info({ redis: where, role }, "Redis connection restored");
      down = false;
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)),
            CONNECT_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      client.disconnect();
      throw new CoordinationError(
        `cannot reach Redis at ${where}: ${scrub(lastError?.message ?? errorMessage(err), password)} (check REDIS_URL and that redis-server is running)`,
      );
    } finally {
      clearTimeout(timer);
    }
    return client;
  };

  const client = await connect("cmd");
  let subscriber: Redis;
  try {
    subscriber = await connect("sub");
  } catch (err) {
    client.disconnect();
    throw err;
  }

  const listeners = new ListenerRegistry(log);
  const subscriptions = new SerialQueue();
  subscriber.on("message", (channel: string, message: string) => {
    listeners.dispatch(channel.slice(prefix.length), message);
  });

  const campaigns = new Set<Campaign>();
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new CoordinationError("coordinator is closed");
  };

  const makeLease = (name: string, key: string, owner: string, ttlMs: number): Lease => ({
    name,
    async renew() {
      return (await RENEW.run(client, [key], [owner, ttlMs])) === 1;
    },
    async release() {
      await RELEASE.run(client, [key], [owner]);
    },
  });

  const coordinator: Coordinator = {
    kind: "redis",
    instanceId,

    health() {
      // ioredis reconnects by itself; until both connections are back, leases, counters and
      // pub/sub fail (rate limits and the command limit fail open meanwhile).
      const ready = client.status === "ready" && subscriber.status === "ready";
      return ready
        ? { state: "ok", detail: "redis" }
        : { state: "degraded", detail: "redis unreachable; reconnecting" };
    },

    async tryAcquire(name: string, ttlMs: number): Promise<Lease | null> {
      assertOpen();
      assertPositiveInt("lease ttlMs", ttlMs);
      const key = `${prefix}lease:${name}`;
      const owner = ownerToken(instanceId);
      const ok = await client.set(key, owner, "PX", ttlMs, "NX");
      return ok === "OK" ? makeLease(name, key, owner, ttlMs) : null;
    },

    campaign(name: string, ttlMs: number, callbacks: LeaderCallbacks): LeaderHandle {
      assertOpen();
      const key = `${prefix}leader:${name}`;
      const owner = ownerToken(instanceId);
      const backend: CampaignBackend = {
        async tryLead() {
          const left = Number(await CAMPAIGN.run(client, [key], [owner, ttlMs]));
          return left === 0 ? { elected: true } : { elected: false, retryInMs: left + 2 };
        },
        async confirm() {
          return (await RENEW.run(client, [key], [owner, ttlMs])) === 1;
        },
        async resign() {
          await RELEASE.run(client, [key], [owner]);
        },
        abandon() {
          RELEASE.run(client, [key], [owner]).catch(() => undefined);
        },
      };
      const campaign = new Campaign(
        { name, ttlMs, callbacks, log, onStopped: () => campaigns.delete(campaign) },
        backend,
      );
      campaigns.add(campaign);
      return campaign.start();
    },

    async publish(channel: string, message: string): Promise<void> {
      assertOpen();
      assertChannel(channel);
      assertMessage(channel, message);
      await client.publish(prefix + channel, message);
    },

    async subscribe(channel: string, listener: (message: string) => void): Promise<() => Promise<void>> {
      assertOpen();
      assertChannel(channel);
      await subscriptions.run(async () => {
        if (!listeners.add(channel, listener)) return;
        try {
          await subscriber.subscribe(prefix + channel);
        } catch (err) {
          listeners.remove(channel, listener);
          throw err;
        }
      });
      let done = false;
      return async () => {
        if (done) return;
        done = true;
        await subscriptions.run(async () => {
          if (listeners.remove(channel, listener) && !closed) await subscriber.unsubscribe(prefix + channel);
        });
      };
    },

    async increment(key: string, windowMs: number, by = 1): Promise<number> {
      assertOpen();
      assertPositiveInt("counter windowMs", windowMs);
      assertInt("increment", by);
      return Number(await INCREMENT.run(client, [`${prefix}count:${key}`], [windowMs, by]));
    },

    async count(key: string, windowMs: number): Promise<number> {
      assertOpen();
      assertPositiveInt("counter windowMs", windowMs);
      return Number(await COUNT.run(client, [`${prefix}count:${key}`], [windowMs]));
    },

    async rateLimit(key: string, limit: RateLimit): Promise<RateDecision> {
      assertOpen();
      const { emissionIntervalUs, burst } = gcraParams(limit);
      const waitUs = Number(await GCRA.run(client, [`${prefix}rate:${key}`], [emissionIntervalUs, burst]));
      return waitUs <= 0
        ? { allowed: true, retryAfterMs: 0 }
        : { allowed: false, retryAfterMs: Math.ceil(waitUs / 1000) };
    },

    async setOnce(key: string, ttlMs: number): Promise<boolean> {
      assertOpen();
      assertPositiveInt("setOnce ttlMs", ttlMs);
      return (await client.set(`${prefix}once:${key}`, "1", "PX", ttlMs, "NX")) === "OK";
    },

    async close(): Promise<void> {
      if (closed) return;
      await Promise.allSettled([...campaigns].map((c) => c.stop()));
      closed = true;
      listeners.clear();
      // quit() waits for Redis to answer; during an outage that could take minutes.
      await Promise.race([
        Promise.allSettled([subscriber.quit(), client.quit()]),
        new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
      ]);
      subscriber.disconnect();
      client.disconnect();
    },
  };
  return coordinator;
}
