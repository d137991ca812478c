/**
 * Readers for the human forms the report prints (`3-5 consecutive failures`, `15-60 minutes`,
 * `100 requests/hour`, `> 5s p99`, ...). Each parser throws a UnitError whose message says what
 * was expected; the matching `z...` schema turns that into a zod issue at the field's path.
 *
 * Messages never repeat the value they were given: it may have come from `${ENV}`, and secrets
 * must not reach logs or chats.
 */
import { z } from "zod";

export class UnitError extends Error {
  override name = "UnitError";
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  msec: 1,
  msecs: 1,
  millisecond: 1,
  milliseconds: 1,
  s: SECOND,
  sec: SECOND,
  secs: SECOND,
  second: SECOND,
  seconds: SECOND,
  m: MINUTE,
  min: MINUTE,
  mins: MINUTE,
  minute: MINUTE,
  minutes: MINUTE,
  h: HOUR,
  hr: HOUR,
  hrs: HOUR,
  hour: HOUR,
  hours: HOUR,
  d: DAY,
  day: DAY,
  days: DAY,
  w: WEEK,
  wk: WEEK,
  week: WEEK,
  weeks: WEEK,
};

/** Milliseconds helpers for defaults written in code. */
export const ms = {
  seconds: (n: number) => n * SECOND,
  minutes: (n: number) => n * MINUTE,
  hours: (n: number) => n * HOUR,
  days: (n: number) => n * DAY,
};

const DURATION_HINT = "expected a duration like 15m";
const NUMBER = String.raw`\d+(?:\.\d+)?`;

function isDurationUnit(unit: string): boolean {
  // A lone capital K/M/G/T is a size (256M), not minutes.
  if (/^[KMGT]$/.test(unit)) return false;
  return unit.toLowerCase() in DURATION_UNITS;
}

function isByteUnit(unit: string): boolean {
  return /^([kmgt]i?b|b)$/i.test(unit) || /^[KMGT]$/.test(unit);
}

/**
 * `30s`, `15m`, `1h`, `7d`, `1 hour`, `24 hours`, `every 5 minutes`, `1h30m`, `1.5h` -> milliseconds.
 * A bare number is refused (30 what?), except 0.
 */
export function parseDuration(input: unknown): number {
  if (typeof input === "number") {
    if (input === 0) return 0;
    throw new UnitError(`${DURATION_HINT} (a bare number needs a unit: 30s, 5m, 1h)`);
  }
  if (typeof input !== "string") throw new UnitError(DURATION_HINT);
  let text = input.trim().toLowerCase();
  text = text.replace(/^every\s+/, "");
  if (text === "0") return 0;
  if (/^\d+(\.\d+)?$/.test(text)) {
    throw new UnitError(`${DURATION_HINT} (a bare number needs a unit: 30s, 5m, 1h)`);
  }
  const part = new RegExp(String.raw`\s*(${NUMBER})\s*([a-z]+)\s*(?:and\s+|,\s*)?`, "y");
  let total = 0;
  let consumed = 0;
  let parts = 0;
  while (consumed < text.length) {
    part.lastIndex = consumed;
    const match = part.exec(text);
    if (!match) throw new UnitError(DURATION_HINT);
    const unit = DURATION_UNITS[match[2]!];
    if (unit === undefined) throw new UnitError(DURATION_HINT);
    total += Number(match[1]) * unit;
    consumed = part.lastIndex;
    parts++;
  }
  if (parts === 0) throw new UnitError(DURATION_HINT);
  return Math.round(total);
}

export interface DurationRange {
  initialMs: number;
  maxMs: number;
}

const RANGE_HINT = "expected a duration or a range like 15-60 minutes";
const RANGE_SEPARATOR = /^(.+?)\s*(?:-|–|—|\.\.|\bto\b)\s*(.+)$/;

/** `15-60 minutes` -> {initialMs: 15 min, maxMs: 60 min}; a single duration gives both. */
export function parseDurationRange(input: unknown): DurationRange {
  if (typeof input === "string") {
    const match = RANGE_SEPARATOR.exec(input.trim().toLowerCase());
    if (match) {
      let low = match[1]!;
      const high = match[2]!;
      // `15-60 minutes`: the unit written once belongs to both bounds.
      if (/^\d+(\.\d+)?$/.test(low)) {
        const unit = new RegExp(String.raw`^${NUMBER}\s*([a-z]+)$`).exec(high);
        if (!unit) throw new UnitError(RANGE_HINT);
        low = `${low} ${unit[1]}`;
      }
      let initialMs: number;
      let maxMs: number;
      try {
        initialMs = parseDuration(low);
        maxMs = parseDuration(high);
      } catch {
        throw new UnitError(RANGE_HINT);
      }
      if (maxMs < initialMs) throw new UnitError("the upper bound of the range is below the lower bound");
      return { initialMs, maxMs };
    }
  }
  try {
    const single = parseDuration(input);
    return { initialMs: single, maxMs: single };
  } catch {
    throw new UnitError(RANGE_HINT);
  }
}

