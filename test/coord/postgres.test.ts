import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createCoordinator } from "../../src/coord/index.ts";
import { createPostgresCoordinator } from "../../src/coord/postgres.ts";
import type { Coordinator } from "../../src/coord/types.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { createPool, type Db } from "../../src/store/pool.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { coordinatorContract, eventually, uniq } from "./contract.ts";

let t: TestDatabase;
/** One pool per simulated instance, as two processes would have. */
let pools: Db[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  pools = [0, 1].map(() => createPool({ url: t.url, log: silentLogger(), max: 10 }));
});

async function backendPids(applicationName: string): Promise<number[]> {
  const { rows } = await t.db.query<{ pid: number }>(
    "select pid from pg_stat_activity where application_name = $1 and datname = current_database()",
    [applicationName],
  );
  return rows.map((r) => r.pid);
}

async function terminate(applicationName: string): Promise<number[]> {
  const pids = await backendPids(applicationName);
  expect(pids.length).toBeGreaterThan(0);
  await t.db.query("select pg_terminate_backend(pid) from unnest($1::int[]) as pid", [pids]);
  return pids;
}

// Runs before the contract, whose afterAll drops the database.
describe("postgres coordinator", () => {
  let extra: TestDatabase | undefined;
  afterAll(async () => extra?.drop());

  it("is what createCoordinator gives without a Redis URL", async () => {
    const c = await createCoordinator({ db: t.db, databaseUrl: t.url, log: silentLogger() });
    expect(c.kind).toBe("postgres");
    expect(c.instanceId).toMatch(/:\d+:[0-9a-f]{6}$/);
    await c.close();
  });

  it("fails fast with the host, never the password, when the database is unreachable", async () => {
    const url = "postgres://pitwall:s3cr3t-pw@127.0.0.1:9/nowhere";
    const db = createPool({ url, log: silentLogger() });
    const started = performance.now();
    const err = await createPostgresCoordinator({ db, url, log: silentLogger() }).catch((e: unknown) => e);
    await db.end();
    expect(performance.now() - started).toBeLessThan(6_000);
    expect(String(err)).toMatch(/127\.0\.0\.1:9/);
    expect(String(err)).not.toMatch(/s3cr3t/);
  });

  it("says to run migrations when its tables are missing", async () => {
    extra = await createTestDatabase({ migrate: false });
    await expect(
      createPostgresCoordinator({ db: extra.db, url: extra.url, log: silentLogger() }),
    ).rejects.toThrow(/migrations/);
  });

  it("sweeps expired rows as it goes", async () => {
    await t.db.query(
      `insert into coord_counters (key, window_start, count, expires_at)
       values ('old', now() - interval '2 hours', 3, now() - interval '1 hour')`,
    );
    const c = await createPostgresCoordinator({ db: t.db, url: t.url, log: silentLogger() });
    await c.increment(uniq("count"), 1_000);
    await eventually(
      async () => (await t.db.query("select 1 from coord_counters where key = 'old'")).rowCount === 0,
      2_000,
    );
    await c.close();
  });
});

coordinatorContract(
  "postgres",
  async () => {
    const [a, b] = await Promise.all(
      pools.map((db, i) =>
        createPostgresCoordinator({ db, url: t.url, log: silentLogger(), instanceId: uniq(i ? "b" : "a") }),
      ),
    );
    return [a as Coordinator, b as Coordinator];
  },
  async () => {
    await Promise.all(pools.map((p) => p.end()));
    await t.drop();
  },
  {
    async breakLeadership(leader) {
      // What a crashed connection or a DBA's pg_terminate_backend does: the session and its lock go.
      await terminate(`pitwall-leader:${leader.instanceId}`);
    },
    async killSubscriberConnection(c) {
      const name = `pitwall-listen:${c.instanceId}`;
      const old = await terminate(name);
      await eventually(async () => {
        const now = await backendPids(name);
        return now.length === 1 && !old.includes(now[0] ?? -1);
      }, 10_000);
    },
    childSpec: () => ({ kind: "postgres", databaseUrl: t.url }),
  },
);
