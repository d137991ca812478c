import type { Coordinator } from "../../src/coord/types.ts";

/**
 * Just enough of a Coordinator for the bot's unit tests: fixed-window counters (epoch-aligned, as
 * both real backends do) and setOnce markers on an injectable clock. The integration tests use the
 * real Postgres coordinator.
 */
export function memoryCoordinator(now: () => number = Date.now): Coordinator {
  const counters = new Map<string, number>();
  const once = new Map<string, number>();
  const windowKey = (key: string, windowMs: number) => `${key}@${Math.floor(now() / windowMs)}`;
  const unsupported = (what: string) => () => {
    throw new Error(`memoryCoordinator: ${what} is not needed by the bot tests`);
  };
  return {
    kind: "postgres",
    instanceId: "memory",
    tryAcquire: unsupported("tryAcquire"),
    campaign: unsupported("campaign"),
    publish: unsupported("publish"),
    subscribe: unsupported("subscribe"),
    rateLimit: unsupported("rateLimit"),
    async increment(key, windowMs, by = 1) {
      const k = windowKey(key, windowMs);
      const value = (counters.get(k) ?? 0) + by;
      counters.set(k, value);
      return value;
    },
    async count(key, windowMs) {
      return counters.get(windowKey(key, windowMs)) ?? 0;
    },
    async setOnce(key, ttlMs) {
      const until = once.get(key);
      if (until !== undefined && until > now()) return false;
      once.set(key, now() + ttlMs);
      return true;
    },
    async close() {},
  };
}
