/**
 * The degradation mode (DESIGN.md, "Modes"), one row in Postgres. The leader evaluates it every
 * few seconds from the measurements (p99 and error rate per service from breaker reports, free
 * memory from the OS); admins pin a mode (MAINTENANCE) and unpin it. Every change of the mode in
 * effect is recorded in mode_history, announced in the alerts chat (through the outbox, in the
 * same transaction) and raised as an alert after commit.
 */

import type { Mode } from "../../config/index.ts";
import {
  type AutoMode,
  evaluateMode,
  initialModeState,
  type Measurements,
  type ModeState,
  pinMode,
  unpinMode,
} from "../../guards/degradation.ts";
import { type Actor, writeAudit } from "../../store/audit.ts";
import { type DbClient, inTransaction } from "../../store/pool.ts";
import type { ModeReader } from "../contracts.ts";
import type { OpsContext } from "./context.ts";
import type { HostReader } from "./host.ts";
import { announceModeChange, type ModeChange } from "./mode-announce.ts";
import { serviceStats, worst } from "./service-stats.ts";
import { isoOrUndefined } from "./text.ts";

export interface ModeMeasurements extends Measurements {
  /** The services the worst p99 and error rate came from. */
  p99_service?: string | null;
  error_service?: string | null;
}

/** `GET /v1/mode`. */
export interface ModeView {
  mode: Mode;
  /** Why, most important first: the pin, the triggers holding, a pending recovery. */
  reasons: string[];
  since: string;
  /** What the measurements say (kept while pinned). */
  auto: AutoMode;
  pinned: { mode: Mode; reason: string; by: string | null; at: string } | null;
  measurements: ModeMeasurements;
  evaluated_at?: string;
}

export interface PinOutcome {
  changed: boolean;
  mode: Mode;
  previous: Mode;
  /** Unpin only: false when nothing was pinned. */
  wasPinned?: boolean;
}

export interface ModeService extends ModeReader {
  view(): Promise<ModeView>;
  /** One evaluation of the measurements (the leader's job); the change, if any. */
  evaluate(): Promise<ModeChange | null>;
  pin(mode: Mode, reason: string, actor: Actor): Promise<PinOutcome>;
  unpin(actor: Actor): Promise<PinOutcome>;
}

export interface ModeOptions {
  host: HostReader;
  statsWindowMs: number;
  minSamples: number;
}

interface StoredMode {
  state: ModeState;
  reasons: string[];
  measurements: ModeMeasurements;
  updated_at: Date | null;
}

function pinText(pin: NonNullable<ModeState["pin"]>): string {
  const who = pin.by ?? "an admin";
  return pin.reason.trim() === "" ? `pinned by ${who}` : `pinned by ${who}: ${pin.reason.trim()}`;
}

/** Reasons shown for a state: the pin first, then what the measurements said last time. */
function reasonsOf(stored: StoredMode): string[] {
  return stored.state.pin ? [pinText(stored.state.pin), ...stored.reasons] : stored.reasons;
}

