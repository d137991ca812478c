import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { silentLogger } from "../../src/observability/logger.ts";
import { migrate } from "../../src/store/migrate.ts";
import { createPool, type Db } from "../../src/store/pool.ts";

export interface TestDatabase {
  url: string;
  name: string;
  db: Db;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

/** A fresh, migrated database on the run's test cluster. */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const adminUrl = inject("pgAdminUrl");
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = withDatabase(adminUrl, name);
  const db = createPool({ url, log: silentLogger(), max: 10 });
  if (opts.migrate !== false) await migrate(db, silentLogger());
  return {
    url,
    name,
    db,
    async drop() {
      await db.end().catch(() => undefined);
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
