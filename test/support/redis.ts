import { Socket } from "node:net";

/**
 * The Redis the integration tests use: REDIS_URL, else 127.0.0.1:6379. Locally the Redis suites
 * are skipped (with a printed reason) when nothing answers; with PITWALL_REQUIRE_REDIS=1 (set by
 * .ci/run) a missing Redis fails the run instead, so CI can never silently skip them.
 */
export const testRedisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export async function redisAvailable(): Promise<boolean> {
  const url = new URL(testRedisUrl);
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
    socket.connect(Number(url.port || 6379), url.hostname);
  });
  if (reachable) return true;
  if (process.env.PITWALL_REQUIRE_REDIS === "1") {
    throw new Error(`PITWALL_REQUIRE_REDIS=1 but no Redis answers at ${url.host}`);
  }
  console.warn(
    `[skip] Redis tests skipped: no redis-server reachable at ${url.host} (set REDIS_URL or start one)`,
  );
  return false;
}
