/**
 * Idle memory: the resident set of a started pitwall's node process (API-only, as `pitwall
 * start` runs it with no token), after startup and 10 s idle. The embedded PostgreSQL pitwall
 * starts is a separate process and is shown beside it, not counted. Idle RSS moves by tens of MB
 * with the moment V8 collects, so the bench starts pitwall several times (fresh data dir each)
 * and takes the median. Target: under 150 MB (150 × 10⁶ bytes).
 */
import { parseArgs } from "node:util";
import { type BenchOutcome, fmt, machineLine, median, runBench, sleep, table } from "../lib/bench.ts";
import { startPitwallProcess } from "../lib/pitwall.ts";
import { childPids, commandOf, makeTempDir, rssBytes } from "../lib/processes.ts";

const TARGET_BYTES = 150e6;

const USAGE = `npm run bench -- memory [options]

  --idle S            seconds idle after startup before the reading (default 10)
  --runs N            fresh starts; the median is compared (default 3)
  --log-level LEVEL   pitwall's LOG_LEVEL (default info)
  --console           a newcomer's first run instead (local console and Bot API emulator on)
`;

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Every process under `pid` (not `pid` itself). */
async function descendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const child of await childPids(pid)) out.push(child, ...(await descendants(child)));
  return out;
}

interface Reading {
  startupMs: number;
  atReady: number;
  idle: number;
  peak: number;
  postgres: number;
  others: Array<{ command: string; rss: number }>;
}

async function measureOnce(idleS: number, logLevel: string, withConsole: boolean): Promise<Reading> {
  const dir = await makeTempDir("pitwall-bench-memory-");
  const started = Date.now();
  const pitwall = await startPitwallProcess({
    dir: dir.path,
    database: "pitwall",
    logLevel,
    ...(withConsole ? { config: "console:\n  enabled: auto\n" } : {}),
  });
  try {
    const startupMs = Date.now() - started;
    const atReady = (await rssBytes(pitwall.proc.pid)) ?? 0;
    let peak = atReady;
    for (let s = 1; s <= idleS; s++) {
      await sleep(1_000);
      const rss = await rssBytes(pitwall.proc.pid);
      if (rss === null)
        throw new Error(`pitwall exited while idle; its log ends:\n${await pitwall.proc.tail()}`);
      peak = Math.max(peak, rss);
    }
    const idle = (await rssBytes(pitwall.proc.pid)) ?? 0;
    let postgres = 0;
    const others: Reading["others"] = [];
    for (const pid of await descendants(pitwall.proc.pid)) {
      const rss = await rssBytes(pid);
      if (rss === null) continue;
      const command = await commandOf(pid);
      if (/postgres/.test(command)) postgres += rss;
      else others.push({ command: command.slice(0, 60), rss });
    }
    return { startupMs, atReady, idle, peak, postgres, others };
  } finally {
    await pitwall.stop().catch((err) => console.error("stopping pitwall:", err));
    await dir.remove();
  }
}

async function memory(args: string[]): Promise<BenchOutcome> {
  const { values } = parseArgs({
    args,
    options: {
      idle: { type: "string", default: "10" },
      runs: { type: "string", default: "3" },
      "log-level": { type: "string", default: "info" },
      console: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return { name: "memory", ratio: null, target: "< 1.0", met: null, note: "help shown" };
  }
  const idleS = Number(values.idle);
  const runs = Math.max(1, Number(values.runs));
  const mode = values.console ? "local console on (a newcomer's first run)" : "API-only";
  console.log(`memory: idle RSS of a started pitwall's node process, ${mode}, its own embedded PostgreSQL`);
  console.log(`machine: ${machineLine()}`);
  console.log(`method: ${runs} fresh start(s), RSS read from /proc after ${idleS} s idle, median compared`);

  const readings: Reading[] = [];
  for (let run = 1; run <= runs; run++) {
    const r = await measureOnce(idleS, values["log-level"], values.console);
    readings.push(r);
    console.log(
      `  run ${run}: started in ${fmt(r.startupMs)} ms (initdb included), RSS at ready ${mb(r.atReady)}, ` +
        `after ${idleS} s idle ${mb(r.idle)} (peak ${mb(r.peak)})`,
    );
  }

  const idle = median(readings.map((r) => r.idle));
  const last = readings[readings.length - 1]!;
  const ratio = idle / TARGET_BYTES;
  console.log("");
  console.log(
    table([
      ["process", "RSS"],
      [`pitwall node process after ${idleS} s idle (median)`, mb(idle)],
      [
        "  lowest / highest run",
        `${mb(Math.min(...readings.map((r) => r.idle)))} / ${mb(Math.max(...readings.map((r) => r.idle)))}`,
      ],
      ["  peak while idle (highest run)", mb(Math.max(...readings.map((r) => r.peak)))],
      ["embedded PostgreSQL, all its processes (last run; not counted)", mb(last.postgres)],
      ...last.others.map((o) => [`${o.command} (not counted)`, mb(o.rss)]),
    ]),
  );
  console.log("");
  console.log(`ratio RSS / 150 MB: ${ratio.toFixed(2)} (target < 1.0: ${ratio < 1 ? "met" : "MISSED"})`);
  return {
    name: "memory",
    ratio,
    target: "< 1.0",
    met: ratio < 1,
    note: `idle RSS ${mb(idle)} (median of ${runs}; ${mode}) of 150 MB`,
  };
}

await runBench("memory", memory);
