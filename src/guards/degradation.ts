/**
 * Degradation mode (DESIGN.md, "Modes"): DEGRADED when one trigger holds (p99 > 5 s,
 * errors > 5 %, free memory < 256 MB), MINIMAL when two or more hold, FULL when none has held
 * for `recovery` (5 minutes). MAINTENANCE only when an admin pins it; a pin wins over everything.
 *
 * Hysteresis: getting worse is immediate; getting better waits. MINIMAL steps back to DEGRADED
 * once at most one trigger has held for `recovery`, and to FULL directly once none has. While a
 * mode is pinned the automatic mode is still tracked, so unpinning lands on the right one at once.
 *
 * Pure: the state is plain data (JSON as it is), the time an argument (epoch milliseconds).
 */
import type { Config, Mode } from "../config/schema.ts";
import type { Comparison, ComparisonUnit } from "../config/units.ts";

export type AutoMode = Exclude<Mode, "MAINTENANCE">;
export type DegradationTriggers = Config["degradation"]["triggers"];
export type TriggerName = keyof DegradationTriggers;

export interface ModePin {
  mode: Mode;
  reason: string;
  by: string | null;
  at: number;
}

export interface ModeState {
  /** The mode in effect: the pin's, else the automatic one. */
  mode: Mode;
  /** What the triggers say, with hysteresis; kept while pinned. */
  auto: AutoMode;
  pin: ModePin | null;
  /** When `mode` began. */
  since: number;
  /** Since when no trigger has held (null while one holds). */
  calm_since: number | null;
  /** Since when at most one trigger has held (null while two or more hold). */
  eased_since: number | null;
}

export interface Measurements {
  /** p99 latency over the recent window, ms. */
  p99_ms?: number | null;
  /** Failed / all requests over the recent window, 0..1. */
  error_ratio?: number | null;
  free_memory_bytes?: number | null;
  /** Needed only for memory triggers given as a percentage. */
  total_memory_bytes?: number | null;
}

export interface ModeOptions {
  /** How long things must stay better before the mode improves. Default 5 min. */
  recovery_ms?: number;
  /** `degradation.modes`: modes in use. A mode left out is replaced by its nearest worse one
   * in use, else its nearest better one (FULL is always in use). Default: all. */
  modes?: readonly Mode[];
}

export interface TriggerHit {
  trigger: TriggerName;
  /** "p99 6.2 s > 5 s". */
  text: string;
}

export interface ModeEvaluation {
  state: ModeState;
  mode: Mode;
  previous: Mode;
  changed: boolean;
  /** For people, most important first: the pin, the triggers holding, a pending recovery. */
  reasons: string[];
  holding: TriggerName[];
}

const AUTO_ORDER: readonly AutoMode[] = ["FULL", "DEGRADED", "MINIMAL"];
const DEFAULT_RECOVERY_MS = 5 * 60_000;
const EPSILON = 1e-9;

/** Whether `value` satisfies a config comparison (`> 5s p99` -> value > 5000). */
export function evaluateComparison(comparison: Pick<Comparison, "op" | "value">, value: number): boolean {
  switch (comparison.op) {
    case ">":
      return value > comparison.value;
    case ">=":
      return value >= comparison.value;
    case "<":
      return value < comparison.value;
    case "<=":
      return value <= comparison.value;
    case "=":
      return Math.abs(value - comparison.value) <= EPSILON * Math.max(1, Math.abs(comparison.value));
  }
}

function trimmed(value: number, decimals = 1): string {
  return String(Number(value.toFixed(decimals)));
}

/** A value in a comparison's unit, for people: "6.2 s", "7.5 %", "180 MB". */
export function formatQuantity(value: number, unit: ComparisonUnit): string {
  switch (unit) {
    case "ms":
      if (Math.abs(value) < 1_000) return `${Math.round(value)} ms`;
      if (Math.abs(value) < 60_000) return `${trimmed(value / 1_000)} s`;
      return `${trimmed(value / 60_000)} min`;
    case "ratio":
      return `${trimmed(value * 100)} %`;
    case "bytes": {
      const units = ["B", "KB", "MB", "GB", "TB"];
      let scaled = value;
      let index = 0;
      while (Math.abs(scaled) >= 1024 && index < units.length - 1) {
        scaled /= 1024;
        index++;
      }
      return `${trimmed(scaled)} ${units[index]}`;
    }
    case "number":
      return trimmed(value, 2);
  }
}

const OP_TEXT: Readonly<Record<Comparison["op"], string>> = {
  ">": ">",
  ">=": "≥",
  "<": "<",
  "<=": "≤",
  "=": "=",
};

/** "p99 6.2 s > 5 s". */
export function describeComparison(
  label: string,
  value: number,
  comparison: Pick<Comparison, "op" | "value" | "unit">,
): string {
  return `${label} ${formatQuantity(value, comparison.unit)} ${OP_TEXT[comparison.op]} ${formatQuantity(comparison.value, comparison.unit)}`;
}

