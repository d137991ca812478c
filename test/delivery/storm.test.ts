import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RateLimit } from "../../src/coord/types.ts";
import { enqueue } from "../../src/delivery/outbox.ts";
import { DEFAULT_PACING, type Pacing } from "../../src/delivery/policy.ts";
import { PRIORITY } from "../../src/delivery/types.ts";
import type { Db } from "../../src/store/pool.ts";
import { allDelivered, createDeliveryBed, type DeliveryBed } from "./support.ts";

/** Rows: `count` messages into `chatId`, each with a unique text. */
async function queue(db: Db, chatId: number, count: number, tag: string): Promise<string[]> {
  const texts: string[] = [];
  for (let n = 0; n < count; n++) {
    const text = `${tag} ${chatId} #${n}`;
    texts.push(text);
    await enqueue(db, {
      kind: "alert",
      priority: n % 3 === 0 ? PRIORITY.ALERT_EDIT : PRIORITY.NEW_ALERT,
      chat: { id: chatId },
      method: "sendMessage",
      parts: [text],
      silent: false,
    });
  }
  return texts;
}

function expectEachExactlyOnce(bed: DeliveryBed, chats: number[], texts: string[]): void {
  const seen = new Map<string, number>();
  for (const chat of chats) {
    for (const m of bed.fake.messages(chat)) seen.set(m.text ?? "", (seen.get(m.text ?? "") ?? 0) + 1);
  }
  const missing = texts.filter((t) => !seen.has(t));
  const repeated = [...seen].filter(([, n]) => n > 1);
  expect(missing).toEqual([]);
  expect(repeated).toEqual([]);
  expect([...seen.values()].reduce((a, n) => a + n, 0)).toBe(texts.length);
}

const scaled = (limit: RateLimit, speed: number): RateLimit => ({
  ...limit,
  periodMs: limit.periodMs / speed,
});

describe("outbox under load", () => {
  let bed: DeliveryBed;
  beforeAll(async () => {
    bed = await createDeliveryBed();
  });
  afterAll(async () => bed.close());

  it("paces a storm inside Telegram's limits: every row once, no 429 (clock ×20)", async () => {
    // The fake's clock runs 20× faster: its 20/min group window is 3 s, its 1/s private bucket
    // refills every 50 ms. The worker gets DEFAULT_PACING on the same scale. The global limit
    // is lowered (6 per fake second) so that it binds too.
    const speed = 20;
    const origin = Date.now();
    await bed.reset({
      now: () => origin + (Date.now() - origin) * speed,
      limits: { perChatPerSecond: 1, privateBurst: 3, perGroupPerMinute: 20, globalPerSecond: 6 },
    });
    const pacing: Pacing = {
      private: scaled(DEFAULT_PACING.private, speed),
      group: scaled(DEFAULT_PACING.group, speed),
      global: { limit: 4, periodMs: 1000 / speed, burst: 1 },
    };
    const group = -4001;
    const busyPrivate = 4002;
    const others = Array.from({ length: 40 }, (_, n) => 4100 + n);
    const texts = [
      ...(await queue(bed.db, group, 30, "group")),
      ...(await queue(bed.db, busyPrivate, 60, "dm")),
    ];
    for (const chat of others) texts.push(...(await queue(bed.db, chat, 3, "other")));

    const startedAt = Date.now();
    bed.worker({ pacing, maxInFlight: 16 }).start();
    try {
      await allDelivered(bed.db, 15_000);
    } catch (e) {
      const calls = bed.fake.calls;
      console.log(
        calls.length,
        calls
          .filter((c) => c.status !== 200)
          .slice(0, 10)
          .map((c) => [c.params.chat_id, c.status, JSON.stringify(c.response), c.at - origin]),
      );
      console.log(
        (await bed.db.query("select chat_id, count(*) from outbox where status='pending' group by 1")).rows,
      );
      console.log(
        (await bed.db.query("select *, now() from delivery_chats where blocked_until > now()")).rows,
      );
      throw e;
    }
    const seconds = (Date.now() - startedAt) / 1000;

    expectEachExactlyOnce(bed, [group, busyPrivate, ...others], texts);
    const refused = bed.fake.calls.filter((c) => c.status === 429);
    expect(bed.fake.rateLimitViolations()).toEqual([]);
    expect(refused).toEqual([]);
    // the group cannot be faster than its limit: 30 messages at ≤ 20 per 3 s take ≥ 1.5 s
    const groupCalls = bed.fake.callsOf("sendMessage").filter((c) => c.params.chat_id === group);
    expect(groupCalls.at(-1)!.at - groupCalls[0]!.at).toBeGreaterThanOrEqual(1.5 * 1000 * speed);
    console.info(
      `paced storm: ${texts.length} rows delivered in ${seconds.toFixed(1)} s (clock ×${speed}), ` +
        `${refused.length} × 429, ${bed.fake.rateLimitViolations().length} violations`,
    );
  });

  it("rides out a 429 storm: every retry_after honoured, every row delivered once", async () => {
    // Pacing off: the worker believes it may send 1000/s anywhere. The fake enforces
    // Telegram's private (1/s, burst 3) and overall (30/s) limits in real time.
    await bed.reset({
      limits: { perChatPerSecond: 1, privateBurst: 3, perGroupPerMinute: 10_000, globalPerSecond: 30 },
    });
    const loose = { limit: 1000, periodMs: 1000, burst: 1000 };
    const busy = Array.from({ length: 5 }, (_, n) => 5000 + n);
    const others = Array.from({ length: 40 }, (_, n) => 5100 + n);
    const texts: string[] = [];
    for (const chat of busy) texts.push(...(await queue(bed.db, chat, 5, "busy")));
    for (const chat of others) texts.push(...(await queue(bed.db, chat, 2, "other")));

    const startedAt = Date.now();
    bed.worker({ pacing: { private: loose, group: loose, global: loose }, maxInFlight: 32 }).start();
    await allDelivered(bed.db, 30_000);
    const seconds = (Date.now() - startedAt) / 1000;

    expectEachExactlyOnce(bed, [...busy, ...others], texts);
    const refused = bed.fake.calls.filter((c) => c.status === 429);
    expect(refused.length).toBeGreaterThan(10); // it was a storm
    expect(bed.fake.rateLimitViolations()).toEqual([]);
    const { rows } = await bed.db.query<{ n: number }>(
      "select count(*)::int as n from outbox where attempts > 0",
    );
    expect(rows[0]!.n).toBe(0); // a 429 is a wait, not a failed attempt
    console.info(
      `429 storm: ${texts.length} rows delivered in ${seconds.toFixed(1)} s, ${refused.length} × 429 honoured, ` +
        `${bed.fake.rateLimitViolations().length} violations`,
    );
  });
});
