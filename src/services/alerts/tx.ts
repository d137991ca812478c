/**
 * Transactions of the alerts service, retried when Postgres aborts one to break a deadlock or a
 * serialization conflict (40P01, 40001): the lock order makes these rare, and a retry is always
 * safe because nothing was committed.
 */
import { type Db, type DbClient, inTransaction } from "../../store/pool.ts";

const RETRYABLE = new Set(["40P01", "40001"]);
const MAX_TRIES = 4;

export async function transaction<T>(db: Db, fn: (client: DbClient) => Promise<T>): Promise<T> {
  return retrying(() => inTransaction(db, fn));
}

/**
 * Like `transaction`, for a `fn` that begins and commits the transaction itself (folding BEGIN
 * and COMMIT into its first and last statements saves two round trips per group commit). Any
 * error rolls back; a rollback outside a transaction is only a warning.
 */
export async function selfCommitted<T>(db: Db, fn: (client: DbClient) => Promise<T>): Promise<T> {
  return retrying(async () => {
    const client = await db.connect();
    try {
      return await fn(client);
    } catch (err) {
      await client.query("rollback").catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  });
}

async function retrying<T>(attemptOnce: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptOnce();
    } catch (err) {
      const code = (err as { code?: string } | null)?.code;
      if (attempt >= MAX_TRIES || code === undefined || !RETRYABLE.has(code)) throw err;
    }
  }
}
