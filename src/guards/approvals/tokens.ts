/**
 * Token counting for `safety.input.max_length`, with gpt-tokenizer's o200k_base encoding (the
 * tokenizer of GPT-4o, GPT-4.1, o-series and GPT-5) — a real BPE count, not chars/4.
 *
 * Two things keep it cheap on a 1 MB body:
 * - it stops once the count passes the limit (the generator yields chunk by chunk), so a huge
 *   input costs about as much as `limit` tokens of it; the answer is then "more than the limit";
 * - BPE is superlinear on one long pre-token (64 000 × "a" takes ~3 s in one piece): any run of
 *   LONG_RUN or more letters, spaces or punctuation is encoded in LONG_RUN-character slices.
 *   Natural text, code, JSON, base64 and hex never contain such runs, so their count is exactly
 *   `encode(text).length`; for the runs themselves a slice boundary only prevents merges across
 *   it, so the count can only grow by a token or so per slice — never under-count in practice.
 */
import { createRequire } from "node:module";

type EncodeGenerator = typeof import("gpt-tokenizer").encodeGenerator;

// The o200k tables cost ~70 MB of memory; an instance that never sees an approval request
// (alert ingest only, or idle) should not pay for them. Loaded synchronously on first count.
let encodeGeneratorFn: EncodeGenerator | undefined;
function encodeGenerator(...args: Parameters<EncodeGenerator>): ReturnType<EncodeGenerator> {
  encodeGeneratorFn ??= (createRequire(import.meta.url)("gpt-tokenizer") as typeof import("gpt-tokenizer"))
    .encodeGenerator;
  return encodeGeneratorFn(...args);
}

export const LONG_RUN = 256;

// Special-token text (`<|endoftext|>`) in arguments is plain text to us; by default the
// tokenizer throws on it, which would let an agent crash the check.
const PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

// Runs of the character classes the o200k pre-tokenizer keeps together. Digits are split in
// groups of three by the tokenizer itself, so they never form long pre-tokens. The lookbehinds
// make each run be tried once, at its start: without them a text of 255-space runs costs
// 255 steps per character (quadratic again, in the regex this time).
const LETTER = "[\\p{L}\\p{M}]";
const SPACE = "\\s";
const PUNCT = "[^\\s\\p{L}\\p{M}\\p{N}]";
const LONG_RUNS = new RegExp(
  [LETTER, SPACE, PUNCT].map((cls) => `(?<!${cls})${cls}{${LONG_RUN},}`).join("|"),
  "gu",
);

/** `text` split so that no piece holds a run longer than LONG_RUN; most texts are one piece. */
function* pieces(text: string): Generator<string> {
  let start = 0;
  for (const match of text.matchAll(LONG_RUNS)) {
    const runStart = match.index;
    if (runStart > start) yield text.slice(start, runStart);
    const run = match[0];
    let at = 0;
    while (at < run.length) {
      let end = Math.min(at + LONG_RUN, run.length);
      // Never split a surrogate pair: half a character would encode as replacement bytes.
      const code = run.charCodeAt(end - 1);
      if (end < run.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
      yield run.slice(at, end);
      at = end;
    }
    start = runStart + run.length;
  }
  if (start < text.length) yield text.slice(start);
}

export interface TokenCount {
  /** Tokens counted; when `overLimit`, counting stopped here (the true count is at least this). */
  count: number;
  /** Whether the text has more than `limit` tokens. */
  overLimit: boolean;
}

/** Counts the tokens of `text`, stopping as soon as the count passes `limit`. */
export function countTokensUpTo(text: string, limit: number): TokenCount {
  let count = 0;
  for (const piece of pieces(text)) {
    for (const tokens of encodeGenerator(piece, PLAIN_TEXT)) {
      count += tokens.length;
      if (count > limit) return { count, overLimit: true };
    }
  }
  return { count, overLimit: false };
}

/** The full token count of `text` (no early stop). */
export function countTokens(text: string): number {
  return countTokensUpTo(text, Number.POSITIVE_INFINITY).count;
}
