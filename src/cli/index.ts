import { parseArgs } from "node:util";
import { runCheckConfig } from "../config/index.ts";
import { runAlert } from "./alert.ts";
import { runGuard } from "./guard.ts";
import { runHook } from "./hook.ts";
import { runStart } from "./start.ts";

const USAGE = `pitwall — the control desk for fleets of AI agents

Usage:
  pitwall start [--config FILE] [--demo]
                                    start the service (HTTP API, Telegram bot, delivery);
                                    --demo plays a demo stream into the local console
  pitwall check-config [FILE]       validate a pitwall.yaml; exit 1 with path-precise errors
  pitwall alert --severity LEVEL --title TEXT [--key K] [--label k=v]... [--text T] [--resolve]
                                    raise or resolve an alert on a running pitwall
                                    (PITWALL_URL, PITWALL_API_KEY; see pitwall alert --help)
  pitwall guard --tool TOOL [--agent A] -- CMD...
                                    run CMD only if pitwall approves it (exit 126 if not)
  pitwall hook claude-code [--timeout S]
                                    Claude Code PreToolUse hook: payload on stdin, allow/deny JSON on stdout
  pitwall help                      this text

Environment: TELEGRAM_BOT_TOKEN, DATABASE_URL, REDIS_URL, PITWALL_CONFIG, PORT, HOST,
PITWALL_DATA_DIR, PITWALL_API_KEYS, TELEGRAM_API_ROOT, LOG_LEVEL, PITWALL_DEMO (see README.md).
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start": {
      const { values } = parseArgs({
        args: rest,
        options: { config: { type: "string", short: "c" }, demo: { type: "boolean" } },
      });
      return runStart({ configFile: values.config, demo: values.demo });
    }
    case "alert":
      return runAlert(rest);
    case "guard":
      return runGuard(rest);
    case "hook":
      return runHook(rest);
    case "check-config": {
      const { positionals } = parseArgs({ args: rest, allowPositionals: true });
      const result = await runCheckConfig(positionals[0], process.env);
      (result.exitCode === 0 ? process.stdout : process.stderr).write(`${result.output.trimEnd()}\n`);
      return result.exitCode;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`pitwall: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // `start` keeps running until a signal; every other command exits with its code.
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`pitwall: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
