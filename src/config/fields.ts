/**
 * Small field schemas shared by the sections of pitwall.yaml. Values reach them as YAML gave them
 * or, after `${ENV}` interpolation, as text; so numbers and booleans are also read from text.
 */
import { z } from "zod";
import { UnitError, unitSchema } from "./units.ts";

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const nullToEmptyMap = (value: unknown) => (value === null ? {} : value);

/** A section (map) whose YAML value may be empty (`retry:` with every line commented out). */
export function section<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.preprocess(nullToEmptyMap, z.strictObject(shape)).prefault({});
}

/** Like section(), for a schema that already has its own refinements. */
export function sectionOf<S extends z.ZodType>(schema: S) {
  return z.preprocess(nullToEmptyMap, schema).prefault({});
}

/**
 * The report writes some maps as lists of one-key maps (`- max_length: 10000 tokens`); those read
 * as the plain map. A key given twice is an error at the second place.
 */
export function mergeListOfMaps(value: unknown, ctx: z.core.$RefinementCtx): unknown {
  if (value === null) return {};
  if (!Array.isArray(value)) return value;
  const merged: Record<string, unknown> = {};
  const seenAt = new Map<string, number>();
  value.forEach((item, index) => {
    if (!isPlainObject(item)) {
      ctx.addIssue({
        code: "custom",
        message: "expected key: value items, like - max_length: 10000 tokens",
        path: [index],
      });
      return;
    }
    for (const [key, entry] of Object.entries(item)) {
      const earlier = seenAt.get(key);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `given twice (also in item ${earlier})`,
          path: [index, key],
        });
        continue;
      }
      seenAt.set(key, index);
      merged[key] = entry;
    }
  });
  return merged;
}

/** A map that may also be written as a list of one-key maps. */
export function mapOrListOfMaps<S extends z.ZodType>(schema: S) {
  return z.preprocess(mergeListOfMaps, schema);
}

export function zEnum<const T extends readonly string[]>(values: T, aliases: Record<string, T[number]> = {}) {
  const hint = `expected one of ${values.join(", ")}`;
  return unitSchema(
    (input): T[number] => {
      if (typeof input === "string") {
        const wanted = input.trim().toLowerCase();
        const found = values.find((value) => value.toLowerCase() === wanted) ?? aliases[wanted];
        if (found !== undefined) return found;
      }
      throw new UnitError(hint);
    },
    `one of ${values.join(", ")}`,
  );
}

export function zInt(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
  return unitSchema((input): number => {
    const value =
      typeof input === "number"
        ? input
        : typeof input === "string" && /^-?\d+$/.test(input.trim())
          ? Number(input.trim())
          : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      throw new UnitError(`expected a whole number ${range}`);
    }
    return value;
  }, `a whole number ${range}`);
}

export function zNumber(min: number, max: number = Number.POSITIVE_INFINITY) {
  const range = max === Number.POSITIVE_INFINITY ? `of at least ${min}` : `from ${min} to ${max}`;
  return unitSchema((input): number => {
    const value =
      typeof input === "number"
        ? input
        : typeof input === "string" && /^-?\d+(\.\d+)?$/.test(input.trim())
          ? Number(input.trim())
          : Number.NaN;
    if (!Number.isFinite(value) || value < min || value > max)
      throw new UnitError(`expected a number ${range}`);
    return value;
  }, `a number ${range}`);
}

const TRUE_WORDS = new Set(["true", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "no", "off"]);

export const zBool = unitSchema((input): boolean => {
  if (typeof input === "boolean") return input;
  if (typeof input === "string") {
    const word = input.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  throw new UnitError("expected true or false");
}, "true or false");

export const zText = unitSchema((input): string => {
  if (typeof input !== "string")
    throw new UnitError("expected text (put it in quotes if it looks like a number)");
  const text = input.trim();
  if (text === "") throw new UnitError("must not be empty");
  return text;
}, "text");

/** A label value or matcher: YAML may give `instance: 1`; labels are text either way. */
export const zLabelValue = unitSchema((input): string => {
  if (typeof input === "string") return input;
  if (typeof input === "number" || typeof input === "boolean") return String(input);
  throw new UnitError("expected text");
}, "text");

/** Names that travel in URLs and Telegram callback data. */
export const zName = unitSchema((input): string => {
  if (typeof input === "number") input = String(input);
  if (typeof input !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(input.trim())) {
    throw new UnitError("expected a name of letters, digits, _ . - (at most 64 characters)");
  }
  return input.trim();
}, "a name");

/** A secret: never echoed, only its length is checked. */
export function zSecret(minLength: number, advice = "") {
  return unitSchema((input): string => {
    if (typeof input !== "string") throw new UnitError("expected text (quote it: secrets are text)");
    if (input.length < minLength) {
      throw new UnitError(
        minLength <= 1 ? "must not be empty" : `too short: at least ${minLength} characters${advice}`,
      );
    }
    return input;
  }, "a secret");
}

/** One string or a list of strings -> a list. */
export const zStringList = unitSchema((input): string[] => {
  const items = typeof input === "string" ? [input] : input;
  if (!Array.isArray(items)) throw new UnitError("expected a list of names, like [a, b]");
  return items.map((item) => {
    if (typeof item !== "string" || item.trim() === "")
      throw new UnitError("expected a list of names, like [a, b]");
    return item.trim();
  });
}, "a list");

export function zUrl(protocols: readonly string[], example: string) {
  const hint = `expected a URL like ${example}`;
  return unitSchema((input): string => {
    if (typeof input !== "string") throw new UnitError(hint);
    let url: URL;
    try {
      url = new URL(input.trim());
    } catch {
      throw new UnitError(hint);
    }
    if (!protocols.includes(url.protocol.replace(/:$/, ""))) throw new UnitError(hint);
    return input.trim();
  }, `a URL like ${example}`);
}

export const zEmailAddress = unitSchema((input): string => {
  // `Pitwall <pitwall@example.com>` is a valid From; a bare address is fine too.
  if (
    typeof input !== "string" ||
    !/^[^@\s<>]+@[^@\s<>]+$|^[^<>]*<[^@\s<>]+@[^@\s<>]+>$/.test(input.trim())
  ) {
    throw new UnitError("expected an email address like ops@example.com");
  }
  return input.trim();
}, "an email address");

export const zEmailList = unitSchema((input): string[] => {
  const items = typeof input === "string" ? input.split(",") : input;
  if (!Array.isArray(items) || items.length === 0) {
    throw new UnitError("expected one or more email addresses like [ops@example.com]");
  }
  return items.map((item) => {
    if (typeof item !== "string" || !/^[^@\s<>]+@[^@\s<>]+$/.test(item.trim())) {
      throw new UnitError("expected one or more email addresses like [ops@example.com]");
    }
    return item.trim();
  });
}, "email addresses");

/** A JavaScript regular expression source; checked that it compiles. */
export const zRegex = unitSchema((input): string => {
  if (typeof input !== "string" || input === "") throw new UnitError("expected a regular expression");
  try {
    new RegExp(input);
  } catch {
    throw new UnitError("expected a regular expression (this one does not compile)");
  }
  return input;
}, "a regular expression");

/** Adds an issue for each later item whose key repeats an earlier one. */
export function uniqueBy<T>(
  items: readonly T[],
  key: (item: T) => string,
  field: string,
  ctx: z.core.$RefinementCtx,
) {
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const value = key(item);
    const first = seen.get(value);
    if (first !== undefined) {
      ctx.addIssue({
        code: "custom",
        message: `the same ${field} as item ${first}; each must be different`,
        path: [index, field],
      });
    } else {
      seen.set(value, index);
    }
  });
}
