import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/observability/logger.ts";
import { createDatabaseClock } from "../../src/store/db-clock.ts";
import type { Db } from "../../src/store/pool.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

const lines: string[] = [];
const log = createLogger({ level: "debug", destination: { write: (line: string) => void lines.push(line) } });

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ migrate: false });
});
afterAll(async () => t?.drop());

/**
 * A database whose clock runs `skewMs` ahead of this machine's: the real server's answer, shifted
 * (Postgres' clock cannot be set per database), or an error while `down` is set.
 */
function skewedDatabase(db: Db, skew: { ms: number; down?: boolean }): Db {
  return {
    query: async (text: string) => {
      if (skew.down) throw Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" });
      const { rows } = await db.query<{ ms: string }>(text);
      return { rows: [{ ms: String(Number(rows[0]!.ms) + skew.ms) }] };
    },
  } as unknown as Db;
}

describe("the database clock", () => {
  it("keeps this machine's time when it agrees with the database's (same host)", async () => {
    const clock = await createDatabaseClock(t.db, log);
    try {
      expect(Math.abs(clock.offsetMs())).toBeLessThan(50);
      expect(Math.abs(clock.now().getTime() - Date.now())).toBeLessThan(50);
    } finally {
      clock.close();
    }
  });

  it("follows a database clock an hour ahead, warns once, and keeps the offset when a resync fails", async () => {
    lines.length = 0;
    const skew = { ms: 3_600_000, down: false };
    const clock = await createDatabaseClock(skewedDatabase(t.db, skew), log, { resyncMs: 20 });
    try {
      expect(clock.offsetMs()).toBeGreaterThan(3_600_000 - 50);
      expect(clock.offsetMs()).toBeLessThan(3_600_000 + 50);
      expect(clock.now().getTime() - Date.now()).toBeGreaterThan(3_600_000 - 50);
      const warnings = () => lines.filter((l) => l.includes("differs from the database")).length;
      expect(warnings()).toBe(1);

      skew.down = true; // resyncs fail: the last offset stays
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(clock.offsetMs()).toBeGreaterThan(3_600_000 - 50);
      expect(lines.some((l) => l.includes("resync failed"))).toBe(true);

      skew.down = false;
      skew.ms = -5_000; // the database's clock was corrected: pitwall follows it
      await new Promise((resolve) => setTimeout(resolve, 80));
      expect(clock.offsetMs()).toBeLessThan(-5_000 + 50);
      expect(warnings()).toBe(2); // a new, different offset beyond 2 s is worth a new warning
    } finally {
      clock.close();
    }
  });
});
