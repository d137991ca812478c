/**
 * The body of `POST /v1/approvals` (DESIGN.md, HTTP API v1). The arguments may be any JSON here:
 * whether they are acceptable (an object, not too long) is the input checks' answer, which names
 * its rule. Unknown fields are refused, so a typo such as `timeout` does not pass silently.
 */
import { z } from "zod";

export const TIMEOUT_MIN_S = 5;
export const TIMEOUT_MAX_S = 3600;

const FIELDS = ["agent", "tool", "args", "reason", "run_id", "timeout_s", "idempotency_key"];
const NO_CONTROL = /^[^\p{Cc}]*$/u;

const required = (what: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? `required: ${what}` : `expected ${what}`;

function text(what: string, max: number, pattern?: { re: RegExp; message: string }) {
  let schema = z
    .string({ error: required(what) })
    .min(1, `must not be empty: ${what}`)
    .max(max, `at most ${max} characters`);
  if (pattern) schema = schema.regex(pattern.re, pattern.message);
  return schema;
}

const optionalText = (what: string, max: number) =>
  z
    .string({ error: `expected ${what}` })
    .max(max, `at most ${max} characters`)
    .optional();

/**
 * The request schema. `defaultTimeoutMs` is approvals.timeout; it is clamped to the accepted range
 * (a config may say 2 hours; one request still waits at most an hour).
 */
export function approvalRequestSchema(defaultTimeoutMs: number) {
  const defaultTimeoutS = Math.min(
    TIMEOUT_MAX_S,
    Math.max(TIMEOUT_MIN_S, Math.round(defaultTimeoutMs / 1000)),
  );
  return z.strictObject(
    {
      agent: text("the agent's name, like coder (letters, digits, _ . -)", 64, {
        re: /^[A-Za-z0-9_.-]+$/,
        message: "use only letters, digits, _ . and - (like coder or ci.bot-2)",
      }),
      tool: text("the tool the agent wants to call, like exec_command", 128, {
        re: NO_CONTROL,
        message: "must not contain control characters",
      }),
      args: z.custom<unknown>((value) => value !== undefined, {
        error: 'required: the tool\'s arguments as a JSON object, like {"cmd": "ls"} ({} for none)',
      }),
      reason: optionalText("the reason as text", 2000),
      run_id: optionalText("a run id as text", 128),
      timeout_s: z
        .number({ error: `expected a whole number of seconds from ${TIMEOUT_MIN_S} to ${TIMEOUT_MAX_S}` })
        .int(`expected a whole number of seconds from ${TIMEOUT_MIN_S} to ${TIMEOUT_MAX_S}`)
        .min(TIMEOUT_MIN_S, `at least ${TIMEOUT_MIN_S} seconds`)
        .max(TIMEOUT_MAX_S, `at most ${TIMEOUT_MAX_S} seconds (one hour)`)
        .default(defaultTimeoutS),
      idempotency_key: text("an idempotency key as text", 128).optional(),
    },
    {
      error: (issue) => {
        if (issue.code === "unrecognized_keys") {
          const plural = issue.keys.length > 1 ? "s" : "";
          return `unknown field${plural} ${issue.keys.join(", ")}; the fields are ${FIELDS.join(", ")}`;
        }
        if (issue.code === "invalid_type") {
          return 'expected a JSON object like {"agent": "coder", "tool": "exec_command", "args": {"cmd": "ls"}}';
        }
        return undefined;
      },
    },
  );
}

export type ApprovalRequestSchema = ReturnType<typeof approvalRequestSchema>;
/** A parsed request: `timeout_s` is filled in. */
export type ApprovalRequest = z.output<ApprovalRequestSchema>;
/** What a client sends. */
export type ApprovalRequestBody = z.input<ApprovalRequestSchema>;
