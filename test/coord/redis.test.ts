import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { createCoordinator } from "../../src/coord/index.ts";
import { createRedisCoordinator } from "../../src/coord/redis.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { PostgresRelay } from "../http/support.ts";
import { redisAvailable, testRedisUrl } from "../support/redis.ts";
import { coordinatorContract, eventually, uniq } from "./contract.ts";

/** Unique per run of this file, so parallel runs and files never share keys. */
const keyPrefix = `pitwall-test:${randomBytes(4).toString("hex")}:`;
const available = await redisAvailable();

describe.skipIf(!available)("redis", () => {
  const admin = available ? new Redis(testRedisUrl, { lazyConnect: true }) : undefined;

  async function clientIds(connectionName: string): Promise<string[]> {
    const list = String(await admin?.client("LIST"));
    return list
      .split("\n")
      .filter((line) => line.includes(` name=${connectionName} `))
      .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1] ?? "");
  }

  // Runs before the contract, whose afterAll disconnects the admin client.
  describe("redis coordinator", () => {
    it("is what createCoordinator gives with a Redis URL", async () => {
      const c = await createCoordinator({
        redisUrl: testRedisUrl,
        db: undefined as never,
        databaseUrl: "postgres://unused",
        log: silentLogger(),
      });
      expect(c.kind).toBe("redis");
      await c.close();
    });

    it("recovers when its command connection is killed, keeping its leadership", async () => {
      const c = await createRedisCoordinator({
        url: testRedisUrl,
        keyPrefix,
        log: silentLogger(),
        instanceId: uniq("k"),
      });
      const events: string[] = [];
      const name = uniq("leader");
      const handle = c.campaign(name, 1_000, {
        onElected: () => void events.push("elected"),
        onDeposed: () => void events.push("deposed"),
      });
      await eventually(() => handle.isLeader(), 3_000);
      const [id] = await clientIds(`pitwall-cmd:${c.instanceId}`);
      await admin?.client("KILL", "ID", id ?? "");
      const key = uniq("count");
      await eventually(() => c.increment(key, 60_000), 5_000);
      await new Promise((resolve) => setTimeout(resolve, 700));
      expect(handle.isLeader()).toBe(true);
      expect(events).toEqual(["elected"]);
      await c.close();
    });
  });

  it("reports itself degraded while Redis is unreachable, and ok again once it reconnects", async () => {
    const target = new URL(testRedisUrl);
    const relay = new PostgresRelay(target.hostname, Number(target.port || 6379)); // any TCP will do
    await relay.start();
    const viaRelay = new URL(testRedisUrl);
    viaRelay.hostname = "127.0.0.1";
    viaRelay.port = String(relay.port);
    const c = await createRedisCoordinator({
      url: viaRelay.toString(),
      keyPrefix,
      log: silentLogger(),
      instanceId: uniq("h"),
    });
    try {
      expect(c.health?.()).toEqual({ state: "ok", detail: "redis" });
      await relay.cut();
      await eventually(() => c.health?.().state === "degraded", 5_000);
      expect(c.health?.().detail).toContain("unreachable");
      await relay.start(); // the same port again
      await eventually(() => c.health?.().state === "ok", 10_000);
    } finally {
      await c.close();
      await relay.cut();
    }
  });

  coordinatorContract(
    "redis",
    async () => [
      await createRedisCoordinator({
        url: testRedisUrl,
        keyPrefix,
        log: silentLogger(),
        instanceId: uniq("a"),
      }),
      await createRedisCoordinator({
        url: testRedisUrl,
        keyPrefix,
        log: silentLogger(),
        instanceId: uniq("b"),
      }),
    ],
    async () => {
      // Everything this file wrote lives under its prefix.
      let cursor = "0";
      do {
        const [next, keys] = await (admin as Redis).scan(cursor, "MATCH", `${keyPrefix}*`, "COUNT", 1000);
        if (keys.length) await admin?.del(...keys);
        cursor = next;
      } while (cursor !== "0");
      admin?.disconnect();
    },
    {
      async breakLeadership(_leader, name) {
        // What a Redis restart without persistence (or a failover that lost the write) does.
        await admin?.del(`${keyPrefix}leader:${name}`);
      },
      async killSubscriberConnection(c) {
        const name = `pitwall-sub:${c.instanceId}`;
        const old = await clientIds(name);
        expect(old).toHaveLength(1);
        await admin?.client("KILL", "ID", old[0] ?? "");
        await eventually(async () => {
          const now = await clientIds(name);
          return now.length === 1 && now[0] !== old[0];
        }, 10_000);
      },
      childSpec: () => ({ kind: "redis", redisUrl: testRedisUrl, keyPrefix }),
    },
  );
});

describe("redis coordinator start-up", () => {
  it("fails fast with the host, never the password, when Redis is unreachable", async () => {
    const started = performance.now();
    const err = await createRedisCoordinator({
      url: "redis://:s3cr3t-pw@127.0.0.1:9",
      log: silentLogger(),
    }).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(6_000);
    expect(String(err)).toMatch(/cannot reach Redis at 127\.0\.0\.1:9/);
    expect(String(err)).not.toMatch(/s3cr3t/);
  });

  it("refuses a malformed URL without echoing it", async () => {
    await expect(createRedisCoordinator({ url: "not a url s3cr3t", log: silentLogger() })).rejects.toThrow(
      /^REDIS_URL is not a valid URL/,
    );
  });
});
