import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/observability/logger.ts";
import { createPool, type Db } from "../../src/store/pool.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { testRoutes } from "./routes.ts";
import { bearer, buildApp, CODER_KEY, PostgresRelay, type TestApp } from "./support.ts";

/**
 * Postgres going away mid-run, through a relay the test cuts and restores: requests that need the
 * database get 503 and nothing unacknowledged is committed, everything else keeps working, and
 * the pool reconnects by itself.
 */
describe("database unavailable", () => {
  let t: TestDatabase;
  let relay: PostgresRelay;
  let db: Db;
  let h: TestApp;
  const hooks: { beforeCommit?: () => Promise<void> } = {};

  beforeAll(async () => {
    t = await createTestDatabase();
    const target = new URL(t.url);
    relay = new PostgresRelay(target.hostname, Number(target.port));
    await relay.start();
    const relayed = new URL(t.url);
    relayed.hostname = "127.0.0.1";
    relayed.port = String(relay.port);
    db = createPool({ url: relayed.toString(), log: silentLogger(), max: 4 });
    h = await buildApp(db, { registerRoutes: [testRoutes(db, hooks)], readyTimeoutMs: 1_000 });
  });

  afterAll(async () => {
    await h?.app.close();
    await relay?.cut();
    await db?.end().catch(() => undefined);
    await t?.drop();
  });

  const commit = (key: string) =>
    h.app.inject({ method: "POST", url: "/v1/test/commit", headers: bearer(CODER_KEY), payload: { key } });

  async function committedKeys(): Promise<string[]> {
    const { rows } = await t.db.query<{ key: string }>("select key from settings order by key");
    return rows.map((r) => r.key);
  }

  it("answers 503 while the database is gone, keeps serving, and recovers when it returns", async () => {
    expect((await commit("before")).statusCode).toBe(202);
    expect((await h.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);

    await relay.cut();

    const during = await commit("during");
    expect(during.statusCode).toBe(503);
    expect(during.headers["retry-after"]).toBe("5");
    expect(during.json()).toMatchObject({ error: "database_unavailable" });

    const ready = await h.app.inject({ method: "GET", url: "/ready" });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({
      status: "unavailable",
      components: [{ name: "database", state: "down" }],
    });
    expect(ready.body).not.toContain(t.url);

    // What does not need the database keeps working.
    expect((await h.app.inject({ method: "GET", url: "/health" })).statusCode).toBe(200);
    expect(
      (await h.app.inject({ method: "GET", url: "/v1/whoami", headers: bearer(CODER_KEY) })).statusCode,
    ).toBe(200);
    // A wrong key is still refused as such, though its audit row cannot be written now.
    expect(
      (await h.app.inject({ method: "GET", url: "/v1/whoami", headers: bearer("wrong") })).statusCode,
    ).toBe(401);
    expect(h.logs.text()).toContain("could not audit a failed authentication");

    await relay.start();

    expect((await commit("after")).statusCode).toBe(202);
    expect((await h.app.inject({ method: "GET", url: "/ready" })).statusCode).toBe(200);
    expect(await committedKeys()).toEqual(["after", "before"]);
  });

  it("acknowledges nothing when the connection dies before the commit", async () => {
    let reachedCommit!: () => void;
    const atCommit = new Promise<void>((resolve) => {
      reachedCommit = resolve;
    });
    let release!: () => void;
    hooks.beforeCommit = () => {
      reachedCommit();
      return new Promise<void>((resolve) => {
        release = resolve;
      });
    };
    try {
      const pending = commit("midway");
      await atCommit;
      await relay.cut();
      release();
      const res = await pending;
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: "database_unavailable" });
    } finally {
      hooks.beforeCommit = undefined;
      await relay.start();
    }
    expect(await committedKeys()).not.toContain("midway");
    expect((await commit("after-midway")).statusCode).toBe(202);
  });
});
