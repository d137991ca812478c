import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../../src/config/index.ts";
import {
  createDeliveryAlertHandler,
  createNotifiers,
  DELIVERY_DEDUP_KEY,
  type Notifiers,
} from "../../../src/delivery/notifiers/index.ts";
import type { StuckRow } from "../../../src/delivery/worker.ts";
import {
  captureLog,
  type FakePagerDuty,
  type LocalSmtp,
  startFakePagerDuty,
  startLocalSmtp,
} from "./support.ts";

const PASSWORD = "smtp-P@ss/w0rd";
const ROUTING_KEY = "R0UT1NGKEYdeliveryalert0123456789";
const BOT_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";

let smtp: LocalSmtp;
let pd: FakePagerDuty;

beforeAll(async () => {
  smtp = await startLocalSmtp({ user: "pitwall", password: PASSWORD });
  pd = await startFakePagerDuty();
});
afterAll(async () => {
  await smtp.close();
  await pd.close();
});
afterEach(() => {
  smtp.behaviour = { kind: "ok" };
  smtp.received.length = 0;
  pd.requests.length = 0;
  pd.answers.length = 0;
});

/** Notifiers built the way main builds them: from pitwall.yaml's alerting section. */
function configuredNotifiers(log = captureLog().log) {
  const loaded = parseConfig(
    [
      "alerting:",
      "  email:",
      `    smtp_url: "${smtp.url()}"`,
      "    from: pitwall@example.com",
      "    to: [ops@example.com]",
      "  pagerduty:",
      `    routing_key: "${ROUTING_KEY}"`,
      `    events_url: ${pd.url}`,
    ].join("\n"),
    {},
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  return createNotifiers(loaded.config, log, { timeoutMs: 5_000 });
}

const T0 = new Date("2026-03-01T10:00:00Z");

function row(id: number, overrides: Partial<StuckRow> = {}): StuckRow {
  return {
    id,
    kind: "alert",
    chatId: "-1001234567890",
    method: "sendMessage",
    attempts: 4,
    lastError: "502: Bad Gateway",
    pendingSince: new Date(T0.getTime() - 150_000),
    ...overrides,
  };
}

function clock(start = T0) {
  let t = start.getTime();
  return { now: () => new Date(t), advance: (ms: number) => (t += ms) };
}

/** Retries without waiting; records the planned delays. */
function instantSleep(delays: number[], onSleep?: () => void) {
  return async (ms: number) => {
    delays.push(ms);
    onSleep?.();
  };
}

describe("createNotifiers", () => {
  it("builds email and PagerDuty only when configured", () => {
    const loaded = parseConfig("alerting: {}\n", {});
    if (!loaded.ok) throw new Error("config");
    expect(createNotifiers(loaded.config, captureLog().log)).toEqual({});
    const both = configuredNotifiers();
    expect(both.email?.server).toBe(`127.0.0.1:${smtp.port}`);
    expect(both.pagerduty).toBeDefined();
    both.email?.close();
  });
});

describe("delivery alert", () => {
  it("sends one email and one PagerDuty trigger for a batch, summarising without message contents", async () => {
    const captured = captureLog();
    const c = clock();
    const handler = createDeliveryAlertHandler({
      notifiers: configuredNotifiers(captured.log),
      log: captured.log,
      now: c.now,
      source: "pitwall@test",
    });
    await handler.onStuck([
      row(1, { pendingSince: new Date(T0.getTime() - 300_000), lastError: "403: Forbidden: bot was kicked" }),
      row(2, { chatId: "-1009999", kind: "approval_prompt" }),
      row(3, {
        lastError: `Network request for 'sendMessage' failed! https://api.telegram.org/bot${BOT_TOKEN}/sendMessage`,
      }),
    ]);

    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!.raw.replace(/=\r?\n/g, "");
    expect(mail).toContain("Subject: [pitwall] delivery stuck: 3 Telegram messages undelivered");
    expect(mail).toContain("Undelivered: 3");
    expect(mail).toContain("-1001234567890 (2), -1009999 (1)");
    expect(mail).toContain("alert (2), approval_prompt (1)");
    expect(mail).toContain("2026-03-01T09:55:00.000Z (5 min ago)");
    expect(mail).toContain("Network request for 'sendMessage' failed!");
    expect(mail).not.toContain(BOT_TOKEN);

    expect(pd.requests).toHaveLength(1);
    const event = pd.requests[0]!.body;
    expect(event).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: "trigger",
      dedup_key: DELIVERY_DEDUP_KEY,
      payload: {
        severity: "critical",
        source: "pitwall@test",
        custom_details: {
          undelivered: 3,
          oldest_pending_since: "2026-03-01T09:55:00.000Z",
          oldest_age_seconds: 300,
          chats: { "-1001234567890": 2, "-1009999": 1 },
          kinds: { alert: 2, approval_prompt: 1 },
          max_attempts: 4,
        },
      },
    });
    const payload = event.payload as { summary: string; custom_details: { last_error: string } };
    expect(payload.summary).toBe(
      "pitwall: 3 Telegram messages undelivered for over 2 min (oldest waiting 5 min)",
    );
    expect(payload.custom_details.last_error).toContain("Network request for 'sendMessage' failed!");
    expect(JSON.stringify(event)).not.toContain(BOT_TOKEN);

    const log = captured.text();
    expect(log).not.toContain(PASSWORD);
    expect(log).not.toContain(encodeURIComponent(PASSWORD));
    expect(log).not.toContain(ROUTING_KEY);
  });

  it("sends at most one alert per interval; rows in between go into the next one", async () => {
    const c = clock();
    const handler = createDeliveryAlertHandler({
      notifiers: configuredNotifiers(),
      log: captureLog().log,
      now: c.now,
      minIntervalMs: 600_000,
    });
    await handler.onStuck([row(1)]);
    c.advance(5_000);
    await handler.onStuck([row(2), row(3, { chatId: "-100777" })]);
    c.advance(5_000);
    await handler.onStuck([row(4)]);
    expect(smtp.received).toHaveLength(1);
    expect(pd.requests).toHaveLength(1);

    c.advance(600_000);
    await handler.onStuck([row(5)]);
    expect(smtp.received).toHaveLength(2);
    expect(smtp.received[1]!.raw).toContain("Undelivered: 4 more since the last delivery alert");
    expect(pd.requests).toHaveLength(2);
    const details = (pd.requests[1]!.body.payload as { custom_details: Record<string, unknown> })
      .custom_details;
    expect(details.undelivered).toBe(4);
    expect(details.chats).toEqual({ "-1001234567890": 3, "-100777": 1 });
    expect(pd.requests[1]!.body.dedup_key).toBe(DELIVERY_DEDUP_KEY);
  });

  it("retries retryable failures with the report's policy and then succeeds", async () => {
    const { email, pagerduty } = configuredNotifiers();
    const retry = {
      max_attempts: 3,
      backoff: "exponential" as const,
      initial_delay: 1000,
      max_delay: 60_000,
      multiplier: 2,
      jitter: false,
    };

    const emailDelays: number[] = [];
    smtp.behaviour = { kind: "reject_data", code: 451, text: "4.3.0 try later" };
    const byEmail = createDeliveryAlertHandler({
      notifiers: { email: email! },
      log: captureLog().log,
      retry,
      sleep: instantSleep(emailDelays, () => {
        smtp.behaviour = { kind: "ok" };
      }),
    });
    await byEmail.onStuck([row(1)]);
    expect(smtp.received).toHaveLength(1);
    expect(emailDelays).toEqual([1000]);

    const pdDelays: number[] = [];
    pd.answers.push({ status: 500, body: {} }, { status: 429, body: {} });
    const byPagerDuty = createDeliveryAlertHandler({
      notifiers: { pagerduty: pagerduty! },
      log: captureLog().log,
      retry,
      sleep: instantSleep(pdDelays),
    });
    await byPagerDuty.onStuck([row(1)]);
    expect(pd.requests.map((r) => r.body.event_action)).toEqual(["trigger", "trigger", "trigger"]);
    expect(pdDelays).toEqual([1000, 2000]);
  });

  it("does not retry a permanent failure, and carries rows on after retries run out", async () => {
    const captured = captureLog();
    const c = clock();
    smtp.behaviour = { kind: "reject_rcpt", code: 550, text: "5.1.1 no such user" };
    pd.answers.push({ status: 502 }, { status: 502 }, { status: 502 });
    const delays: number[] = [];
    const handler = createDeliveryAlertHandler({
      notifiers: configuredNotifiers(captured.log),
      log: captured.log,
      now: c.now,
      sleep: instantSleep(delays),
    });
    await handler.onStuck([row(1), row(2)]);
    expect(pd.requests).toHaveLength(3); // 3 attempts
    expect(delays).toHaveLength(2); // PagerDuty's two retries; none for the 550
    expect(captured.text()).toContain("will not succeed as configured");
    expect(captured.text()).toContain("tries used up");

    // PagerDuty never got the alert: the next batch is sent at once and counts all rows.
    smtp.behaviour = { kind: "ok" };
    c.advance(5_000);
    await handler.onStuck([row(3)]);
    expect(pd.requests).toHaveLength(4);
    const details = (pd.requests[3]!.body.payload as { custom_details: Record<string, unknown> })
      .custom_details;
    expect(details.undelivered).toBe(3);
    // The email for rows 1-2 failed for good; the next one reports what came since.
    expect(smtp.received).toHaveLength(1);
    expect(smtp.received[0]!.raw).toContain("Undelivered: 1");
  });

  it("resolves the PagerDuty alert and sends an all-clear on recovery; a new outage alerts at once", async () => {
    const c = clock();
    const handler = createDeliveryAlertHandler({
      notifiers: configuredNotifiers(),
      log: captureLog().log,
      now: c.now,
    });
    await handler.onRecovered(); // nothing was raised: nothing to clear
    expect(pd.requests).toHaveLength(0);
    expect(smtp.received).toHaveLength(0);

    await handler.onStuck([row(1)]);
    c.advance(60_000);
    await handler.onRecovered();
    expect(pd.requests.map((r) => [r.body.event_action, r.body.dedup_key])).toEqual([
      ["trigger", DELIVERY_DEDUP_KEY],
      ["resolve", DELIVERY_DEDUP_KEY],
    ]);
    expect(smtp.received.map((m) => /Subject: (.*)/.exec(m.raw)?.[1]?.trim())).toEqual([
      expect.stringContaining("[pitwall] delivery stuck"),
      "[pitwall] Telegram delivery recovered",
    ]);

    c.advance(1_000);
    await handler.onStuck([row(2)]);
    expect(pd.requests).toHaveLength(3);
    expect(smtp.received).toHaveLength(3);
  });

  it("only logs when neither email nor PagerDuty is configured", async () => {
    const captured = captureLog();
    const none: Notifiers = {};
    const handler = createDeliveryAlertHandler({ notifiers: none, log: captured.log });
    await handler.onStuck([row(1)]);
    const errors = captured.lines().filter((l) => l.level === "error");
    expect(errors).toHaveLength(1);
    expect(String(errors[0]!.msg)).toContain("no email or PagerDuty is configured");
  });

  it("sends through whichever channel is configured", async () => {
    const { email } = configuredNotifiers();
    const handler = createDeliveryAlertHandler({ notifiers: { email: email! }, log: captureLog().log });
    await handler.onStuck([row(1)]);
    expect(smtp.received).toHaveLength(1);
    expect(pd.requests).toHaveLength(0);
  });
});
