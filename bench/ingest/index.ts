/**
 * Durable alert ingest: pitwall's `POST /v1/alerts` (202 only after commit) against Prometheus
 * Alertmanager's own `POST /api/v2/alerts`, on this machine, with the same load generator and the
 * same load: one alert per request, 1 000 keys cycling, 32 connections, 10 s measured after a
 * warm-up. Rounds alternate between the two (Alertmanager first) and the medians are compared,
 * so a burst of other work on the machine hits both. Target: pitwall / Alertmanager ≥ 1.0, with
 * every 202 found in PostgreSQL afterwards.
 */
import { parseArgs } from "node:util";
import pg from "pg";
import { alertmanagerVersion, ensureAlertmanager, startAlertmanager } from "../lib/alertmanager.ts";
import {
  type BenchOutcome,
  BenchUnavailable,
  fmt,
  machineLine,
  median,
  runBench,
  table,
} from "../lib/bench.ts";
import { defaultTool, type LoadResult, type LoadSpec, type LoadTool, runLoad } from "../lib/load.ts";
import { type RunningPitwall, startPitwallProcess } from "../lib/pitwall.ts";
import { makeTempDir } from "../lib/processes.ts";

const USAGE = `npm run bench -- ingest [options]

  --tool wrk|autocannon   load generator for both sides (default: wrk when installed)
  --duration S            measured seconds per round (default 10)
  --warmup S              warm-up seconds before each measurement (default 3)
  --connections N         concurrent connections (default 32)
  --keys N                distinct alert keys, cycled (default 1000)
  --rounds N              alternating rounds; medians are compared (default 3)
  --log-level LEVEL       pitwall's LOG_LEVEL (default info, as in production)
  --keep                  keep the temporary directory (logs) afterwards
`;

/** The same alert for both: labels alertname + instance (1 000 instances), a summary. */
const PITWALL_BODY =
  '{"key":"bench-k{{k}}","severity":"warning","title":"bench alert {{k}}","source":"bench",' +
  '"labels":{"alertname":"BenchAlert","instance":"host-{{k}}"}}';
const ALERTMANAGER_BODY =
  '[{"labels":{"alertname":"BenchAlert","instance":"host-{{k}}","severity":"warning","source":"bench"},' +
  '"annotations":{"summary":"bench alert {{k}}"}}]';

interface Side {
  name: string;
  spec: LoadSpec;
  okStatus: number;
  measured: LoadResult[];
  /** Every response of every run (warm-ups included), by status. */
  statuses: Record<string, number>;
}

