/**
 * `pitwall hook claude-code [--agent NAME] [--timeout SECONDS]`: a Claude Code PreToolUse hook.
 *
 * Reads the hook payload on stdin (`{session_id, tool_name, tool_input, cwd, hook_event_name, ...}`),
 * asks pitwall (tool names are mapped by pitwall's tool_aliases: Bash -> exec_command, ...), waits
 * for the decision and prints Claude Code's answer on stdout:
 *
 *   {"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow"|"deny",
 *    "permissionDecisionReason": "..."}}
 *
 * It always answers before its own deadline: the approval is requested with `timeout_s` = --timeout
 * (default 50 s, under Claude Code's default hook timeout of 60 s), and when no decision arrived by
 * then the answer is deny. A hook killed by Claude Code's timeout would let the tool run, so set the
 * hook's `timeout` in .claude/settings.json longer than --timeout (docs/approvals.md).
 * Fails closed: bad input, pitwall unreachable, expiry -> deny, with the reason.
 *
 * Exit codes: 0 with the JSON answer on stdout (allow or deny); 2 on a usage error (Claude Code
 * treats exit 2 as "block the call" and shows stderr to Claude).
 *
 * Environment: PITWALL_URL (default http://127.0.0.1:8080), PITWALL_API_KEY (required),
 * PITWALL_AGENT (default agent; else "claude-code").
 */
import { parseArgs } from "node:util";
import { createClient, type Decision } from "../client/index.ts";
import { DEFAULT_URL, describeDecision, EXIT_USAGE } from "./guard.ts";

export const DEFAULT_HOOK_TIMEOUT_S = 50;
/** Answer this long before --timeout runs out at the latest (process start, output, exit). */
const ANSWER_MARGIN_MS = 1_500;

const USAGE = `Usage: pitwall hook claude-code [--agent NAME] [--timeout SECONDS]

A Claude Code PreToolUse hook: reads the hook payload on stdin, asks pitwall, prints allow or deny.
--timeout: how long a human may take (default ${DEFAULT_HOOK_TIMEOUT_S}); set the hook's "timeout" in
.claude/settings.json longer than this. Environment: PITWALL_URL, PITWALL_API_KEY, PITWALL_AGENT.
`;

export interface HookIo {
  env: NodeJS.ProcessEnv;
  stdin: AsyncIterable<string | Buffer>;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  fetch?: typeof fetch;
  /** Real time (ms) the process started; the deadline counts from it. */
  startedAt?: number;
}

export interface HookAnswer {
  hookSpecificOutput: {
    hookEventName: "PreToolUse";
    permissionDecision: "allow" | "deny";
    permissionDecisionReason: string;
  };
}

export function hookAnswer(allow: boolean, reason: string): HookAnswer {
  return {
    hookSpecificOutput: {
      hookEventName: "PreToolUse",
      permissionDecision: allow ? "allow" : "deny",
      permissionDecisionReason: reason.slice(0, 2000),
    },
  };
}

interface Payload {
  session_id?: unknown;
  tool_name?: unknown;
  tool_input?: unknown;
  cwd?: unknown;
  hook_event_name?: unknown;
}

async function readAll(stdin: AsyncIterable<string | Buffer>, limitBytes: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += buffer.length;
    if (size > limitBytes) throw new Error(`the payload is larger than ${limitBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function reasonFor(decision: Decision): string {
  return `pitwall: ${describeDecision(decision)}`;
}

export async function runHook(argv: readonly string[], io: Partial<HookIo> = {}): Promise<number> {
  const startedAt = io.startedAt ?? Date.now();
  const env = io.env ?? process.env;
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const stdin = io.stdin ?? process.stdin;
  const [kind, ...rest] = argv;
  let values: { agent?: string; timeout?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        agent: { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    stderr.write(`pitwall hook: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help || kind !== "claude-code") {
    stderr.write(
      kind === "claude-code" || values.help
        ? USAGE
        : `pitwall hook: unknown hook "${kind ?? ""}"\n\n${USAGE}`,
    );
    return EXIT_USAGE;
  }
  const timeoutS = values.timeout === undefined ? DEFAULT_HOOK_TIMEOUT_S : Number(values.timeout);
  if (!Number.isInteger(timeoutS) || timeoutS < 5 || timeoutS > 3600) {
    stderr.write(`pitwall hook: --timeout is whole seconds from 5 to 3600\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const deadline = startedAt + timeoutS * 1000 - ANSWER_MARGIN_MS;
  const answer = (allow: boolean, reason: string) => {
    stdout.write(`${JSON.stringify(hookAnswer(allow, reason))}\n`);
    return 0;
  };

  const apiKey = env.PITWALL_API_KEY;
  if (!apiKey)
    return answer(false, "pitwall: PITWALL_API_KEY is not set for the hook, so nothing can be approved");

  let payload: Payload;
  try {
    payload = JSON.parse(await readAll(stdin, 4 * 1024 * 1024)) as Payload;
  } catch (err) {
    return answer(false, `pitwall: could not read the hook payload (${(err as Error).message})`);
  }
  const tool = typeof payload?.tool_name === "string" ? payload.tool_name : undefined;
  const input = payload?.tool_input;
  if (!tool || typeof input !== "object" || input === null || Array.isArray(input)) {
    return answer(false, "pitwall: the hook payload has no tool_name and tool_input object");
  }
  const description = (input as { description?: unknown }).description;
  const client = createClient({
    url: env.PITWALL_URL ?? DEFAULT_URL,
    apiKey,
    agent: values.agent ?? env.PITWALL_AGENT ?? "claude-code",
    ...(io.fetch ? { fetch: io.fetch } : {}),
    // Never let a slow pitwall push the answer past the deadline.
    requestTimeoutMs: Math.max(1_000, Math.min(10_000, deadline - Date.now())),
  });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, deadline - Date.now()));
  try {
    const decision = await client.decide(tool, input as Record<string, unknown>, {
      timeoutS,
      timeoutMs: Math.max(0, deadline - Date.now()),
      signal: abort.signal,
      ...(typeof payload.session_id === "string" && payload.session_id !== ""
        ? { runId: payload.session_id }
        : {}),
      ...(typeof description === "string" && description !== "" ? { reason: description } : {}),
    });
    if (abort.signal.aborted && !decision.approved) {
      return answer(false, `pitwall: no decision within ${timeoutS} s, so not approved`);
    }
    return answer(decision.approved, reasonFor(decision));
  } finally {
    clearTimeout(timer);
  }
}
