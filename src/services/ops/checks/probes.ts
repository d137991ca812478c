/**
 * One run of one configured health check (`checks:` in pitwall.yaml): http (status, body), tcp,
 * postgres, redis, disk, memory, command. Every probe is bounded by the check's timeout: past it
 * the run fails with "timed out" and whatever it held (socket, connection, child process) is
 * released. A probe never throws; failures are results.
 */
import { spawn } from "node:child_process";
import { connect as connectTcp } from "node:net";
import { Redis } from "ioredis";
import pg from "pg";
import type { Check, Comparison } from "../../../config/index.ts";
import { formatQuantity } from "../../../guards/degradation.ts";
import { type CheckResult, evaluateHostThresholds } from "../../../guards/health-check.ts";
import type { HostReader } from "../host.ts";

/** Bytes of an HTTP body read to look for `expect_body`. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Bytes of a command's output kept to explain a failure. */
const MAX_OUTPUT_BYTES = 4096;

export async function runCheck(check: Check, host: HostReader): Promise<CheckResult> {
  const controller = new AbortController();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, detail: `timed out after ${formatQuantity(check.timeout, "ms")}` });
    }, check.timeout);
  });
  try {
    const result = await Promise.race([probe(check, host, controller.signal), timedOut]);
    return { latency_ms: Math.round(performance.now() - started), ...result };
  } catch (err) {
    return { ok: false, latency_ms: Math.round(performance.now() - started), detail: errorText(err) };
  } finally {
    clearTimeout(timer);
    // Whatever the probe still holds is released (a no-op when it finished by itself).
    controller.abort();
  }
}

function probe(check: Check, host: HostReader, signal: AbortSignal): Promise<CheckResult> {
  switch (check.type) {
    case "http":
      return probeHttp(check, signal);
    case "tcp":
      return probeTcp(check.tcp!, signal);
    case "postgres":
      return probePostgres(check.postgres!, check.timeout, signal);
    case "redis":
      return probeRedis(check.redis!, check.timeout, signal);
    case "disk":
      return probeDisk(check, host);
    case "memory":
      return probeMemory(check, host);
    case "command":
      return probeCommand(check.command!, signal);
  }
}

/** A short, secret-free reason: the error code when there is one (URLs can carry credentials). */
export function errorText(err: unknown): string {
  const e = err as {
    code?: unknown;
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  } | null;
  const code = e?.cause?.code ?? e?.code;
  if (typeof code === "string" && code !== "") return code;
  const message = e?.cause?.message ?? e?.message;
  return typeof message === "string" && message !== "" ? message.slice(0, 200) : "failed";
}

async function probeHttp(check: Check, signal: AbortSignal): Promise<CheckResult> {
  const response = await fetch(check.http!, {
    method: check.method ?? "GET",
    headers: check.headers,
    signal,
  });
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  const expected = check.expect_status;
  const statusOk = expected
    ? expected.includes(response.status)
    : response.status >= 200 && response.status < 400;
  if (!statusOk) {
    await response.body?.cancel().catch(() => undefined);
    const wanted = expected ? ` (expected ${expected.join(" or ")})` : "";
    return { ok: false, detail: `${status}${wanted}` };
  }
  if (check.expect_body === undefined) {
    await response.body?.cancel().catch(() => undefined);
    return { ok: true, detail: status };
  }
  const body = await readBody(response);
  return body.includes(check.expect_body)
    ? { ok: true, detail: status }
    : { ok: false, detail: `${status}, but the body does not contain the expected text` };
}

async function readBody(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return Buffer.concat(chunks).toString("utf8");
}

function probeTcp(target: string, signal: AbortSignal): Promise<CheckResult> {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
  const host = match?.[1] ?? target;
  const port = Number(match?.[2]);
  return new Promise((resolve) => {
    const socket = connectTcp({ host, port });
    const finish = (result: CheckResult) => {
      socket.destroy();
      resolve(result);
    };
    socket.once("connect", () => finish({ ok: true, detail: "connected" }));
    socket.once("error", (err) => finish({ ok: false, detail: errorText(err) }));
    signal.addEventListener("abort", () => socket.destroy(), { once: true });
  });
}

async function probePostgres(url: string, timeoutMs: number, signal: AbortSignal): Promise<CheckResult> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    application_name: "pitwall-check",
  });
  // An 'error' event after the probe gave up must not crash the process.
  client.on("error", () => undefined);
  const end = () => client.end().catch(() => undefined);
  signal.addEventListener("abort", () => void end(), { once: true });
  try {
    await client.connect();
    await client.query("select 1");
    return { ok: true, detail: "select 1 ok" };
  } catch (err) {
    return { ok: false, detail: errorText(err) };
  } finally {
    await end();
  }
}

async function probeRedis(url: string, timeoutMs: number, signal: AbortSignal): Promise<CheckResult> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  client.on("error", () => undefined);
  signal.addEventListener("abort", () => client.disconnect(), { once: true });
  try {
    await client.connect();
    const answer = await client.ping();
    return answer === "PONG" ? { ok: true, detail: "PONG" } : { ok: false, detail: `answered ${answer}` };
  } catch (err) {
    return { ok: false, detail: errorText(err) };
  } finally {
    client.disconnect();
  }
}

/** A reading against its threshold: "disk 93 % > 90 %" when breached, else "disk 45 % used". */
function compare(
  name: "disk" | "memory",
  readings: { ratio: number; used_bytes: number },
  threshold: Comparison | null,
): CheckResult {
  const usage = `${name} ${formatQuantity(readings.ratio, "ratio")} used`;
  if (threshold === null) return { ok: true, detail: usage };
  const [result] = evaluateHostThresholds(
    name === "disk"
      ? { disk_ratio: readings.ratio, disk_used_bytes: readings.used_bytes }
      : { memory_ratio: readings.ratio, memory_used_bytes: readings.used_bytes },
    { [name]: threshold },
  );
  if (!result) return { ok: true, detail: usage };
  return result.breached ? { ok: false, detail: result.text } : { ok: true, detail: usage };
}

async function probeDisk(check: Check, host: HostReader): Promise<CheckResult> {
  const disk = await host.disk(check.disk!);
  return compare("disk", disk, check.threshold);
}

async function probeMemory(check: Check, host: HostReader): Promise<CheckResult> {
  const memory = await host.memory();
  const total = memory.total_bytes > 0 ? memory.total_bytes : 1;
  const used =
    check.memory === "process" ? memory.process_rss_bytes : memory.total_bytes - memory.available_bytes;
  return compare("memory", { ratio: used / total, used_bytes: used }, check.threshold);
}

function probeCommand(command: string | string[], signal: AbortSignal): Promise<CheckResult> {
  const [file, ...args] = typeof command === "string" ? ["/bin/sh", "-c", command] : command;
  return new Promise((resolve) => {
    // Its own process group, so a timeout kills the shell and everything it started.
    const child = spawn(file!, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-MAX_OUTPUT_BYTES);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    const kill = () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    };
    signal.addEventListener("abort", kill, { once: true });
    child.once("error", (err) => resolve({ ok: false, detail: errorText(err) }));
    child.once("close", (code, killedBy) => {
      signal.removeEventListener("abort", kill);
      const lastLine = output.trim().split("\n").pop()?.slice(0, 200) ?? "";
      if (code === 0) resolve({ ok: true, detail: "exit 0" });
      else if (code === null) resolve({ ok: false, detail: `killed by ${killedBy ?? "a signal"}` });
      else resolve({ ok: false, detail: lastLine ? `exit ${code}: ${lastLine}` : `exit ${code}` });
    });
  });
}
