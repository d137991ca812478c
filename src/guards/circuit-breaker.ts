/**
 * Circuit breaker: cockatiel's consecutive breaker, made pure. The state is plain data the
 * services keep in Postgres; every function takes it with the time and returns the next state
 * and what to do. Times are epoch milliseconds.
 *
 * CLOSED -> OPEN after `failure_threshold` consecutive failures -> HALF_OPEN once the cooldown
 * has passed (15 min, doubled per consecutive trip, at most 60 min) -> probes, one lease at a
 * time (30 s) -> CLOSED after `half_open_requests` successful probes, or OPEN again with a
 * longer cooldown on a failed one.
 *
 * Which outcomes count (cockatiel's rule for errors its policy does not handle):
 * - 5xx, 408, 429, timeouts and network errors are failures;
 * - any other 4xx is `ignored` while CLOSED: it neither counts nor resets the consecutive
 *   counter, so an agent's bad requests cannot hide an outage between two 5xx, nor open the
 *   breaker; in HALF_OPEN it counts as a successful probe: the service answered.
 * - reports that arrive while OPEN, before the cooldown ends, change nothing: they are calls
 *   started before the breaker opened, or made by callers that did not ask for a permit.
 */

export enum BreakerState {
  Closed = "closed",
  Open = "open",
  HalfOpen = "half_open",
}

export interface BreakerSnapshot {
  state: BreakerState;
  /** Consecutive failures: counted while closed (and by failed probes); 0 after a close. */
  failures: number;
  /** Consecutive trips without a close (1 on the first opening); sets the cooldown. */
  trips: number;
  /** Successful probes in this half-open period; closing needs `half_open_requests` of them. */
  probe_successes: number;
  opened_at: number | null;
  /** When an open breaker lets its next probe through; null while closed or held open. */
  retry_at: number | null;
  /** End of the current probe's lease; while it runs, other callers are refused. */
  probe_lease_until: number | null;
  /** Tripped by an admin: stays open, with no probes, until an admin resets it. */
  held: boolean;
}

/** A persisted breaker: the same fields, JSON-safe. */
export type BreakerJSON = {
  [K in keyof BreakerSnapshot]: BreakerSnapshot[K] extends BreakerState
    ? `${BreakerState}`
    : BreakerSnapshot[K];
};

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the breaker. Default 3 (the report's `3-5` read as 3). */
  failure_threshold?: number;
  /** Cooldown before the first probe, doubled per consecutive trip up to maxMs. Default 15-60 min. */
  timeout?: { initialMs: number; maxMs: number };
  /** Successful probes needed to close. Default 1. Probes still run one lease at a time. */
  half_open_requests?: number;
  /** How long one probe's lease lasts. Default 30 s. */
  probe_lease_ms?: number;
}

export const DEFAULT_BREAKER_OPTIONS: Readonly<Required<CircuitBreakerOptions>> = {
  failure_threshold: 3,
  timeout: { initialMs: 15 * 60_000, maxMs: 60 * 60_000 },
  half_open_requests: 1,
  probe_lease_ms: 30_000,
};

export type Outcome = "success" | "failure" | "ignored";

/** What a caller reports about one call (the body of `POST /v1/breakers/:name/report`). */
export interface CallReport {
  ok: boolean;
  status_code?: number | null;
  error?: string | null;
}

export type TransitionReason =
  | "failure_threshold"
  | "cooldown_elapsed"
  | "probe_succeeded"
  | "probe_failed"
  | "manual_reset"
  | "manual_trip";

export interface BreakerTransition {
  /** The state in effect at `now` (an open breaker whose cooldown has passed is half-open). */
  from: BreakerState;
  to: BreakerState;
  reason: TransitionReason;
  /** For people: "3 consecutive failures; next probe in 15 min". */
  detail: string;
  at: number;
}

export interface BreakerResult {
  state: BreakerSnapshot;
  transition?: BreakerTransition;
}

export interface PermitResult extends BreakerResult {
  allowed: boolean;
  /** The probe lease granted (half-open); null when closed or refused. */
  lease_until: number | null;
  /** Why not: open (cooldown), a probe holds the lease, or held open by an admin. */
  refusal?: "open" | "probe_in_flight" | "held";
  /** When to ask again, when refused (null when held open by an admin). */
  retry_at?: number | null;
}

export interface CircuitBreaker {
  readonly options: Readonly<Required<CircuitBreakerOptions>>;
  /** A new, closed breaker. */
  initial(): BreakerSnapshot;
  /** Applies the passage of time: an open breaker whose cooldown has ended becomes half-open. */
  advance(state: BreakerSnapshot, now: number): BreakerResult;
  /** May I call now? Closed: yes. Half-open: one lease at a time; an expired lease can be re-granted. */
  permit(state: BreakerSnapshot, now: number): PermitResult;
  /** Feeds one call's outcome (see `classifyOutcome`). */
  report(state: BreakerSnapshot, outcome: Outcome, now: number): BreakerResult;
  /** Admin: close now, forget failures and trips. */
  reset(state: BreakerSnapshot, now: number): BreakerResult;
  /** Admin: open now and hold open (no probes) until `reset`. */
  trip(state: BreakerSnapshot, now: number): BreakerResult;
  /** The cooldown after the `trips`-th consecutive trip. */
  cooldownMs(trips: number): number;
  toJSON(state: BreakerSnapshot): BreakerJSON;
  /** Reads a persisted breaker; missing fields take their initial values. Throws on a bad state. */
  fromJSON(value: unknown): BreakerSnapshot;
}

