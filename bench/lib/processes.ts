import { type ChildProcess, spawn } from "node:child_process";
import { constants, openSync } from "node:fs";
import { access, chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export { findFreePort } from "../../src/store/embedded.ts";

/** The full path of an executable on PATH, or null. */
export async function which(command: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** A temporary directory others can enter (embedded Postgres runs as `postgres` when we are root). */
export async function makeTempDir(prefix: string): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  await chmod(path, 0o755);
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines of its log (for error messages). */
  tail(lines?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a process whose stdout and stderr go straight to a file (the bench never reads a pipe under load). */
export function spawnLogged(
  command: string,
  args: readonly string[],
  opts: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Spawned {
  const fd = openSync(opts.logFile, "a");
  const child = spawn(command, args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ["ignore", fd, fd],
  });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    child,
    pid,
    logFile: opts.logFile,
    exited,
    async tail(lines = 30) {
      const text = await readFile(opts.logFile, "utf8").catch(() => "");
      return text.trimEnd().split("\n").slice(-lines).join("\n");
    },
    async stop(graceMs = 15_000) {
      if (done) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers with `expectStatus` (default any 2xx) or the process dies. */
export async function waitForHttp(
  url: string,
  proc: Spawned,
  opts: { timeoutMs?: number; name: string; ok?: (status: number) => boolean },
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  const ok = opts.ok ?? ((s: number) => s >= 200 && s < 300);
  let exited = false;
  void proc.exited.then(() => {
    exited = true;
  });
  for (;;) {
    if (exited) throw new Error(`${opts.name} exited during startup; its log ends:\n${await proc.tail()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (ok(res.status)) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      throw new Error(`${opts.name} did not become ready at ${url}; its log ends:\n${await proc.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resident set size of a process in bytes (Linux /proc), or null when it is gone. */
export async function rssBytes(pid: number): Promise<number | null> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => null);
  const match = status?.match(/^VmRSS:\s+(\d+)\s+kB$/m);
  return match?.[1] ? Number(match[1]) * 1024 : null;
}

/** Direct children of a process (Linux /proc). */
export async function childPids(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, "utf8").catch(() => "");
  return text.trim().split(/\s+/).filter(Boolean).map(Number);
}

export async function commandOf(pid: number): Promise<string> {
  const text = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return text.split("\0").filter(Boolean).join(" ");
}
