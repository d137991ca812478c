/**
 * Postgres storage for @grammyjs/conversations v2 (DESIGN.md: "parallel, storage in Postgres"):
 * a "Deny with reason" in progress survives restarts and works on whichever instance polls next.
 * One row per key (chat and approver, see the bot feature); the plugin writes it after each update
 * that touched a conversation and deletes it when none is left.
 */
import type { VersionedState, VersionedStateStorage } from "@grammyjs/conversations";
import type { Db } from "../../store/pool.ts";

export function postgresConversationStorage<S>(db: Db): VersionedStateStorage<string, S> {
  return {
    async read(key) {
      const { rows } = await db.query<{ state: VersionedState<S> }>(
        "select state from approval_conversations where key = $1",
        [key],
      );
      return rows[0]?.state;
    },
    async write(key, state) {
      await db.query(
        `insert into approval_conversations (key, state, updated_at) values ($1, $2, now())
         on conflict (key) do update set state = excluded.state, updated_at = now()`,
        [key, JSON.stringify(state)],
      );
    },
    async delete(key) {
      await db.query("delete from approval_conversations where key = $1", [key]);
    },
  };
}

/** Drops conversation state nobody touched for `olderThanMs` (every question it held has expired). */
export async function pruneConversations(db: Db, olderThanMs: number): Promise<number> {
  const { rowCount } = await db.query(
    "delete from approval_conversations where updated_at < now() - make_interval(secs => $1::double precision / 1000)",
    [olderThanMs],
  );
  return rowCount ?? 0;
}