function known(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/**
 * The triggers that hold. A measurement that is missing holds nothing. A memory trigger with
 * `<` reads free memory (`< 256MB memory`); with `>` it reads used memory (`> 90% memory`).
 */
export function triggersHolding(measurements: Measurements, triggers: DegradationTriggers): TriggerHit[] {
  const hits: TriggerHit[] = [];
  const check = (trigger: TriggerName, label: string, value: number | null, comparison: Comparison) => {
    if (value !== null && evaluateComparison(comparison, value)) {
      hits.push({ trigger, text: describeComparison(label, value, comparison) });
    }
  };
  if (triggers.latency && known(measurements.p99_ms)) {
    check("latency", "p99", measurements.p99_ms, triggers.latency);
  }
  if (triggers.error_rate && known(measurements.error_ratio)) {
    check("error_rate", "errors", measurements.error_ratio, triggers.error_rate);
  }
  const memory = triggers.memory;
  if (memory && known(measurements.free_memory_bytes)) {
    const free = measurements.free_memory_bytes;
    const total = known(measurements.total_memory_bytes) ? measurements.total_memory_bytes : null;
    const used = memory.op === ">" || memory.op === ">=";
    if (memory.unit === "ratio") {
      if (total !== null && total > 0) {
        const freeRatio = free / total;
        check("memory", used ? "memory used" : "free memory", used ? 1 - freeRatio : freeRatio, memory);
      }
    } else {
      const value = used ? (total === null ? null : total - free) : free;
      check("memory", used ? "memory used" : "free memory", value, memory);
    }
  }
  return hits;
}

function rank(mode: AutoMode): number {
  return AUTO_ORDER.indexOf(mode);
}

/** The automatic mode to use for `mode` when `degradation.modes` leaves some out. */
function inUse(mode: AutoMode, modes: readonly Mode[] | undefined): AutoMode {
  if (!modes || mode === "FULL" || modes.includes(mode)) return mode;
  for (let i = rank(mode) + 1; i < AUTO_ORDER.length; i++) {
    const worse = AUTO_ORDER[i]!;
    if (modes.includes(worse)) return worse;
  }
  for (let i = rank(mode) - 1; i > 0; i--) {
    const better = AUTO_ORDER[i]!;
    if (modes.includes(better)) return better;
  }
  return "FULL";
}

function span(ms: number): string {
  if (ms < 60_000) return `${Math.floor(ms / 1_000)} s`;
  return `${Math.floor(ms / 60_000)} min`;
}

export function initialModeState(now: number): ModeState {
  return { mode: "FULL", auto: "FULL", pin: null, since: now, calm_since: now, eased_since: now };
}

function effective(state: Omit<ModeState, "mode" | "since">, previous: ModeState, now: number): ModeState {
  const mode = state.pin ? state.pin.mode : state.auto;
  return { ...state, mode, since: mode === previous.mode ? previous.since : now };
}

/** One evaluation of the measurements (the services run it every few seconds and on reports). */
export function evaluateMode(
  state: ModeState,
  measurements: Measurements,
  triggers: DegradationTriggers,
  now: number,
  options: ModeOptions = {},
): ModeEvaluation {
  const recovery = options.recovery_ms ?? DEFAULT_RECOVERY_MS;
  const hits = triggersHolding(measurements, triggers);
  const count = hits.length;
  const calmSince = count === 0 ? (state.calm_since ?? now) : null;
  const easedSince = count <= 1 ? (state.eased_since ?? now) : null;
  const raw: AutoMode = count === 0 ? "FULL" : count === 1 ? "DEGRADED" : "MINIMAL";
  const target = inUse(raw, options.modes);

  let auto = inUse(state.auto, options.modes);
  let pending: string | null = null;
  if (rank(target) > rank(auto)) {
    auto = target;
  } else if (rank(target) < rank(auto)) {
    if (calmSince !== null && now - calmSince >= recovery) auto = "FULL";
    else if (auto === "MINIMAL" && easedSince !== null && now - easedSince >= recovery) {
      auto = inUse("DEGRADED", options.modes);
    }
    if (rank(target) < rank(auto)) {
      const since = count === 0 ? calmSince : easedSince;
      const next = count === 0 ? "FULL" : inUse("DEGRADED", options.modes);
      const what = count === 0 ? "no trigger" : "at most one trigger";
      if (since !== null) {
        pending = `recovering: ${what} for ${span(now - since)}; ${next} after ${span(recovery)}`;
      }
    }
  }

  const next = effective(
    { auto, pin: state.pin, calm_since: calmSince, eased_since: easedSince },
    state,
    now,
  );
  const reasons: string[] = [];
  if (next.pin) reasons.push(pinText(next.pin));
  reasons.push(...hits.map((hit) => hit.text));
  if (pending && !next.pin) reasons.push(pending);
  return {
    state: next,
    mode: next.mode,
    previous: state.mode,
    changed: next.mode !== state.mode,
    reasons,
    holding: hits.map((hit) => hit.trigger),
  };
}

function pinText(pin: ModePin): string {
  const who = pin.by ?? "an admin";
  return pin.reason.trim() === "" ? `pinned by ${who}` : `pinned by ${who}: ${pin.reason.trim()}`;
}

export interface PinResult {
  state: ModeState;
  mode: Mode;
  previous: Mode;
  changed: boolean;
}

/** Admin: hold `mode` (MAINTENANCE, or any other) until unpinned. The reason is shown and audited. */
export function pinMode(
  state: ModeState,
  pin: { mode: Mode; reason: string; by?: string | null },
  now: number,
): PinResult {
  const next = effective(
    {
      auto: state.auto,
      pin: { mode: pin.mode, reason: pin.reason, by: pin.by ?? null, at: now },
      calm_since: state.calm_since,
      eased_since: state.eased_since,
    },
    state,
    now,
  );
  return { state: next, mode: next.mode, previous: state.mode, changed: next.mode !== state.mode };
}

/** Admin: back to the automatic mode, which was tracked all along. */
export function unpinMode(state: ModeState, now: number): PinResult {
  const next = effective(
    { auto: state.auto, pin: null, calm_since: state.calm_since, eased_since: state.eased_since },
    state,
    now,
  );
  return { state: next, mode: next.mode, previous: state.mode, changed: next.mode !== state.mode };
}