const COUNT_HINT = "expected a count like 3 or 100000 tokens";
const COUNT_NUMBER = String.raw`(\d{1,3}(?:,\d{3})+|\d[\d_]*)(\.\d+)?([km])?`;
const COUNT_PATTERN = new RegExp(
  String.raw`^${COUNT_NUMBER}(?:\s*(?:-|–|\bto\b)\s*${COUNT_NUMBER})?(?:\s+[a-z][a-z _/-]*)?$`,
);

function countValue(digits: string, fraction: string | undefined, suffix: string | undefined): number {
  const base = Number(digits.replace(/[,_]/g, "") + (fraction ?? ""));
  const multiplier = suffix === "k" ? 1_000 : suffix === "m" ? 1_000_000 : 1;
  return Math.round(base * multiplier * 1e6) / 1e6;
}

/**
 * `3` -> 3, `100000 tokens` -> 100000, `100k tokens` -> 100000, `1,000,000` -> 1000000,
 * `3-5 consecutive failures` -> 3 (a range reads as its lower bound).
 */
export function parseCount(input: unknown): number {
  let value: number;
  if (typeof input === "number") {
    value = input;
  } else if (typeof input === "string") {
    const match = COUNT_PATTERN.exec(input.trim().toLowerCase());
    if (!match) throw new UnitError(COUNT_HINT);
    value = countValue(match[1]!, match[2], match[3]);
    if (match[4] !== undefined) {
      const upper = countValue(match[4], match[5], match[6]);
      if (upper < value) throw new UnitError("the upper bound of the range is below the lower bound");
    }
  } else {
    throw new UnitError(COUNT_HINT);
  }
  if (!Number.isInteger(value) || value < 0) throw new UnitError(`${COUNT_HINT} (a whole number, 0 or more)`);
  return value;
}

const RATIO_HINT = "expected a ratio like 80% or 0.8";

/** `80%` -> 0.8, `0.8` -> 0.8; 0 to 1 inclusive. */
export function parseRatio(input: unknown): number {
  let value: number;
  if (typeof input === "number") {
    value = input;
  } else if (typeof input === "string") {
    const text = input.trim();
    const percent = new RegExp(String.raw`^(${NUMBER})\s*%$`).exec(text);
    if (percent) value = Math.round(Number(percent[1]) * 1e6) / 1e8;
    else if (new RegExp(`^${NUMBER}$`).test(text)) value = Number(text);
    else throw new UnitError(RATIO_HINT);
  } else {
    throw new UnitError(RATIO_HINT);
  }
  if (!Number.isFinite(value) || value < 0) throw new UnitError(RATIO_HINT);
  if (value > 1) throw new UnitError(`${RATIO_HINT} (at most 100%; for 80 percent write 80%)`);
  return value;
}

const BYTES_HINT = "expected a size like 256MB";
const BYTE_POWERS: Record<string, number> = { b: 0, k: 1, m: 2, g: 3, t: 4 };

/** `256MB`, `1.5 GB`, `512MiB`, `64K`, `1024` -> bytes. K/M/G/T are powers of 1024 either way. */
export function parseBytes(input: unknown): number {
  let value: number;
  if (typeof input === "number") {
    value = input;
  } else if (typeof input === "string") {
    const match = new RegExp(String.raw`^(${NUMBER})\s*([a-z]*)$`, "i").exec(input.trim());
    if (!match) throw new UnitError(BYTES_HINT);
    const unit = match[2]!;
    let power = 0;
    if (unit !== "") {
      if (!isByteUnit(unit)) throw new UnitError(BYTES_HINT);
      power = BYTE_POWERS[unit[0]!.toLowerCase()] ?? 0;
    }
    value = Math.round(Number(match[1]) * 1024 ** power);
  } else {
    throw new UnitError(BYTES_HINT);
  }
  if (!Number.isInteger(value) || value < 0) throw new UnitError(BYTES_HINT);
  return value;
}

