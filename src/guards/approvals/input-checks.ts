/**
 * The report's `safety.input` checks on a tool call's arguments:
 * - `validate_json`: the arguments must be a JSON object (not an array, null, a string, ...);
 * - nesting deeper than MAX_ARGS_DEPTH is refused (always: it protects pitwall itself);
 * - `max_length`: at most this many tokens of the canonical JSON (see tokens.ts);
 * - `filter_prompts`: phrases that flag the call for a human (see risk-flags.ts).
 * The first three deny; flags never deny on their own.
 */
import type { Config } from "../../config/schema.ts";
import { ArgsTooDeepError, MAX_ARGS_DEPTH, normalizeArgs } from "./normalize.ts";
import { flagScanner, type RiskFlag } from "./risk-flags.ts";
import { countTokensUpTo } from "./tokens.ts";

export type InputSettings = Config["safety"]["input"];

export interface InputChecks {
  readonly maxTokens: number;
  readonly validateJson: boolean;
  check(args: unknown): InputCheckResult;
}

export type InputViolation =
  | { code: "not_object"; got: string }
  | { code: "too_deep"; limit: number }
  | { code: "not_json" }
  | { code: "too_long"; tokens: number; limit: number };

export type InputCheckResult =
  | {
      ok: true;
      /** Canonical JSON of the arguments (normalize.ts), reused for the grant hash. */
      canonical: string;
      tokens: number;
      flags: RiskFlag[];
    }
  | { ok: false; violation: InputViolation; reason: string };

/** `12345` -> `12 345` (thin grouping that reads the same in every language we ship). */
function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/** What a value is, in words, for the reason of a validate_json denial. */
export function describeJsonType(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return typeof value;
}

function isJsonObject(value: unknown): boolean {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function inputChecks(settings: InputSettings): InputChecks {
  const scanner = flagScanner(settings.filter_prompts);
  const maxTokens = settings.max_length;

  function check(args: unknown): InputCheckResult {
    if (settings.validate_json && !isJsonObject(args)) {
      const got = describeJsonType(args);
      return {
        ok: false,
        violation: { code: "not_object", got },
        reason: `arguments must be a JSON object like {"cmd": "ls"}, got ${got} (safety.input.validate_json)`,
      };
    }
    let canonical: string;
    try {
      canonical = normalizeArgs(args);
    } catch (error) {
      if (error instanceof TypeError) {
        // Only a caller in-process can pass such values (BigInt); HTTP bodies are JSON.
        return { ok: false, violation: { code: "not_json" }, reason: "arguments must be JSON values" };
      }
      if (!(error instanceof ArgsTooDeepError)) throw error;
      return {
        ok: false,
        violation: { code: "too_deep", limit: MAX_ARGS_DEPTH },
        reason: `arguments nest deeper than ${MAX_ARGS_DEPTH} levels of objects and arrays; send them flatter`,
      };
    }
    const counted = countTokensUpTo(canonical, maxTokens);
    if (counted.overLimit) {
      return {
        ok: false,
        violation: { code: "too_long", tokens: counted.count, limit: maxTokens },
        reason:
          `arguments are over the limit: more than ${formatCount(maxTokens)} tokens ` +
          `(counting stopped at ${formatCount(counted.count)}; safety.input.max_length is ` +
          `${formatCount(maxTokens)}); send less, or raise the limit`,
      };
    }
    return { ok: true, canonical, tokens: counted.count, flags: scanner.scan(args) };
  }

  return { maxTokens, validateJson: settings.validate_json, check };
}