function addStatuses(into: Record<string, number>, from: Record<string, number>): void {
  for (const [code, n] of Object.entries(from)) into[code] = (into[code] ?? 0) + n;
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

async function ingest(args: string[]): Promise<BenchOutcome> {
  const { values } = parseArgs({
    args,
    options: {
      tool: { type: "string" },
      duration: { type: "string", default: "10" },
      warmup: { type: "string", default: "3" },
      connections: { type: "string", default: "32" },
      keys: { type: "string", default: "1000" },
      rounds: { type: "string", default: "3" },
      "log-level": { type: "string", default: "info" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return { name: "ingest", ratio: null, target: "≥ 1.0", met: null, note: "help shown" };
  }
  const tool: LoadTool =
    values.tool === "wrk" || values.tool === "autocannon" ? values.tool : await defaultTool();
  const durationS = Number(values.duration);
  const warmupS = Number(values.warmup);
  const connections = Number(values.connections);
  const keys = Number(values.keys);
  const rounds = Math.max(1, Number(values.rounds));

  const log = (line: string) => console.log(line);
  log("ingest: durable POST /v1/alerts (pitwall) vs POST /api/v2/alerts (Prometheus Alertmanager)");
  log(`machine: ${machineLine()}`);
  log(
    `load: ${tool}${tool === "wrk" ? " (1 thread)" : ""}, ${connections} connections, one alert per request, ` +
      `${fmt(keys)} keys cycling, ${warmupS} s warm-up + ${durationS} s measured, ${rounds} alternating round(s)`,
  );

  const dir = await makeTempDir("pitwall-bench-ingest-");
  const binary = await ensureAlertmanager(log);
  const amVersion = await alertmanagerVersion(binary);
  let pitwall: RunningPitwall | undefined;
  const alertmanager = await startAlertmanager(binary, dir.path);
  try {
    log(`Alertmanager ${amVersion} at ${alertmanager.url} (no gossip, blackhole receiver)`);
    pitwall = await startPitwallProcess({ dir: dir.path, database: "bench", logLevel: values["log-level"] });
    log(`pitwall at ${pitwall.url} (API-only, fresh embedded PostgreSQL, LOG_LEVEL=${values["log-level"]})`);
    const unavailable = await probePitwall(pitwall);
    if (unavailable) log(`\n${unavailable}\nMeasuring Alertmanager alone (the harness check).`);

    const am: Side = {
      name: `Alertmanager ${amVersion}`,
      okStatus: 200,
      measured: [],
      statuses: {},
      spec: {
        url: alertmanager.url,
        path: "/api/v2/alerts",
        headers: { "Content-Type": "application/json" },
        bodyTemplate: ALERTMANAGER_BODY,
        keys,
        connections,
        durationS,
      },
    };
    const pw: Side = {
      name: "pitwall",
      okStatus: 202,
      measured: [],
      statuses: {},
      spec: {
        url: pitwall.url,
        path: "/v1/alerts",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${pitwall.apiKey}` },
        bodyTemplate: PITWALL_BODY,
        keys,
        connections,
        durationS,
      },
    };
    const sides = unavailable ? [am] : [am, pw];

    for (let round = 1; round <= rounds; round++) {
      for (const side of sides) {
        if (warmupS > 0) {
          const warm = await runLoad(tool, { ...side.spec, durationS: warmupS }, dir.path);
          addStatuses(side.statuses, warm.statuses);
        }
        const result = await runLoad(tool, side.spec, dir.path);
        addStatuses(side.statuses, result.statuses);
        side.measured.push(result);
        log(
          `  round ${round} ${side.name.padEnd(22)} ${fmt(result.requestsPerSecond).padStart(7)} req/s  ` +
            `p50 ${ms(result.p50Ms)}  p99 ${ms(result.p99Ms)}  non-2xx ${result.non2xx}  errors ${result.socketErrors}`,
        );
      }
    }

    const rows: string[][] = [
      ["", "req/s (median)", "p50", "p99", "non-2xx", "socket errors", "rounds req/s"],
    ];
    for (const side of sides) {
      const m = side.measured;
      rows.push([
        side.name,
        fmt(median(m.map((r) => r.requestsPerSecond))),
        ms(median(m.map((r) => r.p50Ms))),
        ms(median(m.map((r) => r.p99Ms))),
        String(m.reduce((a, r) => a + r.non2xx, 0)),
        String(m.reduce((a, r) => a + r.socketErrors, 0)),
        m.map((r) => fmt(r.requestsPerSecond)).join(" / "),
      ]);
    }
    log("");
    log(table(rows));

    // Every answer must have been a success, and every accepted alert must be held.
    const problems: string[] = [];
    for (const side of sides) {
      const bad = Object.entries(side.statuses).filter(([code]) => Number(code) !== side.okStatus);
      if (bad.length > 0)
        problems.push(`${side.name} answered ${bad.map(([c, n]) => `${n}× ${c}`).join(", ")}`);
    }
    const amHeld = await countAlertmanagerAlerts(alertmanager.url);
    const amExpected = Math.min(keys, am.statuses[String(am.okStatus)] ?? 0);
    log("");
    log(`check: Alertmanager holds ${fmt(amHeld)} BenchAlert alerts (expected ${fmt(amExpected)})`);
    if (amHeld !== amExpected) problems.push(`Alertmanager holds ${amHeld} alerts, expected ${amExpected}`);

    const amRps = median(am.measured.map((r) => r.requestsPerSecond));
    if (unavailable) {
      for (const p of problems) log(`PROBLEM: ${p}`);
      throw new BenchUnavailable(
        `${unavailable.split("\n")[0]} (Alertmanager alone: ${fmt(amRps)} req/s${problems.length > 0 ? `; ${problems[0]}` : ""})`,
      );
    }

    problems.push(...(await verifyPitwall(pitwall, pw.statuses["202"] ?? 0, keys, log)));
    for (const p of problems) log(`PROBLEM: ${p}`);

    const pwRps = median(pw.measured.map((r) => r.requestsPerSecond));
    const ratio = pwRps / amRps;
    const perRound = pw.measured.map(
      (r, i) => r.requestsPerSecond / (am.measured[i]?.requestsPerSecond ?? Number.NaN),
    );
    log("");
    log(
      `ratio pitwall / Alertmanager: ${ratio.toFixed(2)} (target ≥ 1.0: ${ratio >= 1 ? "met" : "MISSED"}; ` +
        `per round ${perRound.map((r) => r.toFixed(2)).join(", ")})`,
    );
    const met = ratio >= 1 && problems.length === 0;
    return {
      name: "ingest",
      ratio,
      target: "≥ 1.0",
      met,
      note:
        `pitwall ${fmt(pwRps)} req/s vs Alertmanager ${fmt(amRps)} req/s (${tool}, ${connections} conns)` +
        (problems.length > 0 ? `; ${problems.length} problem(s): ${problems[0]}` : "; every 202 committed"),
    };
  } finally {
    await pitwall?.stop().catch((err) => console.error("stopping pitwall:", err));
    await alertmanager.stop().catch((err) => console.error("stopping Alertmanager:", err));
    if (values.keep) log(`kept ${dir.path} (logs: pitwall.log, alertmanager.log)`);
    else await dir.remove();
  }
}

/**
 * One alert before the load. Returns why pitwall cannot be measured when the endpoint is not
 * there (yet); throws when it refuses a valid alert.
 */
async function probePitwall(pitwall: RunningPitwall): Promise<string | null> {
  const res = await fetch(`${pitwall.url}/v1/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${pitwall.apiKey}` },
    body: JSON.stringify({ key: "bench-probe", severity: "info", title: "bench probe", source: "bench" }),
  });
  const body = await res.text();
  if (res.status === 404) {
    return (
      "pitwall answers 404 to POST /v1/alerts: the alerts endpoint is not there yet (the alerts module " +
      "is not wired into main), so there is nothing to compare."
    );
  }
  if (res.status !== 202) {
    throw new BenchUnavailable(
      `pitwall answered ${res.status} to a valid alert (expected 202): ${body.slice(0, 300)}`,
    );
  }
  return null;
}

async function countAlertmanagerAlerts(url: string): Promise<number> {
  const res = await fetch(`${url}/api/v2/alerts?filter=${encodeURIComponent('alertname="BenchAlert"')}`);
  const alerts = (await res.json()) as unknown[];
  return alerts.length;
}

/**
 * Reads PostgreSQL directly: one open incident per key, and the counts add up to the 202s
 * (a 202 is only sent after commit, so none may be missing).
 */
async function verifyPitwall(
  pitwall: RunningPitwall,
  accepted: number,
  keys: number,
  log: (line: string) => void,
): Promise<string[]> {
  if (!pitwall.databaseUrl) return ["pitwall's database is not reachable from the bench"];
  const client = new pg.Client({ connectionString: pitwall.databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{
      incidents: number;
      keys: number;
      total: string | null;
      open: number;
    }>(
      `select count(*)::int as incidents, count(distinct key)::int as keys, sum(count)::text as total,
              count(*) filter (where status <> 'resolved')::int as open
         from alerts where key like 'bench-k%'`,
    );
    const r = rows[0] ?? { incidents: 0, keys: 0, total: null, open: 0 };
    const total = Number(r.total ?? 0);
    const expectedKeys = Math.min(keys, accepted);
    log(
      `check: PostgreSQL holds ${fmt(r.incidents)} bench incidents (${fmt(r.open)} open, ${fmt(r.keys)} keys; expected ${fmt(expectedKeys)}) ` +
        `with counts summing to ${fmt(total)} (202 answers: ${fmt(accepted)})`,
    );
    const problems: string[] = [];
    if (r.incidents !== expectedKeys || r.keys !== expectedKeys) {
      problems.push(
        `PostgreSQL holds ${r.incidents} incidents over ${r.keys} keys, expected ${expectedKeys}`,
      );
    }
    if (total < accepted) problems.push(`${accepted - total} alerts answered 202 are not in PostgreSQL`);
    if (total > accepted) {
      // Requests cut off by the load generator's stop may have committed without their answer being counted.
      log(
        `note: ${total - accepted} committed alerts had no 202 counted (in flight when the load generator stopped)`,
      );
    }
    return problems;
  } finally {
    await client.end();
  }
}

await runBench("ingest", ingest);
