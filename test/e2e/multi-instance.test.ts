// Two pitwall processes on one Postgres (and, in one variant, one Redis), the fake Bot API with
// Telegram's limits enforced, a storm of alerts and approvals posted to both, and `kill -9` of the
// leader mid-storm (issue 7, item 6). What a user would notice is asserted:
// - the follower takes over within the leader lock's TTL (15 s) and keeps serving;
// - every alert is in Postgres with the count the agents were told (202), and on the group
//   messages in Telegram with the same counts;
// - Telegram shows every outbox row, and a row twice only if it was in flight at the kill;
// - every approval is decided exactly once, and the agents' long polls on the survivor say so;
// - one daily digest across both instances and the takeover;
// - no request inside a 429's retry_after; the survivor stops cleanly on SIGTERM.
//
// The leader talks to Telegram through a proxy that holds back the answer of its first message
// to the alerts chat (the first round of alerts goes to A alone, before B starts, so it is A's):
// Telegram has it, the leader has not recorded it when it dies. That row is the one the
// at-least-once rule allows to appear twice; its chat waits out the dead leader's outbox lease
// (25 s, src/delivery/worker.ts) before anyone sends there again, which is most of each
// variant's run time.

import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeBotApi, startFakeBotApi } from "../fake-bot-api/index.ts";
import type { InlineKeyboardMarkup, StoredMessage } from "../fake-bot-api/types.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { redisAvailable, testRedisUrl } from "../support/redis.ts";
import {
  eventually,
  type HoldingProxy,
  instanceIdOf,
  request,
  sleep,
  startHoldingProxy,
} from "./multi-support.ts";
import { makeDataDir, type PitwallProcess, spawnPitwall, stopPitwall } from "./process.ts";

const TOKEN = "123456789:AAE-pitwall-multi-instance-token-0";
const API_KEY = "storm-key-0123456789abcdefghijklmnopqrstuv";
const ADMIN = { id: 7101, first_name: "Ada", is_bot: false };
const APPROVER = { id: 7102, first_name: "Apu", is_bot: false };
const ALERTS_CHAT = -1009100000001;
/** The approver's private chat: one message a second, where a group would allow 20 a minute. */
const APPROVALS_CHAT = APPROVER.id;
const DIGEST_CHAT = -1009100000003;
/**
 * A Redis database of its own, flushed before and after: pitwall's `pitwall:` keys never meet other
 * files' (they use prefixes on database 0). Pub/sub is not per database, but no other test runs
 * pitwall processes on Redis.
 */
const REDIS_DB = 9;

const NAMES = ["Storm0", "Storm1", "Storm2", "Storm3"];
const INSTANCES = Array.from({ length: 20 }, (_, n) => `i-${String(n).padStart(2, "0")}`);
const ROUNDS = 25; // 4 × 20 keys × 25 = 2 000 alerts; 20 keys per group fit the first page
const BATCH = 20; // a round is 4 requests
const PHASE1_ROUNDS = 15; // round 0 to A alone, 1..14 to both around the kill, the rest to the survivor
const APPROVALS = 10;
const PHASE1_APPROVALS = 7;
const LEADER_TTL_MS = 15_000;
const SEND_METHODS = ["sendMessage", "sendPhoto", "sendDocument"];

/** The digest module is wired when main.ts creates it (issue 7, item 1, in progress). */
const DIGEST_WIRED = readFileSync(new URL("../../src/main.ts", import.meta.url), "utf8").includes(
  "createDigestModule",
);
const redisOk = await redisAvailable();

interface AlertBody {
  key: string;
  severity: "warning";
  title: string;
  source: string;
  labels: { alertname: string; instance: string };
}

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});

/** Today's digest is already due: the schedule passed two hours ago (UTC). */
function dueDigestSchedule(now = new Date()): string {
  const at = new Date(now.getTime() - 2 * 60 * 60 * 1000);
  return `${at.getUTCMinutes()} ${at.getUTCHours()} * * *`;
}

function configYaml(): string {
  return `telegram:
  operators:
    - { id: ${ADMIN.id}, role: admin, name: Ada }
    - { id: ${APPROVER.id}, role: approver, name: Apu }
  chats:
    alerts: ${ALERTS_CHAT}
    approvals: ${APPROVALS_CHAT}
    digest: ${DIGEST_CHAT}
agents: { helper: limited }
security:
  tool_approval:
    require_approval: [exec_command]
approvals: { timeout: 5 minutes }
alerting:
  grouping: { group_by: [alertname], group_wait: 1s, group_interval: 5s }
digest: { schedule: "${dueDigestSchedule()}", timezone: UTC }
`;
}

