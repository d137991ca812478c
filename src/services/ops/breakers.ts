/**
 * Circuit breakers kept in Postgres. The guard (src/guards/circuit-breaker.ts) decides; this
 * service locks the breaker's row (`select ... for update`) around every decision, so concurrent
 * reports and permits from any number of instances make one consistent history: one transition,
 * one half-open lease at a time. Transitions are audited in the same transaction and raised as
 * alerts after commit (open: fire; closed: resolve).
 */
import { z } from "zod";
import {
  type BreakerResult,
  type BreakerSnapshot,
  BreakerState,
  type BreakerTransition,
  type CallReport,
  type CircuitBreaker,
  circuitBreaker,
  classifyOutcome,
  type PermitResult,
} from "../../guards/circuit-breaker.ts";
import { type Actor, writeAudit } from "../../store/audit.ts";
import { type DbClient, inTransaction } from "../../store/pool.ts";
import type { OpsContext } from "./context.ts";
import { isoOrUndefined } from "./text.ts";

/** The config's rule for names (zName): a letter or digit first, then letters, digits, _ . - ; at most 64. */
export const BREAKER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export const breakerNameSchema = z
  .string()
  .regex(BREAKER_NAME, "a breaker name is 1-64 letters, digits, _ . and -, starting with a letter or digit");

export const breakerReportSchema = z.object({
  ok: z.boolean(),
  latency_ms: z.number().min(0, "must not be negative").nullish(),
  status_code: z.int().min(100).max(599).nullish(),
  error: z.string().max(2000).nullish(),
});

export type BreakerReportInput = z.output<typeof breakerReportSchema>;

/** The API's shape (DESIGN.md, "Breaker"). */
export interface BreakerView {
  name: string;
  state: `${BreakerState}`;
  failures: number;
  opened_at?: string;
  retry_at?: string;
  /** Tripped by an admin: open until an admin resets it. */
  held?: boolean;
  /** Half-open with a probe in flight: until when its lease runs. */
  probe_lease_until?: string;
}

export function breakerView(name: string, snapshot: BreakerSnapshot, now: number): BreakerView {
  const view: BreakerView = { name, state: snapshot.state, failures: snapshot.failures };
  if (snapshot.state !== BreakerState.Closed) {
    const opened = isoOrUndefined(snapshot.opened_at);
    if (opened) view.opened_at = opened;
  }
  if (snapshot.state === BreakerState.Open) {
    const retry = isoOrUndefined(snapshot.retry_at);
    if (retry) view.retry_at = retry;
  }
  if (snapshot.held) view.held = true;
  if (
    snapshot.state === BreakerState.HalfOpen &&
    snapshot.probe_lease_until !== null &&
    snapshot.probe_lease_until > now
  ) {
    view.probe_lease_until = new Date(snapshot.probe_lease_until).toISOString();
  }
  return view;
}

export interface BreakerChange {
  name: string;
  result: BreakerResult;
}

export interface AdminChange {
  known: boolean;
  /** Known breakers, when `known` is false (to tell the admin what exists). */
  names: string[];
  result?: BreakerResult;
  /** The state in effect before the change. */
  previous?: `${BreakerState}`;
}

export interface BreakerService {
  /** Feeds one call's outcome; the breaker is created on its first report. */
  report(name: string, report: BreakerReportInput, actor: Actor): Promise<BreakerChange>;
  /** May the caller call now? Half-open grants one lease at a time, across instances. */
  permit(name: string, actor: Actor): Promise<PermitResult>;
  /** Every breaker in effect now: reported ones and configured ones never reported. */
  list(): Promise<Array<{ name: string; snapshot: BreakerSnapshot }>>;
  reset(name: string, actor: Actor): Promise<AdminChange>;
  trip(name: string, actor: Actor): Promise<AdminChange>;
  guardFor(name: string): CircuitBreaker;
}

export function alertKeyForBreaker(name: string): string {
  return `breaker:${name}`;
}

