import { cpus, loadavg, totalmem } from "node:os";

/** What a bench reports to `bench/run.ts` (one `BENCH_RESULT {json}` line on stdout). */
export interface BenchOutcome {
  name: string;
  /** The measured ratio against the anchor, or null when it could not be measured. */
  ratio: number | null;
  /** e.g. "≥ 1.0" */
  target: string;
  /** null: not measured (see `note`). */
  met: boolean | null;
  /** One line: the headline numbers, or why nothing was measured. */
  note: string;
}

export const RESULT_PREFIX = "BENCH_RESULT ";

/** A bench failure whose message is the whole story (no stack). */
export class BenchUnavailable extends Error {}

/**
 * Runs a bench as a program: prints its outcome line; exit 0 when the target is met, 1 when it is
 * missed, could not be measured, or the harness failed.
 */
export async function runBench(name: string, fn: (args: string[]) => Promise<BenchOutcome>): Promise<void> {
  let outcome: BenchOutcome;
  try {
    outcome = await fn(process.argv.slice(2));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (!(err instanceof BenchUnavailable)) console.error(err);
    console.log(`\n${name}: NOT MEASURED — ${message}`);
    outcome = { name, ratio: null, target: "", met: null, note: message.split("\n")[0] ?? message };
  }
  console.log(`${RESULT_PREFIX}${JSON.stringify(outcome)}`);
  process.exitCode = outcome.met === true ? 0 : 1;
}

export function machineLine(): string {
  const cpu = cpus();
  const model = cpu[0]?.model.replace(/\s+/g, " ").trim() ?? "unknown CPU";
  const [l1] = loadavg();
  return `${cpu.length} CPU × ${model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${l1?.toFixed(2)} at start`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** A left-aligned first column, right-aligned others. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row) =>
      row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "),
    )
    .join("\n");
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