function stormAlerts(): AlertBody[] {
  return Array.from({ length: ROUNDS }, () =>
    NAMES.flatMap((name) =>
      INSTANCES.map((instance) => ({
        key: `storm/${name}/${instance}`,
        severity: "warning" as const,
        title: `${name} latency high`,
        source: "storm",
        labels: { alertname: name, instance },
      })),
    ),
  ).flat();
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function bump(map: Map<string, number>, key: string, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

function callbackButtons(message: StoredMessage): string[] {
  const markup = message.reply_markup as InlineKeyboardMarkup | undefined;
  if (!markup || !("inline_keyboard" in markup)) return [];
  return markup.inline_keyboard.flatMap((row) => row.map((b) => b.callback_data ?? ""));
}

interface Variant {
  name: string;
  redis: boolean;
}

async function runStorm(variant: Variant): Promise<void> {
  const startedAt = Date.now();
  const tag = `[multi-instance, ${variant.name}]`;

  // ---- the shared Postgres (and Redis), the fake Bot API, the config ------------------------
  const t: TestDatabase = await createTestDatabase();
  cleanup.push(() => t.drop());
  // The digest tables were "installed" days ago, so today's passed run counts as missed and the
  // leader's catch-up sends it (a schedule that passed before digests existed would not count).
  await t.db.query(
    "update schema_migrations set applied_at = now() - interval '3 days' where name = '008_digest.sql'",
  );
  let redisUrl: string | undefined;
  if (variant.redis) {
    const url = new URL(testRedisUrl);
    url.pathname = `/${REDIS_DB}`;
    redisUrl = url.toString();
    const admin = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await admin.connect();
    await admin.flushdb();
    cleanup.push(async () => {
      await admin.flushdb();
      await admin.quit();
    });
  }

  const telegram: FakeBotApi = await startFakeBotApi({ token: TOKEN });
  cleanup.push(() => telegram.stop());
  let aDead = false;
  const proxy: HoldingProxy = await startHoldingProxy(
    telegram.apiRoot,
    (method, params) =>
      !aDead &&
      (method === "sendMessage" || method === "editMessageText") &&
      String(params.chat_id) === String(ALERTS_CHAT),
  );
  cleanup.push(() => proxy.close());

  const configDir = await makeDataDir();
  const configFile = join(configDir, "pitwall.yaml");
  await writeFile(configFile, configYaml());
  const spawn = async (apiRoot: string): Promise<PitwallProcess> => {
    const p = await spawnPitwall({
      args: ["start", "--config", configFile],
      env: {
        DATABASE_URL: t.url,
        REDIS_URL: redisUrl,
        TELEGRAM_BOT_TOKEN: TOKEN,
        TELEGRAM_API_ROOT: apiRoot,
        PITWALL_API_KEYS: `storm:${API_KEY}`,
      },
    });
    cleanup.push(() => stopPitwall(p));
    return p;
  };

  // ---- A leads ---------------------------------------------------------------------------------
  const a = await spawn(proxy.url);
  await a.waitForOutput(/this instance is the leader/, 30_000);
  const aInstance = instanceIdOf(a.output());
  expect(aInstance).toBeTruthy();
  const expectedCoordination = variant.redis ? "redis" : "postgres";
  expect(a.output()).toContain(`"coordination":"${expectedCoordination}"`);
  let b: PitwallProcess | undefined;
  const urlOf = (toA: boolean) => (toA ? a.url : b!.url);

  // ---- what the agents were told --------------------------------------------------------------
  const acked = new Map<string, number>(); // alerts the agents were told were stored (202)
  const uncertain = new Map<string, number>(); // sent to A, no answer: maybe stored, then retried to B
  let ackedByA = 0;
  let retriedToB = 0;
  const batches = chunk(stormAlerts(), BATCH);
  const batchesPerRound = (NAMES.length * INSTANCES.length) / BATCH;
  const firstRound = batches.slice(0, batchesPerRound);
  const phase1 = batches.slice(batchesPerRound, PHASE1_ROUNDS * batchesPerRound);
  const phase2 = batches.slice(PHASE1_ROUNDS * batchesPerRound);
  let phase1Posted = 0;
  let alertPostsInFlightToA = 0;

  async function postAlerts(batch: AlertBody[], preferA: boolean): Promise<void> {
    let toA = preferA && !aDead;
    for (;;) {
      if (toA) alertPostsInFlightToA++;
      const outcome = await request(`${urlOf(toA)}/v1/alerts`, {
        apiKey: API_KEY,
        body: batch,
      }).finally(() => {
        if (toA) alertPostsInFlightToA--;
      });
      if (outcome.kind === "answer") {
        if (outcome.status !== 202) {
          throw new Error(
            `POST /v1/alerts to ${toA ? "A" : "B"}: ${outcome.status} ${JSON.stringify(outcome.body)}`,
          );
        }
        for (const alert of batch) bump(acked, alert.key);
        if (toA) ackedByA += batch.length;
        return;
      }
      if (!toA) throw new Error(`POST /v1/alerts to B failed: ${outcome.error}`);
      // A died under this request: the agent retries on B. If A had committed, the key counts twice.
      if (outcome.kind === "unknown") for (const alert of batch) bump(uncertain, alert.key);
      retriedToB += 1;
      toA = false;
    }
  }

  async function postAll(
    list: AlertBody[][],
    opts: { posters: number; pauseMs: number; toA: (index: number) => boolean; onPosted?: () => void },
  ) {
    let next = 0;
    await Promise.all(
      Array.from({ length: opts.posters }, async () => {
        while (next < list.length) {
          const index = next++;
          await postAlerts(list[index]!, opts.toA(index));
          opts.onPosted?.();
          if (opts.pauseMs > 0) await sleep(opts.pauseMs);
        }
      }),
    );
  }

  const approvalIds = new Map<number, string>(); // request number -> approval id
  const decisions = new Map<string, Promise<string>>(); // approval id -> final status seen by a long poll on B

  async function waitForDecision(id: string): Promise<string> {
    for (;;) {
      const outcome = await request(`${urlOf(false)}/v1/approvals/${id}?wait=60`, { apiKey: API_KEY });
      if (outcome.kind !== "answer" || outcome.status !== 200) {
        throw new Error(`long poll of ${id} on B: ${JSON.stringify(outcome)}`);
      }
      const status = (outcome.body as { status: string }).status;
      if (status !== "pending") return status;
    }
  }

  async function requestApproval(n: number, preferA: boolean): Promise<void> {
    const body = {
      agent: "helper",
      tool: "exec_command",
      args: { cmd: `deploy --shard ${n}` },
      reason: `storm approval ${n}`,
      idempotency_key: `storm-approval-${n}`,
    };
    let toA = preferA && !aDead;
    for (;;) {
      const outcome = await request(`${urlOf(toA)}/v1/approvals`, { apiKey: API_KEY, body });
      if (outcome.kind === "answer") {
        if (outcome.status !== 202) {
          throw new Error(
            `POST /v1/approvals to ${toA ? "A" : "B"}: ${outcome.status} ${JSON.stringify(outcome.body)}`,
          );
        }
        const id = (outcome.body as { id: string }).id;
        approvalIds.set(n, id);
        const decided = waitForDecision(id);
        decided.catch(() => undefined); // awaited below; a failure is reported there
        decisions.set(id, decided);
        return;
      }
      if (!toA) throw new Error(`POST /v1/approvals to B failed: ${outcome.error}`);
      toA = false; // the same idempotency key on B: the same approval if A had stored it
    }
  }

  // ---- the first round to A alone: Telegram gets A's first alert message, A never hears back ----
  await postAll(firstRound, { posters: 4, pauseMs: 0, toA: () => true });
  await eventually(
    "A's first message to the alerts chat held by the proxy",
    () => proxy.held.length > 0,
    15_000,
    20,
  );

  // ---- B follows --------------------------------------------------------------------------------
  b = await spawn(telegram.apiRoot);
  await b.waitForOutput(/pitwall is running/, 30_000);
  expect(b.output()).not.toMatch(/this instance is the leader/);
  expect(b.output()).toContain(`"coordination":"${expectedCoordination}"`);
  const survivor = b;

  // ---- the storm: alerts and approvals to both, kill -9 of the leader mid-storm -----------------
  const stormStartedAt = Date.now();
  let phase1Done = false;
  const phase1Run = Promise.all([
    postAll(phase1, {
      posters: 4,
      pauseMs: 250,
      toA: (index) => index % 2 === 0,
      onPosted: () => phase1Posted++,
    }),
    (async () => {
      for (let n = 0; n < PHASE1_APPROVALS; n++) {
        await requestApproval(n, n % 2 === 0);
        await sleep(400);
      }
    })(),
  ]).finally(() => {
    phase1Done = true;
  });
  phase1Run.catch(() => undefined);

  // Kill A once the storm is well under way and an agent's request to A is in flight (its answer
  // never comes, though A may have stored it); A's held alert message is still unrecorded.
  await eventually(
    "40% of the first phase posted and a request to A in flight (or the phase over)",
    () => phase1Done || (phase1Posted >= phase1.length * 0.4 && alertPostsInFlightToA > 0),
    30_000,
    2,
  );
  // Until now A alone led: the takeover below is B's first election.
  expect(survivor.output()).not.toMatch(/this instance is the leader/);
  expect(a.output()).not.toMatch(/not the leader any more/);
  const requestsToAInFlight = alertPostsInFlightToA;
  aDead = true;
  a.child.kill("SIGKILL");
  const killedAt = Date.now();
  const takeover = survivor
    .waitForOutput(/this instance is the leader/, LEADER_TTL_MS + 10_000)
    .then(() => Date.now());
  takeover.catch(() => undefined);
  expect((await a.exited).signal).toBe("SIGKILL");
  const { rows: inFlightAtKill } = await t.db.query<{
    id: string;
    method: string;
    chat_id: string;
    kind: string;
  }>(
    `select id::text, method, chat_id, kind from outbox
      where status = 'pending' and claimed_by like $1 and claimed_until > now()`,
    [`${aInstance}#%`],
  );
  const held = proxy.held.map((c) => `${c.method} ${String(c.params.chat_id)}`);

  await phase1Run;
  const takeoverMs = (await takeover) - killedAt;
  expect(takeoverMs).toBeLessThanOrEqual(LEADER_TTL_MS + 2_000);

  // ---- after the takeover: more to B, and the approver presses every card ----------------------
  const phase2Run = Promise.all([
    postAll(phase2, { posters: 4, pauseMs: 0, toA: () => false }),
    (async () => {
      for (let n = PHASE1_APPROVALS; n < APPROVALS; n++) await requestApproval(n, false);
    })(),
  ]);
  phase2Run.catch(() => undefined);

  const pressed = new Set<string>();
  const queries: string[] = [];
  await eventually(
    "every approval card pressed",
    () => {
      for (const message of telegram.messages(APPROVALS_CHAT)) {
        for (const data of callbackButtons(message)) {
          const match = /^ap:ok:([A-Za-z0-9]{16})$/.exec(data);
          const id = match?.[1];
          if (!id || pressed.has(id) || !decisions.has(id)) continue;
          pressed.add(id);
          // Every third card gets a double tap: the second press must change nothing.
          const taps = pressed.size % 3 === 0 ? 2 : 1;
          for (let tap = 0; tap < taps; tap++) {
            const update = telegram.injectCallbackQuery({
              from: APPROVER,
              chatId: APPROVALS_CHAT,
              messageId: message.message_id,
              data,
            });
            queries.push(update.callback_query!.id);
          }
        }
      }
      return pressed.size === APPROVALS;
    },
    100_000,
  );
  await phase2Run;
  const finalStatuses = await Promise.all([...decisions.values()]);

  // ---- everything delivered: nothing pending, every group message up to date --------------------
  await eventually(
    "outbox drained and every alert group shown as it stands",
    async () => {
      const { rows } = await t.db.query<{ pending: number; groups: number; digests: number }>(
        `select (select count(*)::int from outbox where status = 'pending') as pending,
                (select count(*)::int from alert_groups where flush_due_at is not null or pending_since is not null) as groups,
                (select count(*)::int from digests) as digests`,
      );
      const r = rows[0]!;
      return r.pending === 0 && r.groups === 0 && (!DIGEST_WIRED || r.digests > 0);
    },
    100_000,
    250,
  );
  for (const id of queries) {
    await eventually(
      `callback query ${id} answered`,
      () => telegram.callbackAnswer(id) !== undefined,
      10_000,
    );
  }

  // ---- alerts: Postgres has the counts the agents were told -------------------------------------
  const { rows: stored } = await t.db.query<{ key: string; count: number; n: number }>(
    "select key, sum(count)::int as count, count(*)::int as n from alerts where key like 'storm/%' group by key",
  );
  const storedByKey = new Map(stored.map((r) => [r.key, r]));
  const keys = NAMES.flatMap((name) => INSTANCES.map((instance) => `storm/${name}/${instance}`));
  let extraFromRetries = 0;
  for (const key of keys) {
    const row = storedByKey.get(key);
    expect(row, `alert ${key} stored`).toBeDefined();
    expect(row!.n, `one incident for ${key}`).toBe(1);
    const told = acked.get(key) ?? 0;
    expect(told).toBe(ROUNDS);
    expect(row!.count, `count of ${key}`).toBeGreaterThanOrEqual(told);
    expect(row!.count, `count of ${key}`).toBeLessThanOrEqual(told + (uncertain.get(key) ?? 0));
    extraFromRetries += row!.count - told;
  }
  expect(stored.length).toBe(keys.length);

  // ---- alerts: each group's message in Telegram shows every key with its count -------------------
  const { rows: groupMessages } = await t.db.query<{ alertname: string; message_id: string }>(
    `select g.labels->>'alertname' as alertname, m.message_id::text
       from alert_groups g join telegram_messages m on m.ref = g.message_ref
      where g.labels->>'alertname' like 'Storm%'`,
  );
  expect(groupMessages.map((g) => g.alertname).sort()).toEqual(NAMES);
  for (const group of groupMessages) {
    const text =
      telegram.messages(ALERTS_CHAT).find((m) => m.message_id === Number(group.message_id))?.text ?? "";
    const counts = INSTANCES.map(
      (instance) => storedByKey.get(`storm/${group.alertname}/${instance}`)!.count,
    );
    const total = counts.reduce((sum, n) => sum + n, 0);
    expect(text, `group ${group.alertname}`).toContain(
      `${INSTANCES.length} incidents · ${total.toLocaleString("en-US")} alerts`,
    );
    INSTANCES.forEach((instance, n) => {
      expect(text, `group ${group.alertname}, ${instance}`).toMatch(
        new RegExp(`instance=${instance} ×${counts[n]}(\\n|$)`),
      );
    });
  }

  // ---- delivery: every row in Telegram; twice only for a row in flight at the kill --------------
  const { rows: sentRows } = await t.db.query<{
    id: string;
    method: string;
    chat_id: string;
    kind: string;
    status: string;
    outcome: string | null;
    content: string | null;
  }>(
    `select id::text, method, chat_id, kind, status, outcome,
            case when as_plain then payload->>'plain' else payload->>'html' end as content
       from outbox where method = any($1::text[]) order by id`,
    [SEND_METHODS],
  );
  const contentKey = (method: string, chatId: unknown, content: unknown) =>
    `${method}|${String(chatId)}|${typeof content === "string" ? content : ""}`;
  const inFlightIds = new Set(inFlightAtKill.map((r) => r.id));
  const expected = new Map<string, { rows: number; inFlight: number; kinds: Set<string> }>();
  for (const row of sentRows) {
    expect(row.status, `outbox row ${row.id} (${row.kind})`).toBe("sent");
    const k = contentKey(row.method, row.chat_id, row.content);
    const entry = expected.get(k) ?? { rows: 0, inFlight: 0, kinds: new Set<string>() };
    entry.rows += 1;
    if (inFlightIds.has(row.id)) entry.inFlight += 1;
    entry.kinds.add(row.kind);
    expected.set(k, entry);
  }
  const delivered = new Map<string, number>();
  for (const call of telegram.calls) {
    if (!SEND_METHODS.includes(call.method) || call.status !== 200) continue;
    const content = call.method === "sendMessage" ? call.params.text : call.params.caption;
    bump(delivered, contentKey(call.method, call.params.chat_id, content));
  }
  let duplicates = 0;
  const duplicateKinds: string[] = [];
  for (const [k, entry] of expected) {
    const copies = delivered.get(k) ?? 0;
    expect(
      copies,
      `sent at least once: ${[...entry.kinds].join(",")} ${k.slice(0, 120)}`,
    ).toBeGreaterThanOrEqual(entry.rows);
    expect(
      copies - entry.rows,
      `duplicates beyond the rows in flight at the kill: ${[...entry.kinds].join(",")} ${k.slice(0, 120)}`,
    ).toBeLessThanOrEqual(entry.inFlight);
    if (copies > entry.rows) {
      duplicates += copies - entry.rows;
      duplicateKinds.push(...entry.kinds);
    }
  }
  const strays = [...delivered.keys()].filter((k) => !expected.has(k));
  expect(strays, "messages in Telegram that no outbox row explains").toEqual([]);
  expect(duplicates).toBeLessThanOrEqual(inFlightAtKill.length);

  // ---- approvals: each decided exactly once, and the waiting agents were told -------------------
  expect(approvalIds.size).toBe(APPROVALS);
  expect(new Set(approvalIds.values()).size).toBe(APPROVALS);
  expect(finalStatuses).toEqual(Array(APPROVALS).fill("approved"));
  const { rows: approvals } = await t.db.query<{
    id: string;
    status: string;
    decided_by_kind: string;
    decided_by_id: string;
  }>("select id, status, decided_by_kind, decided_by_id from approvals");
  expect(approvals.map((r) => r.id).sort()).toEqual([...approvalIds.values()].sort());
  for (const row of approvals) {
    expect(row).toMatchObject({
      status: "approved",
      decided_by_kind: "human",
      decided_by_id: String(APPROVER.id),
    });
  }
  const { rows: decidedAudit } = await t.db.query<{ target: string; n: number }>(
    "select target, count(*)::int as n from audit_log where action = 'approval.decided' group by target",
  );
  expect(decidedAudit.map((r) => r.target).sort()).toEqual(
    [...approvalIds.values()].map((id) => `approval:${id}`).sort(),
  );
  for (const row of decidedAudit) expect(row.n, `decisions of ${row.target}`).toBe(1);

  // ---- one digest across both instances and the takeover ---------------------------------------
  let digestNote: string;
  if (DIGEST_WIRED) {
    const { rows: digests } = await t.db.query<{
      n: number;
      late: boolean;
      photo: string | null;
      text: string | null;
    }>(
      `select count(*)::int as n, bool_and(late) as late, min(photo_outbox_id)::text as photo,
              min(text_outbox_id)::text as text from digests`,
    );
    expect(digests[0]!.n).toBe(1);
    // Today's run had passed before A started: the catch-up sent it, marked late.
    expect(digests[0]!.late).toBe(true);
    const digestMessages = telegram.messages(DIGEST_CHAT).filter((m) => m.outgoing);
    const photos = digestMessages.filter((m) => m.photo !== undefined).length;
    const texts = digestMessages.filter((m) => m.photo === undefined).length;
    const photoInFlight = digests[0]!.photo !== null && inFlightIds.has(digests[0]!.photo) ? 1 : 0;
    const textInFlight = digests[0]!.text !== null && inFlightIds.has(digests[0]!.text) ? 1 : 0;
    expect(photos).toBeGreaterThanOrEqual(1);
    expect(photos).toBeLessThanOrEqual(1 + photoInFlight);
    expect(texts).toBeGreaterThanOrEqual(1);
    expect(texts).toBeLessThanOrEqual(1 + textInFlight);
    expect(digestMessages.find((m) => m.photo === undefined)?.text).toMatch(/Late: scheduled for/);
    digestNote = `one digest (${photos} photo, ${texts} text)`;
  } else {
    digestNote = "digest NOT CHECKED: src/main.ts does not wire createDigestModule yet";
    console.warn(`${tag} ${digestNote}`);
  }

  // ---- Telegram's limits: no request inside an announced retry_after ----------------------------
  expect(telegram.rateLimitViolations()).toEqual([]);
  const refused = telegram.calls.filter((c) => c.status === 429).length;

  // ---- the survivor stops cleanly ---------------------------------------------------------------
  survivor.child.kill("SIGTERM");
  expect((await survivor.exited).code).toBe(0);

  console.info(
    `${tag} takeover ${takeoverMs} ms after kill -9 (storm ${killedAt - stormStartedAt} ms in, ${requestsToAInFlight} alert requests to A in flight); ` +
      `alerts: ${keys.length * ROUNDS} acknowledged (${ackedByA} by A), ${retriedToB} requests retried on B, ` +
      `${[...uncertain.values()].reduce((s, n) => s + n, 0)} of them possibly stored by A, ${extraFromRetries} counted twice; ` +
      `outbox rows in flight at the kill: ${inFlightAtKill.length} [${inFlightAtKill.map((r) => `${r.kind} ${r.method}`).join(", ")}] ` +
      `(held by the proxy: ${held.join(", ") || "none"}); duplicate messages: ${duplicates} [${duplicateKinds.join(", ")}]; ` +
      `${sentRows.length} sends; ${refused} × 429, 0 violations; approvals: ${APPROVALS} approved once each ` +
      `(${queries.length} presses); ${digestNote}; wall ${Math.round((Date.now() - startedAt) / 1000)} s`,
  );
}

describe("two pitwall instances, kill -9 of the leader mid-storm", () => {
  it.skipIf(!redisOk)("with Redis coordination", () => runStorm({ name: "redis", redis: true }), 180_000);
  it("with Postgres coordination only", () => runStorm({ name: "postgres", redis: false }), 180_000);
});
