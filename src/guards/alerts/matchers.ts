/**
 * Label matchers in Alertmanager's syntax, for silences typed in chat:
 * `alertname="HighLatency"`, `env=~"prod|stage"`, `severity!="info"`, `job!~"test.*"`, several
 * separated by commas, with or without `{}`. A missing label matches as the empty string, and
 * regexes are anchored (`^(?:…)$`), both as in Alertmanager.
 *
 * Lenient where people type by hand: values may be unquoted (`env=prod`) or in single quotes,
 * phone keyboards' curly quotes count as straight ones, a leading `(?i)` (RE2's case-insensitive
 * flag, common in Alertmanager configs) becomes JavaScript's `i` flag, and an unknown escape in
 * quotes (`\d`) is kept for the regex.
 *
 * Strict where a pattern could stall ingest (every alert is matched against every silence):
 * patterns are at most 256 characters, must compile on their own (so `a)|(b` cannot escape the
 * anchors), and may not repeat a group that itself repeats or has alternatives (`(a+)+`,
 * `(a|aa)*`), the shapes behind catastrophic backtracking. This is a heuristic, not a proof;
 * label values are also capped at 1024 characters by input validation.
 */
import type { Labels } from "./types.ts";

export type MatchOp = "=" | "!=" | "=~" | "!~";

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

export type MatchersResult = { ok: true; matchers: Matcher[] } | { ok: false; error: string };

export const MAX_MATCHER_REGEX_LENGTH = 256;
export const MAX_MATCHER_VALUE_LENGTH = 1024;
export const MAX_MATCHERS = 32;

const EXAMPLE = 'expected label matcher like alertname="HighLatency"';
const NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;

export function parseMatchers(text: string): MatchersResult {
  try {
    return { ok: true, matchers: new MatcherParser(text).parse() };
  } catch (err) {
    if (err instanceof MatcherSyntaxError) return { ok: false, error: err.message };
    throw err;
  }
}

/**
 * Matchers for a silence: also requires one matcher that an empty or missing label does not
 * satisfy (Alertmanager's rule), so `env!="prod"` alone cannot silence every other alert.
 */
export function parseSilenceMatchers(text: string): MatchersResult {
  const parsed = parseMatchers(text);
  if (!parsed.ok) return parsed;
  if (parsed.matchers.every((matcher) => matchesValue(matcher, ""))) {
    return {
      ok: false,
      error:
        'these matchers also match alerts without those labels, so they would silence almost everything; add one like alertname="HighLatency"',
    };
  }
  return parsed;
}

/** `{alertname="HighLatency", env=~"prod|stage"}`; parseMatchers reads it back unchanged. */
export function formatMatchers(matchers: readonly Matcher[]): string {
  return `{${matchers.map((m) => `${m.name}${m.op}${JSON.stringify(m.value)}`).join(", ")}}`;
}

/** Whether the labels satisfy every matcher (a missing label reads as ""). */
export function matchesAll(labels: Labels, matchers: readonly Matcher[]): boolean {
  return matchers.every((matcher) => matchesValue(matcher, labels[matcher.name] ?? ""));
}

/** A stored matcher whose regex no longer compiles matches nothing (never crash ingest). */
export function matchesValue(matcher: Matcher, value: string): boolean {
  switch (matcher.op) {
    case "=":
      return value === matcher.value;
    case "!=":
      return value !== matcher.value;
    case "=~": {
      return cachedRegex(matcher.value)?.test(value) ?? false;
    }
    case "!~": {
      const re = cachedRegex(matcher.value);
      return re !== null && !re.test(value);
    }
  }
}

/** Null when the pattern is acceptable, else what is wrong with it. */
export function checkMatcherRegex(pattern: string): string | null {
  const compiled = compileAnchored(pattern);
  return typeof compiled === "string" ? compiled : null;
}

// ---- regex compilation ----------------------------------------------------------------------

const regexCache = new Map<string, RegExp | null>();
const REGEX_CACHE_LIMIT = 1024;

function cachedRegex(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    const compiled = compileAnchored(pattern);
    re = typeof compiled === "string" ? null : compiled;
    if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

function compileAnchored(pattern: string): RegExp | string {
  if (pattern.length > MAX_MATCHER_REGEX_LENGTH) {
    return `regular expression is longer than ${MAX_MATCHER_REGEX_LENGTH} characters; shorten it`;
  }
  let body = pattern;
  let flags = "";
  if (body.startsWith("(?i)")) {
    body = body.slice(4);
    flags = "i";
  }
  try {
    new RegExp(body, flags);
  } catch (err) {
    const reason = err instanceof Error ? err.message.replace(/^Invalid regular expression: /, "") : "";
    return `invalid regular expression ${JSON.stringify(pattern)}${reason ? ` (${reason})` : ""}`;
  }
  if (hasNestedRepetition(body)) {
    return `regular expression ${JSON.stringify(pattern)} repeats a group that repeats or has alternatives (like (a+)+ or (a|b)*), which can take very long to match; simplify it, e.g. with .*`;
  }
  return new RegExp(`^(?:${body})$`, flags);
}

/** Star height above one, or a repeated alternation: a quantified group with `*`, `+`, `{` or `|` inside. */
function hasNestedRepetition(pattern: string): boolean {
  // `repeats` propagates to enclosing groups; `alternates` is about the group's own top level.
  const stack: { repeats: boolean; alternates: boolean }[] = [{ repeats: false, alternates: false }];
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    const top = stack[stack.length - 1]!;
    if (char === "\\") {
      i++;
    } else if (char === "[") {
      i = classEnd(pattern, i);
    } else if (char === "(") {
      stack.push({ repeats: false, alternates: false });
    } else if (char === ")") {
      const group = stack.pop();
      const parent = stack[stack.length - 1];
      if (group === undefined || parent === undefined) return false; // unbalanced: compiling refused it
      const repeated = isRepetition(pattern, i + 1);
      if (repeated && (group.repeats || group.alternates)) return true;
      parent.repeats ||= repeated || group.repeats;
    } else if (char === "|") {
      top.alternates = true;
    } else if (isRepetition(pattern, i)) {
      top.repeats = true;
    }
  }
  return false;
}

