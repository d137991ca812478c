/**
 * Turning zod's issues into lines a person can act on: `path: what is wrong`, with the path as
 * the YAML was written (list items keep their index even where a list of one-key maps was read
 * as a map), unknown keys one per line with a "did you mean", and no value ever repeated.
 */
import type { z } from "zod";
import { isPlainObject } from "./fields.ts";
import type { TreePath } from "./interpolate.ts";

export interface ConfigIssue {
  /** Where, as written in the YAML: `alerting.suppression.escalation_delay`, `checks[0].http`. */
  path: string;
  message: string;
  /** 1-based line in the file, when known. */
  line?: number;
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join("\n");
}

export function formatPath(path: TreePath): string {
  if (path.length === 0) return "(top level)";
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

function describe(input: unknown): string {
  if (input === null) return "nothing";
  if (Array.isArray(input)) return "a list";
  switch (typeof input) {
    case "string":
      return "text";
    case "number":
      return "a number";
    case "boolean":
      return "true/false";
    case "object":
      return "a map";
    default:
      return typeof input;
  }
}

const EXPECTED: Record<string, string> = {
  string: "text",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a map (key: value)",
  record: "a map (key: value)",
  null: "nothing",
};

/** Per-parse messages for zod's own checks; messages set on a schema take precedence. */
export const humanErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "required";
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describe(issue.input)}`;
    case "invalid_value":
      return `expected one of ${issue.values.map(String).join(", ")}`;
    case "too_small":
      if (issue.origin === "array") return `needs at least ${issue.minimum} item(s)`;
      if (issue.origin === "string") return Number(issue.minimum) <= 1 ? "must not be empty" : "too short";
      return `must be at least ${issue.minimum}`;
    case "too_big":
      if (issue.origin === "array") return `at most ${issue.maximum} item(s)`;
      if (issue.origin === "string") return "too long";
      return `must be at most ${issue.maximum}`;
    case "unrecognized_keys":
      return "unknown key";
    case "invalid_union":
      return "has an unexpected form";
    case "invalid_key":
      return "has a key of the wrong form";
    case "invalid_format":
      return `expected ${issue.format}`;
    default:
      return undefined;
  }
};

// ---- walking the schema for known keys ------------------------------------------------------------

type AnySchema = z.core.$ZodType;

function defOf(schema: AnySchema): Record<string, unknown> {
  return schema._zod.def as unknown as Record<string, unknown>;
}

/** The structural schemas (objects, arrays, records) a schema may stand for. */
function structural(schema: AnySchema, depth = 0): AnySchema[] {
  if (depth > 20) return [];
  const def = defOf(schema);
  switch (def.type) {
    case "optional":
    case "nullable":
    case "default":
    case "prefault":
    case "nonoptional":
    case "readonly":
    case "catch":
      return structural(def.innerType as AnySchema, depth + 1);
    case "pipe":
      return [...structural(def.in as AnySchema, depth + 1), ...structural(def.out as AnySchema, depth + 1)];
    case "union":
      return (def.options as AnySchema[]).flatMap((option) => structural(option, depth + 1));
    case "lazy":
      return structural((def.getter as () => AnySchema)(), depth + 1);
    case "object":
    case "array":
    case "record":
      return [schema];
    default:
      return [];
  }
}

function childSchemas(schema: AnySchema, segment: string | number): AnySchema[] {
  return structural(schema).flatMap((candidate) => {
    const def = defOf(candidate);
    if (def.type === "object" && typeof segment === "string") {
      const child = (def.shape as Record<string, AnySchema>)[segment];
      return child ? [child] : [];
    }
    if (def.type === "array" && typeof segment === "number") return [def.element as AnySchema];
    if (def.type === "record" && typeof segment === "string") return [def.valueType as AnySchema];
    return [];
  });
}

/** Keys an object at `path` may have, by the schema (empty when it is a free-form map). */
export function knownKeysAt(root: AnySchema, path: TreePath): string[] {
  let current = [root];
  for (const segment of path) current = current.flatMap((schema) => childSchemas(schema, segment));
  const keys = new Set<string>();
  for (const schema of current.flatMap((candidate) => structural(candidate))) {
    const def = defOf(schema);
    if (def.type === "object") for (const key of Object.keys(def.shape as object)) keys.add(key);
  }
  return [...keys];
}

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/** Keys people reach for that pitwall reads from elsewhere. */
const UNKNOWN_KEY_HINTS: Record<string, string> = {
  "telegram.token":
    "the bot token is read from the TELEGRAM_BOT_TOKEN environment variable, not from the config",
  "telegram.bot_token":
    "the bot token is read from the TELEGRAM_BOT_TOKEN environment variable, not from the config",
  "server.database_url": "the database is read from the DATABASE_URL environment variable",
  "server.redis_url": "Redis is read from the REDIS_URL environment variable",
};

function unknownKeyMessage(root: AnySchema, parent: TreePath, key: string): string {
  const hint = UNKNOWN_KEY_HINTS[formatPath([...parent, key])];
  if (hint) return `unknown key: ${hint}`;
  const known = knownKeysAt(root, parent);
  const what = parent.length === 0 ? "unknown section" : "unknown key";
  const suggestion = closest(key, known);
  if (suggestion) return `${what} (did you mean ${suggestion}?)`;
  // A short list is worth showing whole; the top level's is in the docs.
  if (parent.length > 0 && known.length > 0 && known.length <= 8)
    return `${what} (known here: ${known.join(", ")})`;
  return what;
}

// ---- from zod issues to located, written paths ----------------------------------------------------

export interface TreeIssue {
  /** The path as written in the YAML. */
  path: TreePath;
  message: string;
}

/**
 * The zod path is in the parsed shape; the file may differ where a list of one-key maps was
 * read as a map (insert the item index) or a map of names was read as a list (use the name).
 */
export function writtenPath(data: unknown, path: readonly PropertyKey[]): TreePath {
  const out: TreePath = [];
  let node: unknown = data;
  for (const raw of path) {
    const segment = typeof raw === "number" ? raw : String(raw);
    if (Array.isArray(node) && typeof segment === "string") {
      const index = node.findIndex((item) => isPlainObject(item) && segment in item);
      if (index >= 0) {
        out.push(index);
        node = node[index];
      }
    } else if (isPlainObject(node) && typeof segment === "number" && !(String(segment) in node)) {
      const key = Object.keys(node)[segment];
      if (key !== undefined) {
        out.push(key);
        node = node[key];
        continue;
      }
    }
    out.push(segment);
    node =
      isPlainObject(node) || Array.isArray(node) ? (node as Record<string, unknown>)[segment] : undefined;
  }
  return out;
}

/** Flattens zod issues into one issue per problem, each with a path as written and a human message. */
export function treeIssues(
  zodIssues: readonly z.core.$ZodIssue[],
  root: AnySchema,
  data: unknown,
): TreeIssue[] {
  const out: TreeIssue[] = [];
  const add = (issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]) => {
    for (const issue of issues) {
      const path = [...prefix, ...issue.path];
      if (issue.code === "unrecognized_keys") {
        const normalizedParent = path.map((segment) =>
          typeof segment === "number" ? segment : String(segment),
        );
        for (const key of issue.keys) {
          out.push({
            path: writtenPath(data, [...path, key]),
            message: unknownKeyMessage(root, normalizedParent, key),
          });
        }
        continue;
      }
      if (issue.code === "invalid_union") {
        // Pick the branch that got furthest: the one not rejected for its type at the top.
        const plausible = issue.errors.filter(
          (branch) => !branch.every((inner) => inner.code === "invalid_type" && inner.path.length === 0),
        );
        if (plausible.length === 1) {
          add(plausible[0]!, path);
          continue;
        }
      }
      out.push({ path: writtenPath(data, path), message: issue.message });
    }
  };
  add(zodIssues, []);
  return out;
}
