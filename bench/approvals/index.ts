/**
 * Approval latency: pitwall's own overhead on the two paths an agent waits on (DESIGN.md,
 * Performance), over 1 000 approvals, one at a time:
 *
 *   prompt    POST /v1/approvals  ->  the card's sendMessage reaching the (fake) Bot API
 *             (policy, commit with the outbox row, NOTIFY, the worker's claim and pacing check,
 *             the Bot API call)
 *   decision  an approver's callback query  ->  the agent's long poll (GET ?wait=60) answered
 *             (getUpdates hand-off, the bot's handler, the conditional UPDATE with the card edit,
 *             the coordinator's wake-up, the long poll's re-read and answer)
 *
 * Reported as p50 and p99; target p50 < 20 ms each (ratio = 20 ms / the slower p50, met when
 * ≥ 1). Outbox pacing is kept out of the measurement: the fake Bot API enforces no limits and the
 * worker paces generously (with Telegram's group limit of 20/min, the Nth prompt of a burst waits
 * about 3 s × N for its turn — Telegram's limit, not pitwall's overhead). The outbox's own part
 * (enqueue -> sent, from its rows) is reported apart.
 *
 * Everything runs in this process against a fresh embedded PostgreSQL (the Postgres coordinator,
 * as without REDIS_URL), the fake Bot API over HTTP, the HTTP API on a loopback port.
 */
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { createBot } from "../../src/bot/create-bot.ts";
import { startTelegram } from "../../src/bot/polling.ts";
import { type Config, formatIssues, parseConfig } from "../../src/config/index.ts";
import { createPostgresCoordinator } from "../../src/coord/postgres.ts";
import { createOutboxApi, createOutboxWorker } from "../../src/delivery/index.ts";
import { createHttpServer } from "../../src/http/server.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { createMetrics } from "../../src/observability/metrics.ts";
import { createApprovalsModule } from "../../src/services/approvals/module.ts";
import { startEmbeddedPostgres } from "../../src/store/embedded.ts";
import { migrate } from "../../src/store/migrate.ts";
import { createPool } from "../../src/store/pool.ts";
import { startFakeBotApi } from "../../test/fake-bot-api/index.ts";
import { type BenchOutcome, fmt, machineLine, runBench, table } from "../lib/bench.ts";
import { makeTempDir } from "../lib/processes.ts";

const TARGET_MS = 20;
const CHAT = -1001900000001;
const APPROVER = { id: 5001, first_name: "Bench", is_bot: false };
const API_KEY = "bench-approvals-key-0123456789abcdef";

const USAGE = `npm run bench -- approvals [options]

  --count N       approvals measured (default 1000)
  --warmup N      approvals before measuring (default 50)
  --log-level L   pitwall's log level (default warn)
  --keep          keep the temporary directory afterwards
`;

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

function config(): Config {
  const yaml = `
telegram:
  operators: [{ id: ${APPROVER.id}, role: approver, name: Bench }]
  chats: { approvals: ${CHAT} }
agents: { coder: unrestricted }
console: { enabled: false }
# One key sends every request of the bench: lift the per-key limit (100/hour by default).
safety: { output: { rate_limit_per_user: 1000000 requests/hour } }
`;
  const result = parseConfig(yaml, {});
  if (!result.ok) throw new Error(formatIssues(result.errors));
  return result.config;
}

