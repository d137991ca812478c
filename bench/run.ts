/**
 * `npm run bench` runs every bench (bench/<name>/index.ts), each in its own process, one after
 * the other; `npm run bench -- ingest [options]` runs one, passing the options on. Benches print
 * their numbers and a ratio against their anchor (DESIGN.md, Performance); this prints the
 * summary. Exit 1 when a bench missed its target or could not measure. Not part of `npm test`.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { type BenchOutcome, RESULT_PREFIX, table } from "./lib/bench.ts";

const BENCH_DIR = new URL(".", import.meta.url).pathname;

function available(): string[] {
  return readdirSync(BENCH_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== "lib" && existsSync(join(BENCH_DIR, e.name, "index.ts")))
    .map((e) => e.name)
    .sort();
}

function runOne(name: string, args: string[]): Promise<BenchOutcome> {
  return new Promise((resolve) => {
    // The same node and loader flags (tsx) this process runs with.
    const child = spawn(process.execPath, [...process.execArgv, join(BENCH_DIR, name, "index.ts"), ...args], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let outcome: BenchOutcome | undefined;
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString("utf8");
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith(RESULT_PREFIX))
          outcome = JSON.parse(line.slice(RESULT_PREFIX.length)) as BenchOutcome;
        else process.stdout.write(`${line}\n`);
      }
    });
    child.on("exit", (code, signal) => {
      resolve(
        outcome ?? {
          name,
          ratio: null,
          target: "",
          met: null,
          note: `exited ${signal ?? code} without a result`,
        },
      );
    });
  });
}

async function main(argv: string[]): Promise<number> {
  const names = available();
  const [first, ...rest] = argv;
  if (first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(
      `npm run bench [-- NAME [options]]\n\nbenches: ${names.join(", ")}\n` +
        "`npm run bench -- NAME --help` shows a bench's options.\n",
    );
    return 0;
  }
  let selected: string[];
  let args: string[] = [];
  if (first !== undefined && !first.startsWith("-")) {
    if (!names.includes(first)) {
      process.stderr.write(`unknown bench "${first}"; benches: ${names.join(", ")}\n`);
      return 2;
    }
    selected = [first];
    args = rest;
  } else if (argv.length > 0) {
    process.stderr.write("options go after a bench's name: npm run bench -- ingest --rounds 1\n");
    return 2;
  } else {
    selected = names;
  }

  const outcomes: BenchOutcome[] = [];
  for (const name of selected) {
    process.stdout.write(`\n=== bench ${name} ===\n`);
    outcomes.push(await runOne(name, args));
  }

  const rows = [["bench", "ratio", "target", "result", ""]];
  for (const o of outcomes) {
    rows.push([
      o.name,
      o.ratio === null ? "-" : o.ratio.toFixed(2),
      o.target || "-",
      o.met === null ? "NOT MEASURED" : o.met ? "met" : "MISSED",
      o.note,
    ]);
  }
  process.stdout.write(`\n=== summary ===\n${table(rows)}\n`);
  return outcomes.every((o) => o.met === true) ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
