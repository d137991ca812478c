import pg from "pg";
import type { Logger } from "../observability/logger.ts";

export type Db = pg.Pool;
export type DbClient = pg.PoolClient;

// bigint columns (ids, counts) come back as JS numbers; counts here stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number.parseInt(v, 10));

export interface PoolOptions {
  url: string;
  max?: number;
  log: Logger;
  applicationName?: string;
}

/**
 * The one pool of the process. An idle client that loses its server emits 'error' on the pool;
 * without a listener that would crash the process, so it is logged and the pool reconnects on the
 * next query.
 */
export function createPool(opts: PoolOptions): Db {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.max ?? 20,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: opts.applicationName ?? "pitwall",
  });
  pool.on("error", (err) =>
    opts.log.warn({ err: { message: err.message } }, "idle database connection lost"),
  );
  // pg-pool listens for errors only while a client is idle; a checked-out client (inside
  // inTransaction) whose server goes away would otherwise throw an uncaught 'error' event.
  // Its pending and next queries still fail, so callers see the error and answer 503.
  pool.on("connect", (client) => {
    client.on("error", (err) => opts.log.warn({ err: { message: err.message } }, "database connection lost"));
  });
  return pool;
}

/** Runs `fn` in one transaction; rolls back on any error. */
export async function inTransaction<T>(db: Db, fn: (client: DbClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query("begin");
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (err) {
    await client.query("rollback").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/** True when the error means the database cannot be reached or is shutting down (answer 503). */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== "object") return false;
  const e = err as { code?: string; message?: string };
  if (
    e.code &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|57P0[1-3]|08\w{3}|53300)$/.test(e.code)
  ) {
    return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    e.message ?? "",
  );
}
