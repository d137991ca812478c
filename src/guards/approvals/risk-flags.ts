/**
 * Risk flags (`safety.input.filter_prompts`): phrases such as `system:`, `sudo:` or `rm -rf`
 * found anywhere in the arguments — in every string value and every object key, and inside
 * strings that are themselves JSON (`{"payload": "{\"messages\": [...]}"}`), parsed up to
 * MAX_JSON_IN_STRING levels. A flag does not deny: it sends an otherwise auto-approved call to a
 * human, and the prompt shows where the phrase is.
 *
 * Matching is case-insensitive and forgiving of cheap disguises: both sides are NFKC-normalized
 * (fullwidth `ｒｍ` is `rm`), invisible format characters (zero-width space, soft hyphen) are
 * dropped and whitespace runs count as one space (`rm \t -rf` is `rm -rf`).
 */
import { MAX_ARGS_DEPTH } from "./normalize.ts";

export interface RiskFlag {
  /** The filter_prompts entry as configured. */
  pattern: string;
  /** Where it was found: `args.cmd`, `args["odd key"][2]`, `args.payload(json).messages[0].content`. */
  path: string;
  /** In a string value or in an object key. */
  where: "value" | "key";
}

/** Strings holding JSON are parsed this many levels deep; deeper ones are scanned as text. */
export const MAX_JSON_IN_STRING = 4;
/** A prompt lists at most this many flags; one is enough to need a human. */
export const MAX_FLAGS = 50;

export interface FlagScanner {
  scan(args: unknown): RiskFlag[];
}

function fold(text: string): string {
  return text
    .normalize("NFKC")
    .replace(/\p{Cf}+/gu, "")
    .replace(/\s+/g, " ")
    .toLowerCase();
}

function keyPath(parent: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/** A string that may hold JSON worth parsing: an object, an array or a quoted string. */
function parseEmbeddedJson(text: string): { ok: true; value: unknown } | { ok: false } {
  const trimmed = text.trim();
  const first = trimmed[0];
  const last = trimmed[trimmed.length - 1];
  const framed =
    (first === "{" && last === "}") || (first === "[" && last === "]") || (first === '"' && last === '"');
  if (!framed || trimmed.length < 2) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(trimmed) };
  } catch {
    return { ok: false };
  }
}

export function flagScanner(filterPrompts: readonly string[]): FlagScanner {
  const patterns = filterPrompts
    .map((pattern) => ({ pattern, folded: fold(pattern) }))
    .filter((p) => p.folded.trim() !== "");

  function scan(args: unknown): RiskFlag[] {
    const flags: RiskFlag[] = [];
    const seen = new Set<string>();
    const add = (pattern: string, path: string, where: RiskFlag["where"]) => {
      const id = `${where}\u0000${pattern}\u0000${path}`;
      if (flags.length >= MAX_FLAGS || seen.has(id)) return;
      seen.add(id);
      flags.push({ pattern, path, where });
    };
    const matching = (text: string) => {
      const folded = fold(text);
      return patterns.filter((p) => folded.includes(p.folded));
    };

    // Returns the patterns found at or below `value`, so a JSON string can tell whether its
    // parsed content explains every phrase its raw text holds.
    function walk(value: unknown, path: string, depth: number, jsonDepth: number): Set<string> {
      const found = new Set<string>();
      if (flags.length >= MAX_FLAGS) return found;
      if (typeof value === "string") {
        const direct = matching(value);
        const embedded = jsonDepth < MAX_JSON_IN_STRING ? parseEmbeddedJson(value) : { ok: false as const };
        if (embedded.ok && typeof embedded.value !== "string") {
          const inner = walk(embedded.value, `${path}(json)`, depth + 1, jsonDepth + 1);
          for (const p of inner) found.add(p);
          // A phrase visible only in the raw text (split by escapes or structure) still counts.
          for (const p of direct) {
            if (!inner.has(p.pattern)) add(p.pattern, path, "value");
            found.add(p.pattern);
          }
        } else if (embedded.ok) {
          // A JSON string literal: its escapes may spell a phrase (`\u0073udo:`).
          const decoded = embedded.value as string;
          for (const p of [...direct, ...matching(decoded)]) {
            add(p.pattern, path, "value");
            found.add(p.pattern);
          }
        } else {
          for (const p of direct) {
            add(p.pattern, path, "value");
            found.add(p.pattern);
          }
        }
        return found;
      }
      if (typeof value !== "object" || value === null || depth > MAX_ARGS_DEPTH) return found;
      if (Array.isArray(value)) {
        value.forEach((item, index) => {
          for (const p of walk(item, `${path}[${index}]`, depth + 1, jsonDepth)) found.add(p);
        });
        return found;
      }
      // Sorted, so the same arguments give the same flags in the same order whatever the key order.
      for (const key of Object.keys(value).sort()) {
        const childPath = keyPath(path, key);
        for (const p of matching(key)) {
          add(p.pattern, childPath, "key");
          found.add(p.pattern);
        }
        const child = (value as Record<string, unknown>)[key];
        for (const p of walk(child, childPath, depth + 1, jsonDepth)) found.add(p);
      }
      return found;
    }

    if (patterns.length > 0) walk(args, "args", 0, 0);
    return flags;
  }

  return { scan };
}
