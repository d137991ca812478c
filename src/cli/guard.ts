/**
 * `pitwall guard --tool exec_command [--agent A] [--reason R] [--run-id ID] [--timeout S] -- <command...>`
 *
 * Asks pitwall before running a command, and runs it only when approved. Fails closed: denied,
 * expired, pitwall unreachable or any error -> the command does not run.
 *
 * Exit codes:
 *   the command's own  approved: the command ran; its exit code is passed through (killed by a
 *                      signal: 128 + the signal's number)
 *   126                not approved: denied, expired, or pitwall unreachable (the reason on stderr)
 *   127                approved, but the command could not be started (not found, not executable)
 *   2                  usage error (nothing was asked, nothing ran)
 *
 * Environment: PITWALL_URL (default http://127.0.0.1:8080), PITWALL_API_KEY (required),
 * PITWALL_AGENT (default agent when --agent is not given).
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { parseArgs } from "node:util";
import { createClient, type Decision } from "../client/index.ts";

export const EXIT_NOT_APPROVED = 126;
export const EXIT_CANNOT_RUN = 127;
export const EXIT_USAGE = 2;
export const DEFAULT_URL = "http://127.0.0.1:8080";

const USAGE = `Usage: pitwall guard --tool TOOL [--agent NAME] [--reason TEXT] [--run-id ID] [--timeout SECONDS] -- COMMAND [ARGS...]

Runs COMMAND only when pitwall approves the call; exit 126 (with the reason) when it does not.
Environment: PITWALL_URL (default ${DEFAULT_URL}), PITWALL_API_KEY, PITWALL_AGENT.
`;

export interface GuardIo {
  env: NodeJS.ProcessEnv;
  stderr: { write(text: string): unknown };
  cwd: string;
  /** For tests; default the global fetch. */
  fetch?: typeof fetch;
}

/** `cmd` as a shell would read it back: words with spaces or quotes are single-quoted. */
export function shellJoin(argv: readonly string[]): string {
  return argv
    .map((word) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`))
    .join(" ");
}

export function describeDecision(decision: Decision): string {
  const who = decision.approval?.decided_by?.name;
  switch (decision.status) {
    case "denied":
      return `denied${who ? ` by ${who}` : decision.by === "policy" ? ` by policy (${decision.rule})` : ""}: ${decision.reason}`;
    case "expired":
      return `expired: ${decision.reason}`;
    case "unreachable":
      return `pitwall unreachable, so not approved: ${decision.reason}`;
    case "error":
      return `not approved: ${decision.reason}`;
    case "approved":
      return `approved${who ? ` by ${who}` : decision.by === "policy" ? ` by policy (${decision.rule})` : ""}`;
  }
}

export async function runGuard(argv: readonly string[], io: Partial<GuardIo> = {}): Promise<number> {
  const env = io.env ?? process.env;
  const stderr = io.stderr ?? process.stderr;
  const cwd = io.cwd ?? process.cwd();
  const split = argv.indexOf("--");
  const flags = split < 0 ? argv : argv.slice(0, split);
  const command = split < 0 ? [] : argv.slice(split + 1);
  let values: {
    tool?: string;
    agent?: string;
    reason?: string;
    "run-id"?: string;
    timeout?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...flags],
      options: {
        tool: { type: "string" },
        agent: { type: "string" },
        reason: { type: "string" },
        "run-id": { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    stderr.write(`pitwall guard: ${(err as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (values.help) {
    stderr.write(USAGE);
    return EXIT_USAGE;
  }
  const problems: string[] = [];
  if (!values.tool) problems.push("--tool is required (e.g. --tool exec_command)");
  if (command.length === 0) problems.push("the command to run goes after -- (e.g. -- rm -rf build)");
  const apiKey = env.PITWALL_API_KEY;
  if (!apiKey) problems.push("PITWALL_API_KEY is not set");
  const agent = values.agent ?? env.PITWALL_AGENT;
  if (!agent) problems.push("no agent: pass --agent NAME or set PITWALL_AGENT");
  let timeoutS: number | undefined;
  if (values.timeout !== undefined) {
    timeoutS = Number(values.timeout);
    if (!Number.isInteger(timeoutS) || timeoutS < 5 || timeoutS > 3600)
      problems.push("--timeout is whole seconds from 5 to 3600");
  }
  if (problems.length > 0 || !values.tool || !apiKey || !agent) {
    stderr.write(`pitwall guard: ${problems.join("; ")}\n\n${USAGE}`);
    return EXIT_USAGE;
  }

  const client = createClient({
    url: env.PITWALL_URL ?? DEFAULT_URL,
    apiKey,
    agent,
    ...(io.fetch ? { fetch: io.fetch } : {}),
  });
  const decision = await client.decide(
    values.tool,
    { cmd: shellJoin(command), argv: command, cwd },
    {
      ...(values.reason === undefined ? {} : { reason: values.reason }),
      ...(values["run-id"] === undefined ? {} : { runId: values["run-id"] }),
      ...(timeoutS === undefined ? {} : { timeoutS }),
    },
  );
  if (!decision.approved) {
    stderr.write(`pitwall guard: ${shellJoin(command)}: ${describeDecision(decision)}\n`);
    return EXIT_NOT_APPROVED;
  }
  return run(command, cwd, env, stderr);
}

function run(
  command: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  stderr: { write(text: string): unknown },
): Promise<number> {
  const [file, ...args] = command as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd, env, stdio: "inherit" });
    child.once("error", (err: NodeJS.ErrnoException) => {
      stderr.write(`pitwall guard: approved, but ${file} could not be started: ${err.code ?? err.message}\n`);
      resolve(EXIT_CANNOT_RUN);
    });
    child.once("exit", (code, signal) => {
      if (signal) {
        const number = (constants.signals as Record<string, number>)[signal] ?? 0;
        resolve(128 + number);
        return;
      }
      resolve(code ?? 1);
    });
  });
}
