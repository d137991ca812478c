import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBot } from "../../../src/bot/create-bot.ts";
import { alertsFeature } from "../../../src/bot/features/alerts/index.ts";
import { startTelegram, type TelegramHandle } from "../../../src/bot/polling.ts";
import type { RateLimit } from "../../../src/coord/types.ts";
import {
  createOutboxApi,
  createOutboxWorker,
  DEFAULT_PACING,
  type OutboxWorker,
} from "../../../src/delivery/index.ts";
import { silentLogger } from "../../../src/observability/logger.ts";
import { allDelivered, FAST_RETRY } from "../../delivery/support.ts";
import { startFakeBotApi } from "../../fake-bot-api/index.ts";
import type { FakeBotApi } from "../../fake-bot-api/types.ts";
import { ALERTS_CHAT, type AlertsBed, createAlertsBed, OPERATORS } from "./support.ts";

// The alert storm (issue 4): 10 000 alerts over 1 000 keys (10 alertnames × 100 instances), with
// `<&>` in titles and labels, posted concurrently through the HTTP API; a real outbox worker and
// the real Postgres coordinator deliver to a fake Bot API that enforces Telegram's limits on a
// clock running 20× faster (the worker's pacing on the same scale). Counts, not times.

const SPEED = 20;
const NAMES = Array.from({ length: 10 }, (_, n) => `Storm${n}`);
const INSTANCES = Array.from({ length: 100 }, (_, n) => `i-${String(n).padStart(3, "0")}<&>`);
const REPEATS = 10;

const scaled = (limit: RateLimit): RateLimit => ({ ...limit, periodMs: limit.periodMs / SPEED });

let bed: AlertsBed;
let api: FakeBotApi;
let worker: OutboxWorker;
let poller: TelegramHandle;

beforeAll(async () => {
  const origin = Date.now();
  api = await startFakeBotApi({
    now: () => origin + (Date.now() - origin) * SPEED,
    limits: { perChatPerSecond: 1, privateBurst: 3, perGroupPerMinute: 20, globalPerSecond: 30 },
    longPollMaxMs: 200,
  });
  bed = await createAlertsBed();
  worker = createOutboxWorker({
    db: bed.db,
    coord: bed.coord,
    api: createOutboxApi({ token: api.token, apiRoot: api.apiRoot }),
    log: silentLogger(),
    instanceId: "storm",
    pacing: {
      private: scaled(DEFAULT_PACING.private),
      group: scaled(DEFAULT_PACING.group),
      global: scaled(DEFAULT_PACING.global),
    },
    retry: FAST_RETRY,
    pollMs: 100,
    housekeepingMs: 500,
  });
  worker.start();
  const bot = createBot(api.token, {
    operators: bed.config.telegram!.operators,
    db: bed.db,
    coord: bed.coord,
    log: silentLogger(),
    apiRoot: api.apiRoot,
    features: [alertsFeature({ service: bed.service, db: bed.db })],
  });
  poller = startTelegram(bot, { log: silentLogger(), mode: "polling", retry: { initialMs: 20, maxMs: 200 } });
});

afterAll(async () => {
  await poller?.stop();
  await worker?.stop();
  await bed?.close();
  await api?.stop();
});

/** Posts every alert once per repeat in `repeats`, 64 requests in flight at a time. */
async function post(repeats: number[]): Promise<void> {
  const bodies = repeats.flatMap(() =>
    NAMES.flatMap((name) =>
      INSTANCES.map((instance) => ({
        severity: "warning",
        title: `Latency <high> & rising: ${name}`,
        source: "storm",
        labels: { alertname: name, instance, path: "/a&b<c>" },
      })),
    ),
  );
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const res = await bed.post(body);
      if (res.status !== 202) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
}

interface GroupMessage {
  groupId: string;
  messageId: number;
}

async function groupMessages(): Promise<GroupMessage[]> {
  const { rows } = await bed.db.query<{ id: string; message_id: number }>(
    "select g.id, m.message_id from alert_groups g join telegram_messages m on m.ref = g.message_ref order by g.id",
  );
  return rows.map((r) => ({ groupId: r.id, messageId: Number(r.message_id) }));
}

function textOfMessage(messageId: number): string {
  return api.messages(ALERTS_CHAT).find((m) => m.message_id === messageId)?.text ?? "";
}

describe("alert storm", () => {
  it("10 000 alerts over 1 000 keys: ten grouped messages kept up to date, every key reachable, no 429", async () => {
    await post([0, 1, 2, 3, 4]);
    bed.clock.advance(2_000); // group_wait
    expect(await bed.service.flushGroups()).toBe(10);
    await post([5, 6, 7, 8, 9]);
    bed.clock.advance(60_000); // group_interval
    expect(await bed.service.flushGroups()).toBe(10);
    await allDelivered(bed.db, 60_000);

    // Postgres: exactly 1 000 incidents, each seen 10 times.
    const { rows } = await bed.db.query<{ incidents: number; alerts: number; min: number; max: number }>(
      "select count(*)::int as incidents, sum(count)::int as alerts, min(count) as min, max(count) as max from alerts",
    );
    expect(rows[0]).toEqual({ incidents: 1000, alerts: 10_000, min: REPEATS, max: REPEATS });

    // Telegram: ten messages, each showing its group's final counts.
    const outgoing = api.messages(ALERTS_CHAT).filter((m) => m.outgoing);
    expect(outgoing).toHaveLength(10);
    const messages = await groupMessages();
    expect(messages).toHaveLength(10);
    for (const { messageId } of messages) {
      const text = textOfMessage(messageId);
      expect(text).toContain("100 incidents · 1,000 alerts");
      expect(text).toMatch(/Latency <high> & rising: Storm\d/);
      expect(text).toContain("+80 more");
      expect(text.length).toBeLessThanOrEqual(4096);
    }

    // Every key reachable by paging: press +N more on each message, page by page.
    const seen = new Map<string, Set<string>>(messages.map((m) => [m.groupId, new Set<string>()]));
    const collect = () => {
      for (const { groupId, messageId } of messages) {
        for (const match of textOfMessage(messageId).matchAll(/instance=(i-\d{3}<&>)/g)) {
          seen.get(groupId)!.add(match[1]!);
        }
      }
    };
    collect();
    for (const page of [1, 2, 3, 4]) {
      const presses = messages.map(({ groupId, messageId }) =>
        api.injectCallbackQuery({
          from: OPERATORS.viewer,
          chatId: ALERTS_CHAT,
          messageId,
          data: `ag:more:${groupId}:${page}`,
        }),
      );
      for (const press of presses) {
        const id = press.callback_query!.id;
        await api.waitFor(
          (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === id,
          20_000,
        );
        expect(api.callbackAnswer(id)?.text).toBe(`Page ${page + 1}.`);
      }
      await allDelivered(bed.db, 60_000);
      collect();
    }
    for (const instances of seen.values()) expect([...instances].sort()).toEqual(INSTANCES);

    const refused = api.calls.filter((c) => c.status === 429);
    const badRequests = api.calls.filter((c) => c.status === 400);
    expect(api.rateLimitViolations()).toEqual([]);
    expect(badRequests).toEqual([]);
    const sendsAndEdits = api.calls.filter((c) => /^(sendMessage|editMessage)/.test(c.method));
    console.info(
      `alert storm: ${rows[0]!.incidents} incidents, ${rows[0]!.alerts} alerts, ${outgoing.length} messages, ` +
        `${sendsAndEdits.length} sends+edits, ${refused.length} × 429, ${api.rateLimitViolations().length} violations`,
    );
  }, 180_000);
});