export function createModeService(ctx: OpsContext, options: ModeOptions): ModeService {
  const read = async (): Promise<StoredMode> => {
    const { rows } = await ctx.db.query<{
      state: ModeState;
      reasons: string[];
      measurements: ModeMeasurements;
      updated_at: Date;
    }>("select state, reasons, measurements, updated_at from mode_state where id = 1");
    const row = rows[0];
    if (!row) return { state: initialModeState(ctx.now()), reasons: [], measurements: {}, updated_at: null };
    return row;
  };

  const lock = async (client: DbClient, now: number): Promise<StoredMode> => {
    await client.query(
      "insert into mode_state (id, state, updated_at) values (1, $1, $2) on conflict (id) do nothing",
      [JSON.stringify(initialModeState(now)), new Date(now)],
    );
    const { rows } = await client.query<StoredMode>(
      "select state, reasons, measurements, updated_at from mode_state where id = 1 for update",
    );
    return rows[0]!;
  };

  const save = (client: DbClient, stored: StoredMode, now: number) =>
    client.query(
      "update mode_state set state = $1, reasons = $2, measurements = $3, updated_at = $4 where id = 1",
      [
        JSON.stringify(stored.state),
        JSON.stringify(stored.reasons),
        JSON.stringify(stored.measurements),
        new Date(now),
      ],
    );

  /** History row and chat message in the transaction; the alert after commit (see callers). */
  const record = async (client: DbClient, change: ModeChange, now: number) => {
    await client.query(
      "insert into mode_history (at, mode, previous, reasons, changed_by) values ($1, $2, $3, $4, $5)",
      [new Date(now), change.mode, change.previous, JSON.stringify(change.reasons), change.changedBy],
    );
    await announceModeChange.inChat(ctx, client, change);
  };

  const measure = async (now: number): Promise<ModeMeasurements> => {
    const stats = await serviceStats(
      ctx.db,
      { from: now - options.statsWindowMs, to: now },
      options.minSamples,
    );
    const p99 = worst(stats, (entry) => entry.p99_ms);
    const errors = worst(stats, (entry) => entry.error_ratio);
    const memory = await options.host.memory();
    return {
      p99_ms: p99?.value ?? null,
      p99_service: p99?.name ?? null,
      error_ratio: errors?.value ?? null,
      error_service: errors?.name ?? null,
      free_memory_bytes: memory.available_bytes,
      total_memory_bytes: memory.total_bytes,
    };
  };

  const evaluate: ModeService["evaluate"] = async () => {
    const now = ctx.now();
    const measurements = await measure(now);
    const change = await inTransaction(ctx.db, async (client) => {
      const stored = await lock(client, now);
      const result = evaluateMode(stored.state, measurements, ctx.config.degradation.triggers, now, {
        recovery_ms: ctx.config.degradation.recovery,
        modes: ctx.config.degradation.modes,
      });
      // The guard puts the pin first; it is kept apart here and added back when read.
      const measured = (result.state.pin ? result.reasons.slice(1) : result.reasons).map((reason) =>
        nameService(reason, measurements),
      );
      const next: StoredMode = { state: result.state, reasons: measured, measurements, updated_at: null };
      await save(client, next, now);
      if (!result.changed) return null;
      const change: ModeChange = {
        mode: result.mode,
        previous: result.previous,
        reasons: reasonsOf(next),
        changedBy: "auto",
      };
      await record(client, change, now);
      return change;
    });
    if (change) await announceModeChange.asAlert(ctx, change);
    return change;
  };

  const pin: ModeService["pin"] = async (mode, reason, actor) => {
    const now = ctx.now();
    const by = actor.name ?? actor.id;
    const outcome = await inTransaction(ctx.db, async (client) => {
      const stored = await lock(client, now);
      const result = pinMode(stored.state, { mode, reason, by }, now);
      const next = { ...stored, state: result.state };
      await save(client, next, now);
      await writeAudit(client, {
        actor,
        action: "mode.pin",
        target: "mode",
        details: { mode, reason, previous: result.previous },
      });
      const change: ModeChange = {
        mode: result.mode,
        previous: result.previous,
        reasons: reasonsOf(next),
        changedBy: by,
      };
      if (result.changed) await record(client, change, now);
      return { outcome: { changed: result.changed, mode: result.mode, previous: result.previous }, change };
    });
    if (outcome.outcome.changed) await announceModeChange.asAlert(ctx, outcome.change);
    return outcome.outcome;
  };

  const unpin: ModeService["unpin"] = async (actor) => {
    const now = ctx.now();
    const by = actor.name ?? actor.id;
    const outcome = await inTransaction(ctx.db, async (client) => {
      const stored = await lock(client, now);
      if (!stored.state.pin) {
        return {
          outcome: { changed: false, mode: stored.state.mode, previous: stored.state.mode, wasPinned: false },
          change: null,
        };
      }
      const pinned = stored.state.pin;
      const result = unpinMode(stored.state, now);
      const next = { ...stored, state: result.state };
      await save(client, next, now);
      await writeAudit(client, {
        actor,
        action: "mode.unpin",
        target: "mode",
        details: {
          mode: result.mode,
          previous: result.previous,
          was_pinned: pinned.mode,
          pin_reason: pinned.reason,
        },
      });
      const change: ModeChange = {
        mode: result.mode,
        previous: result.previous,
        reasons: reasonsOf(next),
        changedBy: by,
      };
      if (result.changed) await record(client, change, now);
      return {
        outcome: { changed: result.changed, mode: result.mode, previous: result.previous, wasPinned: true },
        change: result.changed ? change : null,
      };
    });
    if (outcome.change) await announceModeChange.asAlert(ctx, outcome.change);
    return outcome.outcome;
  };

  return {
    async current() {
      const stored = await read();
      return { mode: stored.state.mode, reasons: reasonsOf(stored) };
    },
    async view() {
      const stored = await read();
      const pinned = stored.state.pin;
      const view: ModeView = {
        mode: stored.state.mode,
        reasons: reasonsOf(stored),
        since: new Date(stored.state.since).toISOString(),
        auto: stored.state.auto,
        pinned: pinned
          ? { mode: pinned.mode, reason: pinned.reason, by: pinned.by, at: new Date(pinned.at).toISOString() }
          : null,
        measurements: stored.measurements,
      };
      const evaluated = isoOrUndefined(stored.updated_at?.getTime());
      if (evaluated) view.evaluated_at = evaluated;
      return view;
    },
    evaluate,
    pin,
    unpin,
  };
}

/** "p99 6.2 s > 5 s" -> "openai: p99 6.2 s > 5 s": the measurement is the worst service's. */
function nameService(reason: string, measurements: ModeMeasurements): string {
  if (reason.startsWith("p99 ") && measurements.p99_service) return `${measurements.p99_service}: ${reason}`;
  if (reason.startsWith("errors ") && measurements.error_service)
    return `${measurements.error_service}: ${reason}`;
  return reason;
}
