import type { Db, DbClient } from "../store/pool.ts";

/** The stored /language choice of a Telegram user, or undefined when none was made. */
export async function getStoredLanguage(db: Db, userId: number): Promise<string | undefined> {
  const { rows } = await db.query<{ language: string | null }>(
    "select language from operator_prefs where user_id = $1",
    [userId],
  );
  return rows[0]?.language ?? undefined;
}

/** Stores (or replaces) a user's /language choice. */
export async function storeLanguage(db: Db | DbClient, userId: number, language: string): Promise<void> {
  await db.query(
    `insert into operator_prefs (user_id, language, updated_at) values ($1, $2, now())
     on conflict (user_id) do update set language = excluded.language, updated_at = now()`,
    [userId, language],
  );
}