export interface Rate {
  count: number;
  /** The window the count is allowed in, in milliseconds. */
  per_ms: number;
}

const RATE_HINT = "expected a rate like 100 requests/hour or 10/minute";

/** `100 requests/hour`, `10/minute`, `100 per hour`, `5/30s` -> {count, per_ms}. */
export function parseRate(input: unknown): Rate {
  if (typeof input !== "string") throw new UnitError(RATE_HINT);
  const match = /^(\d[\d,_]*)\s*(?:[a-z][a-z _-]*?)?\s*(?:\/|\bper\b)\s*(.+)$/.exec(
    input.trim().toLowerCase(),
  );
  if (!match) throw new UnitError(RATE_HINT);
  const count = Number(match[1]!.replace(/[,_]/g, ""));
  const window = match[2]!.trim();
  let perMs: number;
  try {
    perMs = /^[a-z]+$/.test(window) ? parseDuration(`1 ${window}`) : parseDuration(window);
  } catch {
    throw new UnitError(RATE_HINT);
  }
  if (!Number.isInteger(count) || count <= 0 || perMs <= 0) throw new UnitError(RATE_HINT);
  return { count, per_ms: perMs };
}

export type ComparisonOp = ">" | ">=" | "<" | "<=" | "=";
/** What `value` is measured in: ms for durations, 0..1 for percentages, bytes for sizes. */
export type ComparisonUnit = "ms" | "ratio" | "bytes" | "number";

export interface Comparison {
  op: ComparisonOp;
  value: number;
  unit: ComparisonUnit;
  /** The words after (or before) the value: `p99`, `errors`, `memory`; null when none. */
  metric: string | null;
}

const COMPARISON_HINT = 'expected a comparison like "> 5s p99"';
const OPS: Record<string, ComparisonOp> = {
  ">": ">",
  ">=": ">=",
  "≥": ">=",
  "<": "<",
  "<=": "<=",
  "≤": "<=",
  "=": "=",
  "==": "=",
};
const OP_PATTERN = ">=|<=|==|≥|≤|>|<|=";

function comparisonValue(number: string, unit: string): { value: number; unit: ComparisonUnit } | null {
  if (unit === "") return { value: Number(number), unit: "number" };
  if (unit === "%") return { value: parseRatio(`${number}%`), unit: "ratio" };
  if (isDurationUnit(unit)) return { value: parseDuration(`${number}${unit.toLowerCase()}`), unit: "ms" };
  if (isByteUnit(unit)) return { value: parseBytes(`${number}${unit}`), unit: "bytes" };
  return null;
}

/**
 * `> 5s p99` -> {op ">", value 5000, unit "ms", metric "p99"}; `> 5% errors` -> ratio 0.05;
 * `< 256MB memory` -> bytes; `p99 > 5s` (metric first) reads the same.
 */
export function parseComparison(input: unknown): Comparison {
  if (typeof input !== "string") throw new UnitError(COMPARISON_HINT);
  const text = input.trim().replace(/\s+/g, " ");
  const valueFirst = new RegExp(
    String.raw`^(${OP_PATTERN})\s*(${NUMBER})\s*(%|[a-z]+)?(?:\s+(.+))?$`,
    "i",
  ).exec(text);
  const metricFirst = new RegExp(
    String.raw`^([a-z_][\w .-]*?)\s*(${OP_PATTERN})\s*(${NUMBER})\s*(%|[a-z]+)?$`,
    "i",
  ).exec(text);
  let op: string;
  let number: string;
  let unit: string;
  let metric: string | null;
  if (valueFirst) {
    op = valueFirst[1]!;
    number = valueFirst[2]!;
    unit = valueFirst[3] ?? "";
    metric = valueFirst[4] ?? null;
  } else if (metricFirst) {
    metric = metricFirst[1]!;
    op = metricFirst[2]!;
    number = metricFirst[3]!;
    unit = metricFirst[4] ?? "";
  } else {
    throw new UnitError(COMPARISON_HINT);
  }
  let measured = comparisonValue(number, unit);
  if (!measured) {
    // `> 5 errors`: the word after the number is the metric, not a unit.
    if (!valueFirst) throw new UnitError(COMPARISON_HINT);
    measured = { value: Number(number), unit: "number" };
    metric = [unit, metric].filter(Boolean).join(" ");
  }
  return { op: OPS[op]!, value: measured.value, unit: measured.unit, metric: metric?.trim() || null };
}

