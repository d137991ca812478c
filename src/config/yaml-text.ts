/**
 * The YAML side of loading: the unquoted `>` the report prints (`latency: > 5s p99` is a folded
 * block scalar header to YAML, not a value), and mapping paths back to lines.
 */
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import type { TreePath } from "./interpolate.ts";

export interface BareGtValue {
  /** 1-based line in the file. */
  line: number;
  /** Offset of the value in the repaired text, to find its path in the parsed document. */
  offset: number;
  /** The key as written, for the fix hint. */
  key: string;
  /** The value as written, starting with `>`. */
  value: string;
}

const KEY = String.raw`"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{}\[\],&*!|>%@\x60-][^:#{}\[\],]*?|-[^\s:#{}\[\],][^:#{}\[\],]*?`;
const BLOCK_ENTRY = new RegExp(String.raw`^(\s*(?:-\s+)*)(${KEY})(\s*:\s+)(>.*)$`);
const FLOW_ENTRY = new RegExp(String.raw`([{,]\s*)(${KEY})(\s*:\s+)(>[^,}\]]*)`, "g");
/** What may follow `>` when it really starts a folded block: chomping/indent indicators, a comment. */
const BLOCK_HEADER = /^(?:[-+]?[1-9]?|[1-9][-+])\s*(?:#.*)?$/;

function splitComment(text: string): { value: string; comment: string } {
  const hash = /\s+#/.exec(text);
  if (!hash) return { value: text.trimEnd(), comment: "" };
  return { value: text.slice(0, hash.index).trimEnd(), comment: text.slice(hash.index) };
}

/**
 * Finds `key: > something` (block or one-line flow style) and returns the text with each such
 * value double-quoted, so the rest of the file can still be checked, plus where each one was.
 */
export function quoteBareGt(text: string): { text: string; found: BareGtValue[] } {
  const found: BareGtValue[] = [];
  const lines = text.split("\n");
  let offset = 0;
  const out: string[] = [];
  lines.forEach((rawLine, index) => {
    const carriageReturn = rawLine.endsWith("\r") ? "\r" : "";
    let line = carriageReturn ? rawLine.slice(0, -1) : rawLine;
    const block = BLOCK_ENTRY.exec(line);
    if (block) {
      const [, indent, key, separator, rest] = block as unknown as [string, string, string, string, string];
      if (!BLOCK_HEADER.test(rest.slice(1))) {
        const { value, comment } = splitComment(rest);
        const head = indent + key + separator;
        found.push({ line: index + 1, offset: offset + head.length, key, value });
        line = head + JSON.stringify(value) + comment;
      }
    } else if (line.includes("{")) {
      let rebuilt = "";
      let last = 0;
      for (const match of line.matchAll(FLOW_ENTRY)) {
        const [whole, lead, key, separator, rest] = match as unknown as [
          string,
          string,
          string,
          string,
          string,
        ];
        const value = rest.trimEnd();
        const head = line.slice(last, match.index) + lead + key + separator;
        rebuilt += head;
        found.push({ line: index + 1, offset: offset + rebuilt.length, key, value });
        rebuilt += JSON.stringify(value) + rest.slice(value.length);
        last = match.index + whole.length;
      }
      if (last > 0) line = rebuilt + line.slice(last);
    }
    line += carriageReturn;
    out.push(line);
    offset += line.length + 1;
  });
  return { text: out.join("\n"), found };
}

export interface ParsedYaml {
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

export function parseYaml(text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, merge: true });
  return { doc, lineCounter };
}

/** The human part of a yaml error message (no position, no code frame). */
export function yamlErrorMessage(message: string): string {
  const first = message.split("\n")[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, "");
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

/** The path of the scalar that starts at `offset`, or null. */
export function pathAtOffset(doc: Document.Parsed, offset: number): TreePath | null {
  const visit = (node: unknown, path: TreePath): TreePath | null => {
    if (isScalar(node)) return node.range?.[0] === offset ? path : null;
    if (isMap(node)) {
      for (const pair of node.items) {
        const hit = visit(pair.value, [...path, keyText(pair.key)]);
        if (hit) return hit;
      }
    }
    if (isSeq(node)) {
      for (const [index, item] of node.items.entries()) {
        const hit = visit(item, [...path, index]);
        if (hit) return hit;
      }
    }
    return null;
  };
  return visit(doc.contents, []);
}

/** The 1-based line where `path` is written (its key), or of its nearest written ancestor. */
export function lineOfPath({ doc, lineCounter }: ParsedYaml, path: TreePath): number | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (doc.contents as Node | null)?.range?.[0];
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment));
      if (!pair) break;
      offset = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (item === undefined) break;
      offset = (item as Node | null)?.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset).line;
}
