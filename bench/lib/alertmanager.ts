import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { findFreePort, type Spawned, spawnLogged, waitForHttp, which } from "./processes.ts";

/** Debian's name, then upstream's. */
const BINARIES = ["prometheus-alertmanager", "alertmanager"];

/** A receiver that sends nothing: the bench measures ingest, not notification. */
const CONFIG = `route:
  receiver: blackhole
receivers:
  - name: blackhole
`;

async function findBinary(): Promise<string | null> {
  const fromEnv = process.env.ALERTMANAGER_BIN;
  if (fromEnv) return fromEnv;
  for (const name of BINARIES) {
    const path = await which(name);
    if (path) return path;
  }
  return null;
}

function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}`)),
    );
  });
}

/**
 * The Alertmanager binary; installed from Debian packages (with wrk) when missing and we may
 * (root with apt-get), else an error that says how to get it.
 */
export async function ensureAlertmanager(log: (line: string) => void): Promise<string> {
  const found = await findBinary();
  if (found) return found;
  const canInstall = process.getuid?.() === 0 && (await which("apt-get")) !== null;
  if (!canInstall) {
    throw new Error(
      "Prometheus Alertmanager is not installed: run `apt-get update && apt-get install -y prometheus-alertmanager wrk`, or set ALERTMANAGER_BIN to an alertmanager binary",
    );
  }
  log("Alertmanager not found: installing prometheus-alertmanager and wrk from Debian packages…");
  await run("apt-get", ["update", "-qq"]);
  await run("apt-get", ["install", "-y", "-qq", "prometheus-alertmanager", "wrk"]);
  const installed = await findBinary();
  if (!installed) throw new Error("apt-get installed prometheus-alertmanager but its binary is not on PATH");
  return installed;
}

export async function alertmanagerVersion(binary: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(binary, ["--version"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.stderr.on("data", (c: Buffer) => (out += c.toString("utf8")));
    child.on("error", () => resolve("unknown"));
    child.on("exit", () => resolve(/version (\S+)/.exec(out)?.[1] ?? "unknown"));
  });
}

export interface RunningAlertmanager {
  url: string;
  proc: Spawned;
  stop(): Promise<void>;
}

/** Alertmanager on 127.0.0.1, no gossip, storage in `dir`, the blackhole config. */
export async function startAlertmanager(binary: string, dir: string): Promise<RunningAlertmanager> {
  const port = await findFreePort();
  const configFile = join(dir, "alertmanager.yml");
  await writeFile(configFile, CONFIG);
  const proc = spawnLogged(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--cluster.listen-address=",
    ],
    { logFile: join(dir, "alertmanager.log"), cwd: dir },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/-/ready`, proc, { name: "Alertmanager", timeoutMs: 30_000 });
  return { url, proc, stop: () => proc.stop() };
}
