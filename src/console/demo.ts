// The demo stream (`pitwall start --demo` or PITWALL_DEMO=1, console mode only): an agent fleet
// having a bad afternoon, played through pitwall's public HTTP API with a key made for this run,
// so every message in the console comes out of the real pipeline. Each feature area's endpoint is
// used only once it exists: one that answers 404 is skipped (one log line) for the rest of the run.

import { setTimeout as sleep } from "node:timers/promises";
import type { Config } from "../config/index.ts";
import type { Logger } from "../observability/logger.ts";

export interface DemoOptions {
  /** pitwall's own base URL, e.g. http://127.0.0.1:8080 */
  baseUrl: string;
  /** A key with every scope, made for this run only. */
  apiKey: string;
  log: Logger;
  /** Divides every pause (tests play the script fast). Default 1. */
  speed?: number;
  /** Pause between two rounds of the script. Default 90 s. */
  roundPauseMs?: number;
  /** Stop after this many rounds (tests). Default: until stopped. */
  rounds?: number;
}

export interface DemoHandle {
  /** Resolves when the script ends (after `rounds`, or once stopped). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

const AREAS = ["alerts", "approvals", "usage", "breakers"] as const;
type Area = (typeof AREAS)[number];

/** The breaker the demo trips; its cooldown is shortened so its recovery shows within a minute. */
export const DEMO_BREAKER = "openai";
const DEMO_BREAKER_COOLDOWN = { initialMs: 20_000, maxMs: 60_000 };
const ROUND_PAUSE_MS = 90_000;
/** The demo waits this long at most for an open breaker's retry time. */
const MAX_BREAKER_WAIT_MS = 5 * 60_000;

/**
 * The config a demo run uses: the demo's breaker gets a 20 s cooldown (the report's 15 minutes
 * would leave it open for most of the demo). Nothing else changes.
 */
export function demoConfig(config: Config): Config {
  const breakers = config.circuit_breaker.breakers;
  const existing = breakers.find((breaker) => breaker.name === DEMO_BREAKER);
  const demoBreaker = {
    name: DEMO_BREAKER,
    probe_url: existing?.probe_url ?? null,
    failure_threshold: existing?.failure_threshold ?? config.circuit_breaker.failure_threshold,
    timeout: DEMO_BREAKER_COOLDOWN,
    probe_interval: existing?.probe_interval ?? config.circuit_breaker.probe_interval,
  };
  return {
    ...config,
    circuit_breaker: {
      ...config.circuit_breaker,
      breakers: [...breakers.filter((breaker) => breaker.name !== DEMO_BREAKER), demoBreaker],
    },
  };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

export function startDemo(opts: DemoOptions): DemoHandle {
  const log = opts.log.child({ component: "demo" });
  const speed = opts.speed ?? 1;
  const stopper = new AbortController();
  const skipped = new Set<Area>();
  const complained = new Set<string>();
  const pending = new Set<Promise<unknown>>();
  let usageDone = false;

  const pause = (ms: number) => sleep(Math.max(0, ms / speed), undefined, { signal: stopper.signal });

  /** One API call; undefined when the area is skipped, refused, or the server is going away. */
  async function call(
    area: Area,
    method: "GET" | "POST",
    path: string,
    body?: unknown,
  ): Promise<Answer | undefined> {
    if (skipped.has(area) || stopper.signal.aborted) return undefined;
    let response: Response;
    try {
      response = await fetch(`${opts.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${opts.apiKey}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: stopper.signal,
      });
    } catch (err) {
      if (!stopper.signal.aborted) log.debug({ err, path }, "demo call failed");
      return undefined;
    }
    const answer: Answer = {
      status: response.status,
      body: ((await response.json().catch(() => ({}))) ?? {}) as Record<string, unknown>,
    };
    // A POST answered 404: that feature area has not landed in this build.
    if (response.status === 404 && method === "POST") {
      skip(area, method, path);
      return undefined;
    }
    if (response.status >= 400) {
      const key = `${area}:${response.status}`;
      if (!complained.has(key)) {
        complained.add(key);
        log.warn(
          { status: response.status, error: answer.body.error, message: answer.body.message },
          `demo: ${method} ${path} was refused; the demo goes on without it`,
        );
      }
      return undefined;
    }
    return answer;
  }

  function skip(area: Area, method: string, path: string): void {
    skipped.add(area);
    log.info(
      `demo: ${method} ${path} answered 404 (not in this build yet): skipping the ${area} part of the demo`,
    );
  }

  /** Runs `task` beside the script (an agent waiting for its approval), tracked for stop(). */
  function beside(task: Promise<unknown>): void {
    const tracked = task.catch(() => undefined).finally(() => pending.delete(tracked));
    pending.add(tracked);
  }

  const latency = {
    key: "demo:latency:api-gateway",
    severity: "warning",
    title: "p99 latency above 5 s on api-gateway",
    text: "p99 7.8 s over the last 5 minutes (threshold 5 s); 3 of 6 pods affected",
    source: "prometheus",
    labels: { alertname: "HighLatency", service: "api-gateway", env: "prod" },
  };
  const errors = {
    key: "demo:errors:coder",
    severity: "critical",
    title: "Agent coder: error rate 7.2 % (threshold 5 %)",
    text: "41 of 569 tool calls failed in 10 minutes, mostly exec_command timeouts",
    source: "agent-monitor",
    labels: { alertname: "AgentErrorRate", agent: "coder", env: "prod" },
  };
  const disk = {
    key: "demo:disk:runner-2",
    severity: "info",
    title: "Disk 82 % full on runner-2",
    text: "/var/lib/agents: 164 GB of 200 GB",
    source: "node-exporter",
    labels: { alertname: "DiskFilling", instance: "runner-2" },
  };

  async function approval(round: number): Promise<void> {
    const answer = await call("approvals", "POST", "/v1/approvals", {
      agent: "coder",
      tool: "exec_command",
      args: {
        command: "kubectl rollout restart deployment/api-gateway -n prod",
        cwd: "/srv/app",
        timeout_s: 120,
      },
      reason:
        "p99 latency is above 5 s since the last deploy; a rolling restart clears the stuck connection pool",
      run_id: `demo-run-${round}`,
      idempotency_key: `demo-${Date.now()}-${round}`,
    });
    const id = answer?.body.id;
    if (typeof id !== "string") {
      if (answer)
        log.info(
          { status: answer.body.status, rule: answer.body.rule },
          "demo: the approval was decided by policy",
        );
      return;
    }
    // The agent waits for the decision with long polls, as a real one does.
    beside(
      (async () => {
        for (;;) {
          const polled = await call("approvals", "GET", `/v1/approvals/${encodeURIComponent(id)}?wait=60`);
          if (!polled) return;
          const status = polled.body.status;
          if (status !== "pending") {
            log.info(
              { approval: id, status },
              `demo: the agent's exec_command request was ${String(status)}`,
            );
            return;
          }
        }
      })(),
    );
  }

  async function usage(): Promise<void> {
    if (usageDone) return;
    usageDone = true;
    for (let i = 0; i < 12; i++) {
      const answer = await call("usage", "POST", "/v1/usage", {
        provider: "openai",
        model: "gpt-4",
        agent: "coder",
        input_tokens: 11_000 + 500 * i,
        output_tokens: 2_400,
        request_id: `demo-${Date.now()}-${i}`,
      });
      if (!answer) return;
      const budgets = Array.isArray(answer.body.budgets)
        ? (answer.body.budgets as Array<{ pct?: number }>)
        : [];
      if (budgets.some((budget) => typeof budget.pct === "number" && budget.pct >= 80)) return;
      await pause(2_500);
    }
  }

  async function breaker(): Promise<void> {
    const path = `/v1/breakers/${DEMO_BREAKER}`;
    let retryAt: unknown;
    for (let i = 0; i < 3; i++) {
      const answer = await call("breakers", "POST", `${path}/report`, {
        ok: false,
        status_code: 503,
        latency_ms: 30_000,
        error: "upstream timed out",
      });
      if (!answer) return;
      retryAt = answer.body.retry_at;
      await pause(1_500);
    }
    const waitMs = typeof retryAt === "string" ? Date.parse(retryAt) - Date.now() : 20_000;
    // Not scaled: the breaker's cooldown runs on the server's clock.
    await sleep(Math.min(Math.max(waitMs, 0) + 1_000, MAX_BREAKER_WAIT_MS), undefined, {
      signal: stopper.signal,
    });
    await call("breakers", "GET", `${path}/permit`);
    await call("breakers", "POST", `${path}/report`, { ok: true, latency_ms: 640, status_code: 200 });
  }

  async function round(index: number): Promise<void> {
    await call("alerts", "POST", "/v1/alerts", latency);
    await pause(4_000);
    await call("alerts", "POST", "/v1/alerts", errors);
    await pause(4_000);
    await approval(index);
    await pause(4_000);
    for (let i = 0; i < 3; i++) {
      await call("alerts", "POST", "/v1/alerts", latency);
      await pause(5_000);
    }
    await call("alerts", "POST", "/v1/alerts", disk);
    await usage();
    await pause(4_000);
    await breaker();
    await pause(5_000);
    await call("alerts", "POST", "/v1/alerts", { ...latency, status: "resolved" });
    await pause(3_000);
    await call("alerts", "POST", "/v1/alerts", { ...errors, status: "resolved" });
  }

  const done = (async () => {
    log.info("demo: playing a stream of alerts, an approval, usage and a breaker through the HTTP API");
    try {
      for (let index = 1; opts.rounds === undefined || index <= opts.rounds; index++) {
        await round(index);
        if (skipped.size === AREAS.length) {
          log.info("demo: none of its endpoints exist in this build; the demo stops");
          break;
        }
        if (opts.rounds !== undefined && index >= opts.rounds) break;
        await pause(opts.roundPauseMs ?? ROUND_PAUSE_MS);
      }
      await Promise.all(pending);
    } catch (err) {
      if (!stopper.signal.aborted) log.warn({ err }, "demo: the script stopped");
    }
  })();

  return {
    done,
    async stop() {
      stopper.abort();
      await done;
      await Promise.all(pending);
    },
  };
}
