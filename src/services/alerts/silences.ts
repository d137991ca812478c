/**
 * Silences as operators make them: from the Silence… buttons (by incident key, or by the group's
 * labels) and `/silence <key|matchers> <duration>`; listed by `/silences`, ended early by
 * `/silence expire <id>`, ended on time by the leader's expiry job. Creating and expiring are
 * audited. A silence quiets firing incidents it covers at once (their messages show it) and every
 * later alert it covers until it ends.
 */
import { formatMatchers, type Matcher, matchingSilence } from "../../guards/alerts/silence.ts";
import { writeAudit } from "../../store/audit.ts";
import type { Db, DbClient } from "../../store/pool.ts";
import { applyToIncidents, type RefreshOptions } from "./apply.ts";
import type { AlertsEnv } from "./env.ts";
import { escalationDueAt } from "./escalation-plan.ts";
import { showUnshown } from "./first-notify.ts";
import { newId } from "./ids.ts";
import { covers, toGuardSilence } from "./silence-match.ts";
import {
  activeSilences,
  endSilence,
  expiredSilencedIds,
  insertEvents,
  insertSilence,
  openIncidentsForSilence,
  silenceById,
} from "./store.ts";
import { transaction } from "./tx.ts";
import type { ActorRef, Incident, SilenceRow } from "./types.ts";

export interface NewSilence {
  key: string | null;
  matchers: Matcher[] | null;
  durationMs: number;
  actor: ActorRef;
  comment?: string | null;
  /** How it was made, for the audit row: a button on a message or the command. */
  via: "button" | "command";
  refresh?: RefreshOptions;
}

export function describeSilence(silence: Pick<SilenceRow, "key" | "matchers">): string {
  const parts: string[] = [];
  if (silence.key !== null) parts.push(`key ${silence.key}`);
  if (silence.matchers && silence.matchers.length > 0) parts.push(formatMatchers(silence.matchers));
  return parts.join(" ");
}

function auditActor(actor: ActorRef) {
  return {
    type: actor.type === "operator" ? ("operator" as const) : ("system" as const),
    id: actor.id,
    name: actor.name,
  };
}

/** In the caller's transaction: stores the silence, quiets what it covers, audits. */
export async function createSilence(
  client: DbClient,
  env: AlertsEnv,
  input: NewSilence,
): Promise<{ silence: SilenceRow; affected: Incident[] }> {
  const now = env.now();
  const silence: SilenceRow = {
    id: newId(),
    key: input.key,
    matchers: input.matchers,
    startsAt: null,
    endsAt: new Date(now.getTime() + input.durationMs),
    createdAt: now,
    createdBy: input.actor,
    comment: input.comment ?? null,
    expiredBy: null,
  };
  await insertSilence(client, silence);
  const candidates = (await openIncidentsForSilence(client, input.key)).filter((i) => covers(silence, i));
  const affected = await applyToIncidents(
    client,
    env,
    candidates.map((i) => i.id),
    (incident) => {
      if (incident.status !== "firing" && incident.status !== "silenced") return false;
      if (!covers(silence, incident)) return false;
      if (
        incident.status === "silenced" &&
        incident.silencedUntil &&
        incident.silencedUntil >= silence.endsAt
      ) {
        return false; // already quiet for longer
      }
      incident.status = "silenced";
      incident.silencedUntil = silence.endsAt;
      incident.silenceId = silence.id;
      incident.escalationDueAt = escalationDueAt(incident, env, now);
      return true;
    },
    input.refresh,
  );
  await insertEvents(
    client,
    affected.map((i) => ({
      alertId: i.id,
      at: now,
      kind: "silenced",
      actor: input.actor,
      details: { silence: silence.id, until: silence.endsAt.toISOString() },
    })),
  );
  await writeAudit(client, {
    actor: auditActor(input.actor),
    action: "silence.created",
    target: `silence:${silence.id}`,
    details: {
      via: input.via,
      key: silence.key,
      matchers: silence.matchers ? formatMatchers(silence.matchers) : null,
      ends_at: silence.endsAt.toISOString(),
      duration_ms: input.durationMs,
      affected: affected.length,
      ...(input.comment ? { comment: input.comment } : {}),
    },
  });
  return { silence, affected };
}

/**
 * Re-reads which silence covers each incident after one ended: another active one keeps it quiet
 * (until that one ends), else it fires again, and one never shown gets its first notification.
 */
async function reconsider(
  client: DbClient,
  env: AlertsEnv,
  ids: readonly string[],
  actor: ActorRef,
): Promise<Incident[]> {
  const now = env.now();
  const silences = (await activeSilences(client, now)).map(toGuardSilence);
  const changed = await applyToIncidents(client, env, ids, (incident) => {
    if (incident.status !== "silenced") return false;
    const still = matchingSilence(incident, silences, now);
    if (still) {
      if (incident.silenceId === still.id) return false;
      incident.silenceId = still.id;
      incident.silencedUntil = still.endsAt;
    } else {
      incident.status = "firing";
      incident.silenceId = null;
      // silenced_until stays: escalation waits escalation_delay after the silence's end.
      if (incident.silencedUntil === null || incident.silencedUntil > now) incident.silencedUntil = now;
    }
    incident.escalationDueAt = escalationDueAt(incident, env, now);
    return true;
  });
  await insertEvents(
    client,
    changed.map((i) => ({
      alertId: i.id,
      at: now,
      kind: i.status === "firing" ? "unsilenced" : "silenced",
      actor,
      details: i.status === "firing" ? {} : { silence: i.silenceId },
    })),
  );
  await showUnshown(client, env, changed);
  return changed;
}

export type ExpireOutcome =
  | { kind: "expired"; silence: SilenceRow; affected: number }
  | { kind: "unknown" }
  | { kind: "already-ended"; silence: SilenceRow };

/** `/silence expire <id>`: ends a silence now (audited). */
export async function expireSilence(
  db: Db,
  env: AlertsEnv,
  id: string,
  actor: ActorRef,
): Promise<ExpireOutcome> {
  return transaction(db, async (client) => {
    const now = env.now();
    const silence = await silenceById(client, id);
    if (!silence) return { kind: "unknown" } as const;
    if (silence.endsAt.getTime() <= now.getTime()) return { kind: "already-ended", silence } as const;
    await endSilence(client, id, now, actor);
    const { rows } = await client.query<{ id: string }>(
      "select id from alerts where silence_id = $1 and status = 'silenced'",
      [id],
    );
    const changed = await reconsider(
      client,
      env,
      rows.map((r) => r.id),
      actor,
    );
    await writeAudit(client, {
      actor: auditActor(actor),
      action: "silence.expired",
      target: `silence:${id}`,
      details: { what: describeSilence(silence), affected: changed.length },
    });
    return {
      kind: "expired",
      silence: { ...silence, endsAt: now, expiredBy: actor },
      affected: changed.length,
    } as const;
  });
}

const SYSTEM: ActorRef = { type: "system", id: "pitwall", name: "pitwall" };

/** The leader's job: incidents whose silence ended fire again (their messages say so). */
export async function expireDueSilences(db: Db, env: AlertsEnv, limit = 200): Promise<number> {
  const ids = await expiredSilencedIds(db, env.now(), limit);
  if (ids.length === 0) return 0;
  const changed = await transaction(db, (client) => reconsider(client, env, ids, SYSTEM));
  return changed.length;
}

export async function listActiveSilences(db: Db, env: AlertsEnv): Promise<SilenceRow[]> {
  return activeSilences(db, env.now());
}
