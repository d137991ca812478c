/**
 * Canonical form of tool arguments, the identity an "Always allow" grant is bound to.
 *
 * Canonical JSON: object keys sorted by UTF-16 code units at every level, no whitespace, numbers
 * and strings as `JSON.stringify` writes them — for JSON input this is RFC 8785 (JCS). Two
 * argument objects get the same text exactly when they hold the same values: key order does
 * not matter, and any change in any value does (so a grant never widens to other arguments).
 */
import { createHash } from "node:crypto";

/**
 * Deepest nesting of objects and arrays accepted. Real tool arguments nest a handful of levels;
 * the bound keeps every walk over untrusted arguments (here, the flag scan, redaction) far from
 * the call-stack limit, so hostile input is denied instead of crashing the request.
 */
export const MAX_ARGS_DEPTH = 64;

/** Thrown when arguments nest deeper than MAX_ARGS_DEPTH (or contain a cycle). */
export class ArgsTooDeepError extends Error {
  constructor() {
    super(`arguments nest deeper than ${MAX_ARGS_DEPTH} levels`);
    this.name = "ArgsTooDeepError";
  }
}

function write(value: unknown, depth: number): string | undefined {
  if (value === null) return "null";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      // JSON has no NaN/Infinity; JSON.stringify writes null for them, and so do we.
      return Number.isFinite(value) ? JSON.stringify(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      throw new TypeError("arguments must be JSON: a BigInt has no JSON form");
    case "object":
      break;
    default:
      // undefined, functions and symbols have no JSON form: dropped from objects, null in arrays.
      return undefined;
  }
  if (depth >= MAX_ARGS_DEPTH) throw new ArgsTooDeepError();
  const withJson = value as { toJSON?: unknown };
  if (typeof withJson.toJSON === "function") return write((withJson.toJSON as () => unknown)(), depth + 1);
  if (Array.isArray(value)) {
    return `[${value.map((item) => write(item, depth + 1) ?? "null").join(",")}]`;
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  // Default sort compares UTF-16 code units, as JCS requires.
  for (const key of Object.keys(record).sort()) {
    const text = write(record[key], depth + 1);
    if (text !== undefined) parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(",")}}`;
}

/**
 * The canonical JSON text of `args`. Throws ArgsTooDeepError past MAX_ARGS_DEPTH levels and a
 * TypeError for values JSON cannot hold (BigInt); input parsed from JSON never throws otherwise.
 */
export function normalizeArgs(args: unknown): string {
  return write(args, 0) ?? "null";
}

/** sha256 (hex) of an already canonical JSON text. */
export function hashCanonical(canonical: string): string {
  return createHash("sha256").update(canonical, "utf8").digest("hex");
}

/** sha256 (hex) of the canonical JSON of `args`: what an "Always allow" grant stores and matches. */
export function argsHash(args: unknown): string {
  return hashCanonical(normalizeArgs(args));
}
