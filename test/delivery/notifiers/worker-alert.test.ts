import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryAlertHandler, createNotifiers } from "../../../src/delivery/notifiers/index.ts";
import { enqueue } from "../../../src/delivery/outbox.ts";
import { PRIORITY } from "../../../src/delivery/types.ts";
import { createDeliveryBed, type DeliveryBed, waitUntil } from "../support.ts";
import {
  captureLog,
  type FakePagerDuty,
  type LocalSmtp,
  startFakePagerDuty,
  startLocalSmtp,
} from "./support.ts";

const SENSITIVE = "approve: DROP TABLE customers on prod-db-7";

let bed: DeliveryBed;
let smtp: LocalSmtp;
let pd: FakePagerDuty;

beforeAll(async () => {
  bed = await createDeliveryBed();
  await bed.reset();
  smtp = await startLocalSmtp({ user: "pitwall", password: "pw-worker-alert" });
  pd = await startFakePagerDuty();
});
afterAll(async () => {
  await bed.close();
  await smtp.close();
  await pd.close();
});

describe("delivery alert wired to the outbox worker", () => {
  it("tells operators by email and PagerDuty when a chat cannot be reached, without the messages' text", async () => {
    bed.fake.blockBot(2070);
    for (const text of [SENSITIVE, "second message"]) {
      await enqueue(bed.db, {
        kind: "approval_prompt",
        priority: PRIORITY.APPROVAL,
        chat: { id: 2070 },
        method: "sendMessage",
        parts: [text],
        silent: false,
      });
    }
    const captured = captureLog();
    const notifiers = createNotifiers(
      {
        alerting: {
          email: { smtp_url: smtp.url(), from: "pitwall@example.com", to: ["ops@example.com"] },
          pagerduty: { routing_key: "routing-key-worker-alert-1", events_url: pd.url },
        },
      },
      captured.log,
    );
    const handler = createDeliveryAlertHandler({ notifiers, log: captured.log, stuckAfterMs: 300 });
    // Housekeeping only when asked, so both rows are reported in one pass.
    const worker = bed.worker({
      retry: { slowDelayMs: 400 },
      stuckAfterMs: 300,
      housekeepingMs: 600_000,
      onStuck: handler.onStuck,
    });
    worker.start();
    await waitUntil(async () => {
      const { rows } = await bed.db.query<{ n: number }>(
        "select count(*)::int as n from outbox where status = 'pending' and pending_since < now() - interval '300 milliseconds'",
      );
      return rows[0]?.n === 2;
    }, "both rows waiting over 300 ms");
    await worker.housekeeping();
    await worker.stop();

    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!.raw.replace(/=\r?\n/g, "");
    expect(mail).toContain("Subject: [pitwall] delivery stuck: 2 Telegram messages undelivered");
    expect(mail).toContain("2070 (2)");
    expect(mail).toContain("approval_prompt (2)");
    expect(mail).toContain("403");
    expect(pd.requests).toHaveLength(1);
    expect(pd.requests[0]!.body).toMatchObject({
      event_action: "trigger",
      dedup_key: "pitwall-delivery",
      payload: { custom_details: { undelivered: 2, chats: { "2070": 2 } } },
    });
    for (const text of [mail, JSON.stringify(pd.requests), captured.text()]) {
      expect(text).not.toContain("DROP TABLE");
      expect(text).not.toContain("second message");
    }
  });

  it("resolves the PagerDuty incident once the stuck messages are delivered", async () => {
    await bed.reset();
    pd.requests.length = 0;
    bed.fake.blockBot(2071);
    await enqueue(bed.db, {
      kind: "alert_new",
      priority: PRIORITY.NEW_ALERT,
      chat: { id: 2071 },
      method: "sendMessage",
      parts: ["disk full on runner-2"],
      silent: false,
    });
    const notifiers = createNotifiers(
      {
        alerting: {
          email: null,
          pagerduty: { routing_key: "routing-key-worker-alert-2", events_url: pd.url },
        },
      },
      captureLog().log,
    );
    const handler = createDeliveryAlertHandler({ notifiers, log: captureLog().log, stuckAfterMs: 300 });
    const worker = bed.worker({
      retry: { slowDelayMs: 200 },
      stuckAfterMs: 300,
      housekeepingMs: 600_000,
      onStuck: handler.onStuck,
      onRecovered: handler.onRecovered,
    });
    worker.start();
    await waitUntil(async () => {
      const { rows } = await bed.db.query<{ n: number }>(
        "select count(*)::int as n from outbox where status = 'pending' and pending_since < now() - interval '300 milliseconds'",
      );
      return rows[0]?.n === 1;
    }, "the row waiting over 300 ms");
    await worker.housekeeping();
    expect(pd.requests.map((r) => (r.body as { event_action: string }).event_action)).toEqual(["trigger"]);

    bed.fake.unblockBot(2071);
    await waitUntil(async () => {
      const { rows } = await bed.db.query<{ n: number }>(
        "select count(*)::int as n from outbox where status = 'pending'",
      );
      return rows[0]?.n === 0;
    }, "the row delivered after the bot was unblocked");
    await worker.housekeeping();
    await worker.stop();
    expect(pd.requests.map((r) => (r.body as { event_action: string }).event_action)).toEqual([
      "trigger",
      "resolve",
    ]);
  });
});