export function createBreakerService(ctx: OpsContext): BreakerService {
  const guards = new Map<string, CircuitBreaker>();
  const settings = ctx.config.circuit_breaker;

  const guardFor = (name: string): CircuitBreaker => {
    let guard = guards.get(name);
    if (!guard) {
      const entry = settings.breakers.find((breaker) => breaker.name === name);
      guard = circuitBreaker({
        failure_threshold: entry?.failure_threshold ?? settings.failure_threshold,
        timeout: entry?.timeout ?? settings.timeout,
        half_open_requests: settings.half_open_requests,
      });
      guards.set(name, guard);
    }
    return guard;
  };

  const configuredNames = (): string[] => [
    ...new Set([
      ...settings.breakers.map((breaker) => breaker.name),
      ...ctx.config.routing.providers.map((provider) => provider.name),
    ]),
  ];

  /** Locks the row (creating it first when asked); null when absent and not created. */
  const lock = async (
    client: DbClient,
    name: string,
    guard: CircuitBreaker,
    create: boolean,
    now: number,
  ): Promise<BreakerSnapshot | null> => {
    if (create) {
      await client.query(
        "insert into breakers (name, snapshot, updated_at) values ($1, $2, $3) on conflict (name) do nothing",
        [name, JSON.stringify(guard.toJSON(guard.initial())), new Date(now)],
      );
    }
    const { rows } = await client.query<{ snapshot: unknown }>(
      "select snapshot from breakers where name = $1 for update",
      [name],
    );
    const row = rows[0];
    return row ? guard.fromJSON(row.snapshot) : null;
  };

  const save = async (
    client: DbClient,
    name: string,
    guard: CircuitBreaker,
    before: BreakerSnapshot,
    after: BreakerSnapshot,
    now: number,
  ): Promise<void> => {
    const next = JSON.stringify(guard.toJSON(after));
    if (next === JSON.stringify(guard.toJSON(before))) return;
    await client.query("update breakers set snapshot = $2, updated_at = $3 where name = $1", [
      name,
      next,
      new Date(now),
    ]);
  };

  const auditTransition = (client: DbClient, name: string, transition: BreakerTransition, actor: Actor) =>
    writeAudit(client, {
      actor,
      action: "breaker.transition",
      target: `breaker:${name}`,
      details: {
        from: transition.from,
        to: transition.to,
        reason: transition.reason,
        detail: transition.detail,
      },
    });

  /** After commit: open raises the breaker's alert, closed resolves it (half-open is between). */
  const announce = async (name: string, transition: BreakerTransition | undefined, actor: Actor) => {
    if (!transition) return;
    ctx.log.info(
      { breaker: name, from: transition.from, to: transition.to, reason: transition.reason },
      `circuit breaker ${name}: ${transition.from} -> ${transition.to}`,
    );
    if (transition.to === BreakerState.Open) {
      const by = actor.type === "operator" ? ` (${actor.name ?? actor.id})` : "";
      await ctx.alerts.fire({
        key: alertKeyForBreaker(name),
        severity: settings.open_severity,
        title: `Circuit breaker ${name} is open`,
        text: `${transition.detail}${by}`,
        source: "breaker",
        labels: { alertname: "CircuitBreakerOpen", breaker: name },
      });
    } else if (transition.to === BreakerState.Closed) {
      await ctx.alerts.resolve(
        alertKeyForBreaker(name),
        `circuit breaker ${name} closed: ${transition.detail}`,
      );
    }
  };

  const report: BreakerService["report"] = async (name, input, actor) => {
    const guard = guardFor(name);
    const call: CallReport = {
      ok: input.ok,
      status_code: input.status_code ?? null,
      error: input.error ?? null,
    };
    const outcome = classifyOutcome(call);
    const now = ctx.now();
    const result = await inTransaction(ctx.db, async (client) => {
      const before = (await lock(client, name, guard, true, now))!;
      const next = guard.report(before, outcome, now);
      await save(client, name, guard, before, next.state, now);
      await client.query(
        "insert into breaker_reports (name, at, outcome, latency_ms, status_code) values ($1, $2, $3, $4, $5)",
        [name, new Date(now), outcome, input.latency_ms ?? null, input.status_code ?? null],
      );
      if (next.transition) await auditTransition(client, name, next.transition, actor);
      return next;
    });
    await announce(name, result.transition, actor);
    return { name, result };
  };

  const permit: BreakerService["permit"] = async (name, actor) => {
    const guard = guardFor(name);
    const now = ctx.now();
    const result = await inTransaction(ctx.db, async (client) => {
      const before = await lock(client, name, guard, false, now);
      // Never reported: closed, and nothing worth a row yet.
      if (!before) return guard.permit(guard.initial(), now);
      const next = guard.permit(before, now);
      await save(client, name, guard, before, next.state, now);
      if (next.transition) await auditTransition(client, name, next.transition, actor);
      return next;
    });
    await announce(name, result.transition, actor);
    return result;
  };

  const list: BreakerService["list"] = async () => {
    const now = ctx.now();
    const { rows } = await ctx.db.query<{ name: string; snapshot: unknown }>(
      "select name, snapshot from breakers order by name",
    );
    const byName = new Map<string, BreakerSnapshot>();
    for (const row of rows) {
      const guard = guardFor(row.name);
      // The state in effect now: an open breaker past its cooldown reads as half-open.
      byName.set(row.name, guard.advance(guard.fromJSON(row.snapshot), now).state);
    }
    for (const name of configuredNames()) {
      if (!byName.has(name)) byName.set(name, guardFor(name).initial());
    }
    return [...byName.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, snapshot]) => ({ name, snapshot }));
  };

  const adminChange = async (kind: "reset" | "trip", name: string, actor: Actor): Promise<AdminChange> => {
    const known = await list();
    if (!known.some((breaker) => breaker.name === name)) {
      return { known: false, names: known.map((breaker) => breaker.name) };
    }
    const guard = guardFor(name);
    const now = ctx.now();
    const change = await inTransaction(ctx.db, async (client) => {
      const before = (await lock(client, name, guard, true, now))!;
      const previous = guard.advance(before, now).state.state;
      const next = kind === "reset" ? guard.reset(before, now) : guard.trip(before, now);
      await save(client, name, guard, before, next.state, now);
      await writeAudit(client, {
        actor,
        action: `breaker.${kind}`,
        target: `breaker:${name}`,
        details: { from: previous, to: next.state.state, changed: next.transition !== undefined },
      });
      return { result: next, previous };
    });
    await announce(name, change.result.transition, actor);
    return { known: true, names: [], ...change };
  };

  return {
    report,
    permit,
    list,
    reset: (name, actor) => adminChange("reset", name, actor),
    trip: (name, actor) => adminChange("trip", name, actor),
    guardFor,
  };
}
