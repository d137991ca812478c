import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createLogger } from "../../src/observability/logger.ts";
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from "../../src/store/embedded.ts";

/** The node flags `npm start` runs pitwall with (package.json), so the bench measures the same. */
const NODE_FLAGS = ["--max-semi-space-size=4"];

import { findFreePort, type Spawned, spawnLogged, waitForHttp } from "./processes.ts";

const BIN = new URL("../../bin/pitwall.js", import.meta.url).pathname;

export interface RunningPitwall {
  url: string;
  apiKey: string;
  proc: Spawned;
  /** Set when the bench started the database (and so can read it afterwards). */
  databaseUrl?: string;
  stop(): Promise<void>;
}

export interface StartPitwallOptions {
  /** A fresh directory: PITWALL_DATA_DIR, the working directory (no stray pitwall.yaml), logs. */
  dir: string;
  /**
   * `bench`: the bench starts a fresh embedded PostgreSQL and passes DATABASE_URL (so it can check
   * the rows afterwards); `pitwall`: pitwall starts its own, as `npm start` does.
   */
  database: "bench" | "pitwall";
  logLevel?: string;
  /**
   * pitwall.yaml for the run. Default: API-only (`console.enabled: false`): with no token and no
   * telegram section pitwall would otherwise start the local console and its Bot API emulator.
   */
  config?: string;
}

export const API_ONLY_CONFIG = "console:\n  enabled: false\n";

/**
 * pitwall as a user runs it (`bin/pitwall.js start`, its own process), API-only by default (no
 * Telegram token, no telegram section, console off), with one API key, on 127.0.0.1.
 */
export async function startPitwallProcess(opts: StartPitwallOptions): Promise<RunningPitwall> {
  const apiKey = randomBytes(24).toString("base64url");
  const port = await findFreePort();
  let pg: EmbeddedPostgresHandle | undefined;
  if (opts.database === "bench") {
    await mkdir(join(opts.dir, "bench-pg"), { recursive: true, mode: 0o755 });
    pg = await startEmbeddedPostgres({
      dataDir: join(opts.dir, "bench-pg"),
      log: createLogger({ level: "warn", service: "bench-postgres" }),
    });
  }
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_ROOT",
    "DATABASE_URL",
    "REDIS_URL",
    "PITWALL_CONFIG",
  ]) {
    delete env[name];
  }
  Object.assign(env, {
    PORT: String(port),
    HOST: "127.0.0.1",
    PITWALL_DATA_DIR: join(opts.dir, "data"),
    PITWALL_API_KEYS: `bench:${apiKey}`,
    LOG_LEVEL: opts.logLevel ?? "info",
  });
  if (pg) env.DATABASE_URL = pg.url;
  const configFile = join(opts.dir, "pitwall.yaml");
  await writeFile(configFile, opts.config ?? API_ONLY_CONFIG);
  env.PITWALL_CONFIG = configFile;
  const proc = spawnLogged(process.execPath, [...NODE_FLAGS, BIN, "start"], {
    logFile: join(opts.dir, "pitwall.log"),
    env,
    cwd: opts.dir,
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await proc.stop();
    await pg?.stop();
  };
  try {
    await waitForHttp(`${url}/healthz`, proc, { name: "pitwall", timeoutMs: 120_000 });
  } catch (err) {
    await stop();
    throw err;
  }
  const running: RunningPitwall = { url, apiKey, proc, stop };
  if (pg) running.databaseUrl = pg.url;
  return running;
}