/** Whether an unbounded or counted repetition (`*`, `+`, `{n,}`, `{n,m}`, `{n}`) starts at `i`. */
function isRepetition(pattern: string, i: number): boolean {
  const char = pattern[i];
  if (char === "*" || char === "+") return true;
  return char === "{" && /^\{\d+(,\d*)?\}/.test(pattern.slice(i, i + 24));
}

/** Index of the `]` closing the character class opened at `start`. */
function classEnd(pattern: string, start: number): number {
  let i = start + 1;
  if (pattern[i] === "^") i++;
  if (pattern[i] === "]") i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === "\\") i++;
    else if (pattern[i] === "]") return i;
  }
  return pattern.length;
}

// ---- parser ---------------------------------------------------------------------------------

class MatcherSyntaxError extends Error {}

const QUOTES: Readonly<Record<string, string>> = { '"': '"', "'": "'", "“": "”", "”": "”", "„": "“" };
/**
 * Escapes that mean the same in a string and in a regex (plus \uXXXX), so JSON.stringify's
 * output reads back. Not \b: in a pattern it is a word boundary, not a backspace.
 */
const ESCAPES: Readonly<Record<string, string>> = {
  n: "\n",
  t: "\t",
  r: "\r",
  '"': '"',
  "'": "'",
  "\\": "\\",
};

class MatcherParser {
  private readonly text: string;
  private pos = 0;

  constructor(input: string) {
    let text = input.trim();
    if (text.startsWith("{")) {
      if (!text.endsWith("}")) throw new MatcherSyntaxError('missing closing "}"');
      text = text.slice(1, -1);
    } else if (text.endsWith("}")) {
      throw new MatcherSyntaxError('missing opening "{"');
    }
    this.text = text;
  }

  parse(): Matcher[] {
    const matchers: Matcher[] = [];
    this.skipSpace();
    if (this.atEnd()) throw new MatcherSyntaxError(EXAMPLE);
    while (!this.atEnd()) {
      if (matchers.length === MAX_MATCHERS) {
        throw new MatcherSyntaxError(`at most ${MAX_MATCHERS} matchers in one silence`);
      }
      matchers.push(this.matcher());
      this.skipSpace();
      if (this.atEnd()) break;
      if (this.text[this.pos] !== ",") {
        throw new MatcherSyntaxError(`expected "," between matchers, got ${this.rest()}`);
      }
      this.pos++;
      this.skipSpace(); // a trailing comma is fine, as in Alertmanager
    }
    return matchers;
  }

  private matcher(): Matcher {
    NAME.lastIndex = this.pos;
    const name = NAME.exec(this.text)?.[0];
    if (name === undefined) throw new MatcherSyntaxError(`${EXAMPLE}, got ${this.rest()}`);
    this.pos += name.length;
    this.skipSpace();
    const op = (["=~", "!~", "!=", "="] as const).find((candidate) =>
      this.text.startsWith(candidate, this.pos),
    );
    if (op === undefined) {
      throw new MatcherSyntaxError(`expected =, !=, =~ or !~ after ${name}, got ${this.rest()}`);
    }
    this.pos += op.length;
    this.skipSpace();
    const value = this.value(name);
    if (value.length > MAX_MATCHER_VALUE_LENGTH) {
      throw new MatcherSyntaxError(
        `the value for ${name} is longer than ${MAX_MATCHER_VALUE_LENGTH} characters`,
      );
    }
    if (op === "=~" || op === "!~") {
      const problem = checkMatcherRegex(value);
      if (problem !== null) throw new MatcherSyntaxError(`${name}${op}: ${problem}`);
    }
    return { name, op, value };
  }

  private value(name: string): string {
    const open = this.text[this.pos] ?? "";
    const close = QUOTES[open];
    if (close === undefined) {
      const match = /[^\s,"'{}]*/y;
      match.lastIndex = this.pos;
      const value = match.exec(this.text)?.[0] ?? "";
      this.pos += value.length;
      return value;
    }
    let value = "";
    for (let i = this.pos + 1; i < this.text.length; i++) {
      const char = this.text[i]!;
      if (char === "\\" && i + 1 < this.text.length) {
        const next = this.text[i + 1]!;
        const hex = next === "u" ? /^[0-9a-fA-F]{4}$/.exec(this.text.slice(i + 2, i + 6)) : null;
        if (hex) {
          value += String.fromCharCode(Number.parseInt(hex[0], 16));
          i += 5;
        } else {
          // Unknown escapes stay as written: they are regex escapes like \d or \.
          value += ESCAPES[next] ?? `\\${next}`;
          i++;
        }
      } else if (char === close || (close === "”" && char === "“")) {
        this.pos = i + 1;
        return value;
      } else {
        value += char;
      }
    }
    throw new MatcherSyntaxError(`unterminated quoted value for ${name}: add the closing ${close}`);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos]!)) this.pos++;
  }

  private atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  private rest(): string {
    const rest = this.text.slice(this.pos);
    return rest === "" ? "the end" : JSON.stringify(rest.length > 24 ? `${rest.slice(0, 24)}…` : rest);
  }
}