async function approvals(args: string[]): Promise<BenchOutcome> {
  const { values } = parseArgs({
    args,
    options: {
      count: { type: "string", default: "1000" },
      warmup: { type: "string", default: "50" },
      "log-level": { type: "string", default: "warn" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const target = `p50 < ${TARGET_MS} ms`;
  if (values.help) {
    process.stdout.write(USAGE);
    return { name: "approvals", ratio: null, target, met: null, note: "help shown" };
  }
  const count = Math.max(1, Number(values.count));
  const warmup = Math.max(0, Number(values.warmup));
  const out = (line: string) => console.log(line);
  out("approvals: POST -> sendMessage at the Bot API, and callback query -> long-poll answer");
  out(`machine: ${machineLine()}`);
  out(`load: ${fmt(warmup)} warm-up + ${fmt(count)} measured approvals, one at a time`);

  const dir = await makeTempDir("pitwall-bench-approvals-");
  const log = createLogger({ level: values["log-level"] ?? "warn", service: "bench-approvals" });
  const stops: Array<() => Promise<unknown>> = [];
  try {
    const pg = await startEmbeddedPostgres({ dataDir: dir.path, log });
    stops.push(() => pg.stop());
    const db = createPool({ url: pg.url, log });
    stops.push(() => db.end());
    await migrate(db, log);
    const coord = await createPostgresCoordinator({ db, url: pg.url, log, instanceId: "bench" });
    stops.push(() => coord.close());
    const fake = await startFakeBotApi({ limits: { enforce: false }, longPollMaxMs: 30_000 });
    stops.push(() => fake.stop());
    const metrics = createMetrics();
    const cfg = config();
    const module = await createApprovalsModule({
      config: cfg,
      db,
      coord,
      log,
      metrics,
      now: () => new Date(),
      telegramEnabled: true,
    });
    stops.push(async () => module.close?.());
    const worker = createOutboxWorker({
      db,
      coord,
      api: createOutboxApi({ token: fake.token, apiRoot: fake.apiRoot }),
      log,
      metrics,
      instanceId: "bench",
      // Generous: this bench measures pitwall's overhead, not Telegram's limits (reported apart).
      pacing: {
        private: { limit: 1000, periodMs: 1000, burst: 1000 },
        group: { limit: 1000, periodMs: 1000, burst: 1000 },
        global: { limit: 1000, periodMs: 1000, burst: 1000 },
      },
    });
    worker.start();
    stops.push(() => worker.stop());
    const bot = createBot(fake.token, {
      operators: cfg.telegram?.operators ?? [],
      db,
      coord,
      log,
      apiRoot: fake.apiRoot,
      features: module.botFeatures ?? [],
    });
    const polling = startTelegram(bot, { log, mode: "polling", pollTimeoutSeconds: 30 });
    stops.push(() => polling.stop());
    const app = await createHttpServer({
      db,
      coord,
      log,
      metrics,
      apiKeys: [{ name: "bench", key: API_KEY, scopes: ["all"] }],
      registerRoutes: module.routes ?? [],
    });
    const url = await app.listen({ host: "127.0.0.1", port: 0 });
    stops.push(async () => {
      const closing = app.close();
      app.server.closeAllConnections();
      await closing;
    });
    // The bot is polling before the first approval.
    await fake.waitForLongPoll(10_000);

    // Arrival times of the cards at the Bot API, by approval id.
    const arrivals = new Map<string, number>();
    const waitingFor = new Map<string, () => void>();
    fake.emulator.onChange((change) => {
      if (change.kind !== "message" || !change.message.outgoing || change.message.edited > 0) return;
      const id = /\b([0-9A-Za-z]{16})\s*$/.exec(change.message.text ?? "")?.[1];
      if (id === undefined || arrivals.has(id)) return;
      arrivals.set(id, performance.now());
      waitingFor.get(id)?.();
    });
    const headers = { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" };

    const prompt: number[] = [];
    const decision: number[] = [];
    for (let i = 0; i < warmup + count; i++) {
      const sentAt = performance.now();
      const res = await fetch(`${url}/v1/approvals`, {
        method: "POST",
        headers,
        body: JSON.stringify({ agent: "coder", tool: "exec_command", args: { cmd: `deploy --build ${i}` } }),
      });
      const body = (await res.json()) as { id?: string; status?: string };
      if (res.status !== 202 || typeof body.id !== "string") {
        throw new Error(`POST /v1/approvals answered ${res.status}: ${JSON.stringify(body)}`);
      }
      const id = body.id;
      if (!arrivals.has(id)) await new Promise<void>((resolve) => waitingFor.set(id, resolve));
      waitingFor.delete(id);
      const promptMs = arrivals.get(id)! - sentAt;

      const card = fake.messages(CHAT).find((m) => m.outgoing && m.text?.endsWith(id));
      if (!card) throw new Error(`the card of ${id} is not in the chat`);
      const longPoll = fetch(`${url}/v1/approvals/${id}?wait=60`, { headers });
      // The long poll is waiting before the press (no fixed sleep: the service counts its waiters).
      while (module.service.waiters.size < 1) await new Promise((resolve) => setImmediate(resolve));
      const pressedAt = performance.now();
      fake.pressButton({ from: APPROVER, chatId: CHAT, messageId: card.message_id, text: "✅ Approve" });
      const answer = (await (await longPoll).json()) as { status?: string };
      const decisionMs = performance.now() - pressedAt;
      if (answer.status !== "approved") throw new Error(`the long poll answered ${JSON.stringify(answer)}`);
      if (i >= warmup) {
        prompt.push(promptMs);
        decision.push(decisionMs);
      }
    }

    // The outbox's part of the measured prompts, from its rows: enqueue (the transaction's start)
    // -> recorded as sent (claim, pacing check, the Bot API call).
    const { rows } = await db.query<{ wait_ms: number }>(
      `select extract(epoch from (sent_at - created_at)) * 1000 as wait_ms
         from outbox where kind = 'approval_prompt' and sent_at is not null
        order by id offset $1`,
      [warmup],
    );
    const outboxWait = rows.map((r) => Number(r.wait_ms)).filter((v) => Number.isFinite(v) && v >= 0);

    out("");
    out(
      table([
        ["path", "p50", "p99", "max", "samples"],
        [
          "POST -> sendMessage at the Bot API",
          ms(quantile(prompt, 0.5)),
          ms(quantile(prompt, 0.99)),
          ms(Math.max(...prompt)),
          fmt(prompt.length),
        ],
        [
          "callback query -> long-poll answer",
          ms(quantile(decision, 0.5)),
          ms(quantile(decision, 0.99)),
          ms(Math.max(...decision)),
          fmt(decision.length),
        ],
        [
          "  (apart) outbox: enqueue -> sent",
          outboxWait.length > 0 ? ms(quantile(outboxWait, 0.5)) : "-",
          outboxWait.length > 0 ? ms(quantile(outboxWait, 0.99)) : "-",
          outboxWait.length > 0 ? ms(Math.max(...outboxWait)) : "-",
          fmt(outboxWait.length),
        ],
      ]),
    );
    const worst = Math.max(quantile(prompt, 0.5), quantile(decision, 0.5));
    const ratio = TARGET_MS / worst;
    const note = `prompt p50 ${ms(quantile(prompt, 0.5))} p99 ${ms(quantile(prompt, 0.99))}; decision p50 ${ms(quantile(decision, 0.5))} p99 ${ms(quantile(decision, 0.99))}; outbox wait p50 ${outboxWait.length > 0 ? ms(quantile(outboxWait, 0.5)) : "-"}`;
    out(`\nratio ${ratio.toFixed(2)} (20 ms / the slower p50; target ≥ 1.0)`);
    return { name: "approvals", ratio, target, met: ratio >= 1, note };
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err) => console.error("stopping:", err));
    if (!values.keep) await dir.remove();
    else out(`kept ${dir.path}`);
  }
}

await runBench("approvals", approvals);