const TIMEOUT_ERROR = /time[ds]?[ _-]?out|ETIMEDOUT|ESOCKETTIMEDOUT|AbortError|aborted/i;

/** Which outcome a call report is. A status code, when present, decides; else `ok`. */
export function classifyOutcome(report: CallReport): Outcome {
  const status = report.status_code;
  if (typeof status === "number" && Number.isFinite(status)) {
    if (status >= 500 || status === 408 || status === 429) return "failure";
    if (status >= 400) return "ignored";
    return report.ok ? "success" : "failure";
  }
  return report.ok ? "success" : "failure";
}

/** For failover (`routing.failover`): which kind of failure a report is; null when not a failure. */
export function failureKind(report: CallReport): "timeout" | "rate_limit" | "error" | null {
  if (classifyOutcome(report) !== "failure") return null;
  if (report.status_code === 429) return "rate_limit";
  if (report.status_code === 408 || report.status_code === 504) return "timeout";
  if (typeof report.error === "string" && TIMEOUT_ERROR.test(report.error)) return "timeout";
  return "error";
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number ≥ 1`);
  return value;
}

function spanText(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.ceil(ms / 1000)} s`;
}

export function circuitBreaker(opts: CircuitBreakerOptions = {}): CircuitBreaker {
  const timeout = opts.timeout ?? DEFAULT_BREAKER_OPTIONS.timeout;
  if (!(timeout.initialMs > 0) || timeout.maxMs < timeout.initialMs) {
    throw new RangeError("timeout needs 0 < initialMs ≤ maxMs");
  }
  const options: Required<CircuitBreakerOptions> = {
    failure_threshold: positiveInt(
      opts.failure_threshold,
      DEFAULT_BREAKER_OPTIONS.failure_threshold,
      "failure_threshold",
    ),
    timeout: { initialMs: timeout.initialMs, maxMs: timeout.maxMs },
    half_open_requests: positiveInt(
      opts.half_open_requests,
      DEFAULT_BREAKER_OPTIONS.half_open_requests,
      "half_open_requests",
    ),
    probe_lease_ms: positiveInt(
      opts.probe_lease_ms,
      DEFAULT_BREAKER_OPTIONS.probe_lease_ms,
      "probe_lease_ms",
    ),
  };

  const initial = (): BreakerSnapshot => ({
    state: BreakerState.Closed,
    failures: 0,
    trips: 0,
    probe_successes: 0,
    opened_at: null,
    retry_at: null,
    probe_lease_until: null,
    held: false,
  });

  const cooldownMs = (trips: number): number => {
    const doublings = Math.max(0, trips - 1);
    // 2 ** doublings overflows nothing here, but cap before multiplying anyway.
    if (doublings >= 32) return options.timeout.maxMs;
    return Math.min(options.timeout.maxMs, options.timeout.initialMs * 2 ** doublings);
  };

  const open = (
    state: BreakerSnapshot,
    from: BreakerState,
    reason: "failure_threshold" | "probe_failed",
    failures: number,
    now: number,
  ): BreakerResult => {
    const trips = state.trips + 1;
    const cooldown = cooldownMs(trips);
    const next: BreakerSnapshot = {
      state: BreakerState.Open,
      failures,
      trips,
      probe_successes: 0,
      opened_at: now,
      retry_at: now + cooldown,
      probe_lease_until: null,
      held: false,
    };
    const detail =
      reason === "failure_threshold"
        ? `${failures} consecutive failures; next probe in ${spanText(cooldown)}`
        : `probe failed; next probe in ${spanText(cooldown)}`;
    return { state: next, transition: { from, to: BreakerState.Open, reason, detail, at: now } };
  };

  const advance = (state: BreakerSnapshot, now: number): BreakerResult => {
    if (state.state !== BreakerState.Open || state.held || state.retry_at === null || now < state.retry_at) {
      return { state };
    }
    return {
      state: { ...state, state: BreakerState.HalfOpen, probe_successes: 0, probe_lease_until: null },
      transition: {
        from: BreakerState.Open,
        to: BreakerState.HalfOpen,
        reason: "cooldown_elapsed",
        detail: "cooldown over; waiting for a probe",
        at: now,
      },
    };
  };

  const permit = (state: BreakerSnapshot, now: number): PermitResult => {
    const advanced = advance(state, now);
    const current = advanced.state;
    switch (current.state) {
      case BreakerState.Closed:
        return { ...advanced, allowed: true, lease_until: null };
      case BreakerState.Open:
        return current.held
          ? { ...advanced, allowed: false, lease_until: null, refusal: "held", retry_at: null }
          : { ...advanced, allowed: false, lease_until: null, refusal: "open", retry_at: current.retry_at };
      case BreakerState.HalfOpen: {
        if (current.probe_lease_until !== null && now < current.probe_lease_until) {
          return {
            ...advanced,
            allowed: false,
            lease_until: null,
            refusal: "probe_in_flight",
            retry_at: current.probe_lease_until,
          };
        }
        const leaseUntil = now + options.probe_lease_ms;
        return {
          ...advanced,
          state: { ...current, probe_lease_until: leaseUntil },
          allowed: true,
          lease_until: leaseUntil,
        };
      }
    }
  };

  const close = (state: BreakerSnapshot, now: number): BreakerResult => ({
    state: initial(),
    transition: {
      from: state.state,
      to: BreakerState.Closed,
      reason: "probe_succeeded",
      detail:
        options.half_open_requests > 1 ? `${options.half_open_requests} probes succeeded` : "probe succeeded",
      at: now,
    },
  });

  const report = (state: BreakerSnapshot, outcome: Outcome, now: number): BreakerResult => {
    const advanced = advance(state, now);
    const current = advanced.state;
    let next: BreakerResult;
    switch (current.state) {
      case BreakerState.Open:
        return advanced;
      case BreakerState.Closed:
        if (outcome === "ignored") return advanced;
        if (outcome === "success") {
          next = { state: current.failures === 0 ? current : { ...current, failures: 0 } };
        } else {
          const failures = current.failures + 1;
          next =
            failures >= options.failure_threshold
              ? open(current, BreakerState.Closed, "failure_threshold", failures, now)
              : { state: { ...current, failures } };
        }
        break;
      case BreakerState.HalfOpen:
        if (outcome === "failure") {
          next = open(current, BreakerState.HalfOpen, "probe_failed", current.failures + 1, now);
        } else {
          const successes = current.probe_successes + 1;
          next =
            successes >= options.half_open_requests
              ? close(current, now)
              : { state: { ...current, probe_successes: successes, probe_lease_until: null } };
        }
        break;
    }
    return { state: next.state, transition: next.transition ?? advanced.transition };
  };

  const reset = (state: BreakerSnapshot, now: number): BreakerResult => {
    const next = initial();
    if (state.state === BreakerState.Closed) return { state: next };
    return {
      state: next,
      transition: {
        from: advance(state, now).state.state,
        to: BreakerState.Closed,
        reason: "manual_reset",
        detail: "reset by an admin",
        at: now,
      },
    };
  };

  const trip = (state: BreakerSnapshot, now: number): BreakerResult => {
    const from = advance(state, now).state.state;
    const next: BreakerSnapshot = {
      ...state,
      state: BreakerState.Open,
      trips: Math.max(1, state.trips),
      probe_successes: 0,
      opened_at: state.held && state.opened_at !== null ? state.opened_at : now,
      retry_at: null,
      probe_lease_until: null,
      held: true,
    };
    if (state.held) return { state: next };
    return {
      state: next,
      transition: {
        from,
        to: BreakerState.Open,
        reason: "manual_trip",
        detail: "tripped by an admin; held open until reset",
        at: now,
      },
    };
  };

  const toJSON = (state: BreakerSnapshot): BreakerJSON => ({
    state: state.state,
    failures: state.failures,
    trips: state.trips,
    probe_successes: state.probe_successes,
    opened_at: state.opened_at,
    retry_at: state.retry_at,
    probe_lease_until: state.probe_lease_until,
    held: state.held,
  });

  const fromJSON = (value: unknown): BreakerSnapshot => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new TypeError("a persisted breaker must be an object");
    }
    const record = value as Record<string, unknown>;
    const base = initial();
    const states = Object.values(BreakerState) as string[];
    const stateName = record.state ?? base.state;
    if (typeof stateName !== "string" || !states.includes(stateName)) {
      throw new TypeError(`a persisted breaker's state must be one of ${states.join(", ")}`);
    }
    const count = (key: "failures" | "trips" | "probe_successes"): number => {
      const field = record[key];
      return typeof field === "number" && Number.isInteger(field) && field >= 0 ? field : base[key];
    };
    const time = (key: "opened_at" | "retry_at" | "probe_lease_until"): number | null => {
      const field = record[key];
      if (typeof field === "number" && Number.isFinite(field)) return field;
      if (typeof field === "string" && field !== "" && Number.isFinite(Date.parse(field))) {
        return Date.parse(field);
      }
      return null;
    };
    const snapshot: BreakerSnapshot = {
      state: stateName as BreakerState,
      failures: count("failures"),
      trips: count("trips"),
      probe_successes: count("probe_successes"),
      opened_at: time("opened_at"),
      retry_at: time("retry_at"),
      probe_lease_until: time("probe_lease_until"),
      held: record.held === true,
    };
    // An open breaker without a probe time and not held would stay open forever: probe at once.
    if (snapshot.state === BreakerState.Open && !snapshot.held && snapshot.retry_at === null) {
      snapshot.retry_at = snapshot.opened_at ?? 0;
    }
    return snapshot;
  };

  return { options, initial, advance, permit, report, reset, trip, cooldownMs, toJSON, fromJSON };
}