/** `switch_provider or alert` -> ["switch_provider", "alert"]; also `a, b`, `a then b`, `a -> b`, a list. */
export function parseActionChain<A extends string>(input: unknown, allowed?: readonly A[]): A[] {
  const hint = allowed
    ? `expected one of ${allowed.join(", ")}, or a fallback chain like "${allowed[1] ?? allowed[0]} or ${allowed[0]}"`
    : 'expected an action or a fallback chain like "switch_provider or alert"';
  let steps: unknown[];
  if (typeof input === "string") steps = input.trim().split(/\s+or\s+|\s*,\s*|\s*->\s*|\s+then\s+|\s*\|\s*/i);
  else if (Array.isArray(input)) steps = input;
  else throw new UnitError(hint);
  const chain: A[] = [];
  for (const step of steps) {
    if (typeof step !== "string") throw new UnitError(hint);
    const name = step.trim().toLowerCase();
    if (name === "") throw new UnitError(hint);
    if (allowed && !(allowed as readonly string[]).includes(name)) throw new UnitError(hint);
    if (!chain.includes(name as A)) chain.push(name as A);
  }
  if (chain.length === 0) throw new UnitError(hint);
  return chain;
}

export interface BudgetLimit {
  amount: number;
  unit: "tokens" | "usd";
}

const LIMIT_HINT = "expected a limit like 100000 tokens or $50";

/** `100000 tokens`, `3M tokens`, `100000` -> tokens; `$50`, `50 USD`, `50 dollars` -> usd. */
export function parseBudgetLimit(input: unknown): BudgetLimit {
  if (typeof input === "string") {
    const text = input.trim().toLowerCase();
    const money =
      new RegExp(String.raw`^\$\s*(${NUMBER})$`).exec(text) ??
      new RegExp(String.raw`^(${NUMBER})\s*(?:usd|dollars?|\$)$`).exec(text) ??
      new RegExp(String.raw`^usd\s*(${NUMBER})$`).exec(text);
    if (money) {
      const amount = Number(money[1]);
      if (amount <= 0) throw new UnitError(`${LIMIT_HINT} (more than 0)`);
      return { amount, unit: "usd" };
    }
    if (!/^[\d,_.]+\s*[km]?(\s*tokens?)?$/.test(text)) throw new UnitError(LIMIT_HINT);
  }
  let amount: number;
  try {
    amount = parseCount(input);
  } catch {
    throw new UnitError(LIMIT_HINT);
  }
  if (amount <= 0) throw new UnitError(`${LIMIT_HINT} (more than 0)`);
  return { amount, unit: "tokens" };
}

/** A price or cost in USD: `0.03`, `$0.03`. */
export function parseMoney(input: unknown): number {
  const hint = "expected an amount in USD like 0.03 or $0.03";
  let value: number;
  if (typeof input === "number") value = input;
  else if (typeof input === "string") {
    const match = new RegExp(String.raw`^\$?\s*(${NUMBER})\s*(?:usd)?$`, "i").exec(input.trim());
    if (!match) throw new UnitError(hint);
    value = Number(match[1]);
  } else throw new UnitError(hint);
  if (!Number.isFinite(value) || value < 0) throw new UnitError(hint);
  return value;
}

const CRON_FIELDS: Array<{ name: string; min: number; max: number; names?: string[] }> = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day of month", min: 1, max: 31 },
  {
    name: "month",
    min: 1,
    max: 12,
    names: ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
  },
  { name: "day of week", min: 0, max: 7, names: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] },
];

function cronFieldValid(field: string, spec: { min: number; max: number; names?: string[] }): boolean {
  const atom = (text: string): boolean => {
    if (/^\d+$/.test(text)) {
      const n = Number(text);
      return n >= spec.min && n <= spec.max;
    }
    const index = spec.names?.indexOf(text.toLowerCase()) ?? -1;
    return index >= 0;
  };
  return field.split(",").every((item) => {
    const [range, step, extra] = item.split("/");
    if (extra !== undefined || range === undefined) return false;
    if (step !== undefined && !(/^\d+$/.test(step) && Number(step) > 0)) return false;
    if (range === "*") return true;
    const bounds = range.split("-");
    if (bounds.length > 2) return false;
    return bounds.every(atom);
  });
}

