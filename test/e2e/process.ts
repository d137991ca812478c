import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFreePort } from "../../src/store/embedded.ts";

const BIN = new URL("../../bin/pitwall.js", import.meta.url).pathname;

/** pitwall started as a user would start it: `pitwall start`, in its own process. */
export interface PitwallProcess {
  child: ChildProcess;
  url: string;
  port: number;
  dataDir: string;
  /** All stdout+stderr so far. */
  output(): string;
  /** Resolves with the first output line matching `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function makeDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "pitwall-e2e-"));
  await chmod(dir, 0o755);
  return dir;
}

export async function spawnPitwall(
  opts: { args?: string[]; env?: Record<string, string | undefined>; dataDir?: string; port?: number } = {},
): Promise<PitwallProcess> {
  const port = opts.port ?? (await findFreePort());
  const dataDir = opts.dataDir ?? (await makeDataDir());
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({
    ...process.env,
    TELEGRAM_BOT_TOKEN: undefined,
    DATABASE_URL: undefined,
    REDIS_URL: undefined,
    PITWALL_CONFIG: undefined,
    PITWALL_API_KEYS: undefined,
    PORT: String(port),
    HOST: "127.0.0.1",
    PITWALL_DATA_DIR: dataDir,
    LOG_LEVEL: "info",
    ...opts.env,
  })) {
    if (v !== undefined) env[k] = v;
  }
  const child = spawn(process.execPath, [BIN, ...(opts.args ?? ["start"])], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    for (const waiter of [...waiters]) {
      const line = output.split("\n").find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    port,
    dataDir,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    waitForOutput(pattern, timeoutMs = 30_000) {
      const line = output.split("\n").find((l) => pattern.test(l));
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms; output:\n${output}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`pitwall exited before printing ${pattern}; output:\n${output}`));
        });
      });
    },
  };
}

/** True while `pid` runs; a zombie (exited, not yet reaped by its new parent) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/**
 * Stops a pitwall a test started: SIGTERM (graceful, stops its PostgreSQL), then SIGKILL after
 * 10 s. A test that killed pitwall with SIGKILL leaves its PostgreSQL running; that orphan is
 * stopped too, so test runs never leave servers behind.
 */
export async function stopPitwall(p: PitwallProcess): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill("SIGTERM");
    const timer = setTimeout(() => p.child.kill("SIGKILL"), 10_000);
    await p.exited;
    clearTimeout(timer);
  }
  let pgPid = 0;
  try {
    pgPid = Number.parseInt(readFileSync(`${p.dataDir}/pg/postmaster.pid`, "utf8").split("\n")[0] ?? "", 10);
  } catch {
    return; // no server was started, or it stopped cleanly and removed its pid file
  }
  if (pgPid && isAlive(pgPid)) {
    process.kill(pgPid, "SIGINT");
    for (let i = 0; i < 100 && isAlive(pgPid); i++) await new Promise((r) => setTimeout(r, 100));
  }
}
