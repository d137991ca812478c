import { formatIssues, loadConfig } from "../config/index.ts";
import { readEnvironment, withServerSection } from "../env.ts";
import { startPitwall } from "../main.ts";
import { createLogger } from "../observability/logger.ts";

const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * `pitwall start`: validates environment and config (printing every problem, never a stack
 * trace), starts pitwall, and shuts it down gracefully on SIGINT/SIGTERM. Returns -1 while running
 * (the process stays alive), or the exit code when startup failed.
 */
export async function runStart(opts: { configFile?: string; demo?: boolean }): Promise<number> {
  const envResult = readEnvironment(process.env);
  if (!envResult.ok) {
    process.stderr.write(
      `pitwall: invalid environment:\n${envResult.errors.map((e) => `  ${e}`).join("\n")}\n`,
    );
    return 1;
  }
  const env = envResult.env;
  const loaded = await loadConfig({ file: opts.configFile ?? env.PITWALL_CONFIG, env: process.env });
  if (!loaded.ok) {
    process.stderr.write(
      `pitwall: invalid configuration in ${loaded.source}:\n${formatIssues(loaded.errors)}\n`,
    );
    return 1;
  }

  const log = createLogger({ level: env.LOG_LEVEL });
  let running: Awaited<ReturnType<typeof startPitwall>>;
  try {
    running = await startPitwall({
      config: loaded.config,
      configSource: loaded.source,
      env: withServerSection(env, process.env, loaded.config.server),
      log,
      demo: opts.demo === true || env.PITWALL_DEMO,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log.debug({ err }, "startup failed");
    log.fatal(message);
    process.stderr.write(`pitwall: ${message}\n`);
    return 1;
  }

  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, "second signal: exiting immediately");
      process.exit(1);
    }
    signalled = true;
    const deadline = setTimeout(() => {
      log.error("graceful shutdown took longer than 10 s: exiting");
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    running.stop(signal).then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, "error during shutdown");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return -1;
}
