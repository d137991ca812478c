/**
 * What an approval prompt shows (DESIGN.md, Telegram): agent, run, tool, reason, arguments
 * (redacted, pretty-printed), risk flags and expiry. This is the content, not the rendering: the
 * Telegram feature escapes it, lays it out, translates the labels and sends the attachment.
 *
 * Nothing an approver approves is hidden: arguments longer than `maxArgsChars` are shown cut and
 * come back in full (redacted, pretty JSON) as `attachment`, to be sent as `args-<id>.json`.
 * The cut falls on a line boundary; only when that would show less than half the room (one very
 * long line, say a 5 000-character command) is that line cut inside, ending in `…`, so the
 * approver still sees how the command begins.
 */
import { createRedactor, REDACTED, type Redactor } from "../redact.ts";
import type { RiskFlag } from "./risk-flags.ts";

export interface PromptApproval {
  id: string;
  agent: string;
  run_id: string | null;
  /** After tool_aliases. */
  tool: string;
  /** As the agent sent it; null or equal to `tool` when no alias applied. */
  original_tool?: string | null;
  reason: string | null;
  expires_at: Date | string;
}

export interface ApprovalPromptInput {
  approval: PromptApproval;
  /** The arguments as received; redacted here. */
  args: unknown;
  flags: readonly RiskFlag[];
  redactor: Redactor;
  /** Room for the arguments block, in UTF-16 code units of visible text (Telegram's unit). */
  maxArgsChars: number;
}

export interface ApprovalPromptModel {
  id: string;
  agent: string;
  run_id: string | null;
  tool: string;
  /** The name the agent used, when tool_aliases mapped it; otherwise null. */
  original_tool: string | null;
  reason: string | null;
  /** Redacted, pretty-printed JSON (2 spaces), cut when it does not fit. */
  argsPretty: string;
  argsTruncated: boolean;
  /** What the cut left out, for the note under the arguments ("… 42 more lines, in the file"). */
  argsOmitted: { lines: number; chars: number } | null;
  /** When truncated: the full redacted arguments, to attach. */
  attachment: { filename: string; content: string } | null;
  flags: RiskFlag[];
  expires_at: string;
}

/** The prompt's redactor: `safety.output.filter_sensitive` on top of the built-in keys and shapes. */
export function promptRedactor(filterSensitive: readonly string[]): Redactor {
  return createRedactor({ sensitiveKeys: filterSensitive });
}

/**
 * The arguments with secrets replaced, by the redactor's rules (sensitive keys, secret shapes).
 * Walked here rather than with `redactValue` because arguments are JSON, where `__proto__` is an
 * ordinary key: copying it by assignment would set a prototype and drop the key from the prompt,
 * hiding part of what the approver approves.
 */
export function redactArgs(value: unknown, redactor: Redactor): unknown {
  if (typeof value === "string") return redactor.redactText(value);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => redactArgs(item, redactor));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // As redactValue: null and booleans under a sensitive key stay (`"password": null` hides nothing).
    const hidden = item !== null && typeof item !== "boolean" && redactor.isSensitiveKey(key);
    Object.defineProperty(copy, key, {
      value: hidden ? REDACTED : redactArgs(item, redactor),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/** Attachment name for an approval's full arguments. */
export function argsFileName(id: string): string {
  return `args-${id}.json`;
}

function cutBefore(text: string, end: number): string {
  // Never leave half a surrogate pair at the end.
  const code = text.charCodeAt(end - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? end - 1 : end);
}

/** `pretty` cut to at most `max` code units; see the module comment for where it cuts. */
export function cutOnLines(
  pretty: string,
  max: number,
): { shown: string; omittedLines: number; omittedChars: number } | null {
  if (pretty.length <= max) return null;
  const lines = pretty.split("\n");
  let used = 0;
  let whole = 0;
  for (const line of lines) {
    const cost = line.length + (whole > 0 ? 1 : 0);
    if (used + cost > max) break;
    used += cost;
    whole += 1;
  }
  const shown = lines.slice(0, whole);
  let consumed = used;
  // Lines not shown in full (a line cut inside counts as left out).
  const omittedLines = lines.length - whole;
  const next = lines[whole];
  if (used < max / 2 && next !== undefined) {
    // A long line blocks the view: show its start rather than almost nothing.
    const separator = whole > 0 ? 1 : 0;
    const room = max - used - separator - 1; // the "…" after it
    if (room > 0) {
      const start = cutBefore(next, room);
      shown.push(`${start}…`);
      consumed += separator + start.length;
    }
  }
  return { shown: shown.join("\n"), omittedLines, omittedChars: pretty.length - consumed };
}

export function approvalPromptModel(input: ApprovalPromptInput): ApprovalPromptModel {
  const { approval, redactor } = input;
  const pretty = JSON.stringify(redactArgs(input.args, redactor), null, 2) ?? "null";
  const cut = cutOnLines(pretty, Math.max(1, Math.floor(input.maxArgsChars)));
  const originalTool =
    approval.original_tool && approval.original_tool !== approval.tool ? approval.original_tool : null;
  const redactNullable = (text: string | null) => (text === null ? null : redactor.redactText(text));
  return {
    id: approval.id,
    agent: approval.agent,
    run_id: redactNullable(approval.run_id),
    tool: approval.tool,
    original_tool: originalTool,
    // Agents write reasons and run ids freely; a pasted token must not reach the chat.
    reason: redactNullable(approval.reason),
    argsPretty: cut === null ? pretty : cut.shown,
    argsTruncated: cut !== null,
    argsOmitted: cut === null ? null : { lines: cut.omittedLines, chars: cut.omittedChars },
    attachment: cut === null ? null : { filename: argsFileName(approval.id), content: pretty },
    // Paths quote argument keys, which could hold anything.
    flags: input.flags.map((flag) => ({ ...flag, path: redactor.redactText(flag.path) })),
    expires_at: new Date(approval.expires_at).toISOString(),
  };
}