/** Checks a 5-field (or 6-field, seconds first) cron expression as node-cron reads it. */
export function parseCron(input: unknown): string {
  const hint = 'expected a cron schedule of 5 fields (minute hour day month weekday) like "0 9 * * *"';
  if (typeof input !== "string") throw new UnitError(hint);
  const fields = input.trim().split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) throw new UnitError(hint);
  const specs = fields.length === 6 ? [{ name: "second", min: 0, max: 59 }, ...CRON_FIELDS] : CRON_FIELDS;
  for (const [i, field] of fields.entries()) {
    const spec = specs[i]!;
    if (!cronFieldValid(field, spec)) throw new UnitError(`${hint}; the ${spec.name} field is not valid`);
  }
  return fields.join(" ");
}

/** An IANA time zone Intl knows (`UTC`, `Europe/Berlin`). */
export function parseTimeZone(input: unknown): string {
  const hint = "expected a time zone like UTC or Europe/Berlin";
  if (typeof input !== "string" || input.trim() === "") throw new UnitError(hint);
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: input.trim() }).resolvedOptions().timeZone;
  } catch {
    throw new UnitError(hint);
  }
}

/** `23:00`, `7:00` -> "07:00". */
export function parseClockTime(input: unknown): string {
  const hint = 'expected a time of day like "23:00"';
  if (typeof input !== "string") throw new UnitError(hint);
  const match = /^(\d{1,2}):(\d{2})$/.exec(input.trim());
  if (!match) throw new UnitError(hint);
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (hours > 23 || minutes > 59) throw new UnitError(hint);
  return `${String(hours).padStart(2, "0")}:${match[2]}`;
}

// ---- zod forms -------------------------------------------------------------------------------

/**
 * Wraps a parser as a zod schema: any input goes to the parser; its UnitError becomes an issue
 * at the field's path. A missing value is "required" (wrap in .optional()/.prefault() otherwise).
 */
export function unitSchema<T>(parse: (input: unknown) => T, what: string) {
  return z.unknown().transform((input, ctx): T => {
    if (input === undefined) {
      ctx.addIssue({ code: "custom", message: `required: ${what}` });
      return z.NEVER;
    }
    try {
      return parse(input);
    } catch (error) {
      if (!(error instanceof UnitError)) throw error;
      ctx.addIssue({ code: "custom", message: error.message });
      return z.NEVER;
    }
  });
}

export const zDuration = unitSchema(parseDuration, "a duration like 15m");
export const zDurationRange = unitSchema((input: unknown): DurationRange => {
  if (input && typeof input === "object" && !Array.isArray(input)) {
    const { initial, max, ...rest } = input as Record<string, unknown>;
    if (Object.keys(rest).length > 0 || initial === undefined || max === undefined)
      throw new UnitError(RANGE_HINT);
    const range = { initialMs: parseDuration(initial), maxMs: parseDuration(max) };
    if (range.maxMs < range.initialMs) throw new UnitError("max is below initial");
    return range;
  }
  return parseDurationRange(input);
}, "a range like 15-60 minutes");
export const zCount = unitSchema(parseCount, "a count like 3");
export const zRatio = unitSchema(parseRatio, "a ratio like 80%");
export const zBytes = unitSchema(parseBytes, "a size like 256MB");
export const zRate = unitSchema((input: unknown): Rate => {
  if (input && typeof input === "object" && !Array.isArray(input)) {
    const { count, per, ...rest } = input as Record<string, unknown>;
    if (Object.keys(rest).length > 0) throw new UnitError(RATE_HINT);
    const parsedCount = parseCount(count);
    const perMs =
      typeof per === "string" && /^[a-z]+$/i.test(per.trim())
        ? parseDuration(`1 ${per}`)
        : parseDuration(per);
    if (parsedCount <= 0 || perMs <= 0) throw new UnitError(RATE_HINT);
    return { count: parsedCount, per_ms: perMs };
  }
  return parseRate(input);
}, "a rate like 100 requests/hour");
export const zComparison = unitSchema(parseComparison, 'a comparison like "> 5s p99"');
export const zBudgetLimit = unitSchema(parseBudgetLimit, "a limit like 100000 tokens or $50");
export const zMoney = unitSchema(parseMoney, "an amount in USD like 0.03");
export const zCron = unitSchema(parseCron, 'a cron schedule like "0 9 * * *"');
export const zTimeZone = unitSchema(parseTimeZone, "a time zone like UTC");
export const zClockTime = unitSchema(parseClockTime, 'a time of day like "23:00"');
export const zActionChain = <A extends string>(allowed: readonly A[]) =>
  unitSchema((input) => parseActionChain(input, allowed), `one of ${allowed.join(", ")}`);
