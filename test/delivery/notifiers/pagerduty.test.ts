import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  createPagerDutyNotifier,
  PAGERDUTY_EVENTS_URL,
  shortenDedupKey,
} from "../../../src/delivery/notifiers/pagerduty.ts";
import { captureLog, type FakePagerDuty, startFakePagerDuty } from "./support.ts";

const ROUTING_KEY = "R0UT1NGKEY0123456789abcdefABCDEF";

let pd: FakePagerDuty;

beforeAll(async () => {
  pd = await startFakePagerDuty();
});
afterAll(async () => {
  await pd.close();
});
afterEach(() => {
  pd.requests.length = 0;
  pd.answers.length = 0;
});

function notifier(overrides: { eventsUrl?: string; timeoutMs?: number } = {}) {
  const captured = captureLog();
  const pagerduty = createPagerDutyNotifier({
    routingKey: ROUTING_KEY,
    eventsUrl: overrides.eventsUrl ?? pd.url,
    log: captured.log,
    timeoutMs: overrides.timeoutMs ?? 5_000,
  });
  return { pagerduty, captured };
}

const incident = {
  dedupKey: "pitwall:alert:Ab12Cd34Ef56Gh78",
  summary: "CRITICAL disk full on db-1",
  severity: "critical" as const,
  source: "db-1",
  customDetails: { count: 3, labels: { alertname: "DiskFull", instance: "db-1" } },
  links: [{ href: "https://pitwall.example.com/alerts/Ab12Cd34Ef56Gh78", text: "pitwall" }],
};

describe("PagerDuty notifier (local Events API v2 stand-in)", () => {
  it("triggers with the Events API v2 body and takes 202 as sent", async () => {
    const { pagerduty, captured } = notifier();
    const result = await pagerduty.trigger({ ...incident, timestamp: new Date("2026-01-02T03:04:05Z") });
    expect(result).toEqual({ ok: true });
    expect(pd.requests).toHaveLength(1);
    const req = pd.requests[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/v2/enqueue");
    expect(req.contentType).toBe("application/json");
    expect(req.body).toEqual({
      routing_key: ROUTING_KEY,
      event_action: "trigger",
      dedup_key: "pitwall:alert:Ab12Cd34Ef56Gh78",
      client: "pitwall",
      payload: {
        summary: "CRITICAL disk full on db-1",
        source: "db-1",
        severity: "critical",
        timestamp: "2026-01-02T03:04:05.000Z",
        custom_details: { count: 3, labels: { alertname: "DiskFull", instance: "db-1" } },
      },
      links: [{ href: "https://pitwall.example.com/alerts/Ab12Cd34Ef56Gh78", text: "pitwall" }],
    });
    expect(captured.text()).not.toContain(ROUTING_KEY);
  });

  it("acknowledges and resolves by dedup key, without a payload", async () => {
    const { pagerduty } = notifier();
    expect(await pagerduty.acknowledge(incident.dedupKey)).toEqual({ ok: true });
    expect(await pagerduty.resolve(incident.dedupKey)).toEqual({ ok: true });
    expect(pd.requests.map((r) => r.body)).toEqual([
      {
        routing_key: ROUTING_KEY,
        event_action: "acknowledge",
        dedup_key: incident.dedupKey,
        client: "pitwall",
      },
      { routing_key: ROUTING_KEY, event_action: "resolve", dedup_key: incident.dedupKey, client: "pitwall" },
    ]);
  });

  it("cuts the summary to PagerDuty's 1024 characters", async () => {
    const { pagerduty } = notifier();
    await pagerduty.trigger({ ...incident, summary: "x".repeat(5000) });
    const payload = pd.requests[0]!.body.payload as { summary: string };
    expect(payload.summary).toHaveLength(1024);
    expect(payload.summary.endsWith("…")).toBe(true);
  });

  it("shortens a dedup key over 255 characters the same way for trigger and resolve", async () => {
    const long = `k:${"a".repeat(400)}`;
    const { pagerduty } = notifier();
    await pagerduty.trigger({ ...incident, dedupKey: long });
    await pagerduty.resolve(long);
    const [trigger, resolve] = pd.requests.map((r) => r.body.dedup_key as string);
    expect(trigger).toHaveLength(255);
    expect(resolve).toBe(trigger);
    expect(shortenDedupKey(`k:${"a".repeat(399)}b`)).not.toBe(trigger);
    expect(shortenDedupKey("short")).toBe("short");
  });

  it.each([429, 500, 502, 503])("answers %i as retryable", async (status) => {
    pd.answers.push({ status, body: { status: "error", message: "try later" } });
    const { pagerduty, captured } = notifier();
    const result = await pagerduty.trigger(incident);
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(!result.ok && result.error).toContain(String(status));
    expect(captured.text()).not.toContain(ROUTING_KEY);
  });

  it("answers 400 as permanent, with PagerDuty's reason, the routing key scrubbed", async () => {
    pd.answers.push({
      status: 400,
      body: {
        status: "invalid event",
        message: "Event object is invalid",
        errors: ["'payload.severity' is invalid", `routing key ${ROUTING_KEY} is not valid`],
      },
    });
    const { pagerduty, captured } = notifier();
    const result = await pagerduty.trigger(incident);
    expect(result).toMatchObject({ ok: false, retryable: false });
    const error = result.ok ? "" : result.error;
    expect(error).toContain("400");
    expect(error).toContain("Event object is invalid");
    expect(error).toContain("'payload.severity' is invalid");
    expect(error).not.toContain(ROUTING_KEY);
    expect(captured.text()).not.toContain(ROUTING_KEY);
    expect(captured.text()).toContain("Event object is invalid");
  });

  it("treats a wrong events URL (404) as permanent", async () => {
    pd.answers.push({ status: 404, body: "not found" });
    const { pagerduty } = notifier();
    expect(await pagerduty.trigger(incident)).toMatchObject({ ok: false, retryable: false });
  });

  it("gives up after the timeout, as retryable", async () => {
    pd.answers.push("hang");
    const { pagerduty } = notifier({ timeoutMs: 200 });
    const result = await pagerduty.trigger(incident);
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(!result.ok && result.error).toContain("200 ms");
  });

  it("treats an unreachable server as retryable", async () => {
    const { pagerduty, captured } = notifier({ eventsUrl: "http://127.0.0.1:1/v2/enqueue" });
    const result = await pagerduty.trigger(incident);
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(captured.text()).not.toContain(ROUTING_KEY);
  });

  it("defaults to PagerDuty's events URL", async () => {
    const seen: string[] = [];
    const pagerduty = createPagerDutyNotifier({
      routingKey: ROUTING_KEY,
      log: captureLog().log,
      fetch: async (input) => {
        seen.push(String(input));
        return new Response(JSON.stringify({ status: "success" }), { status: 202 });
      },
    });
    expect(await pagerduty.resolve("k")).toEqual({ ok: true });
    expect(seen).toEqual([PAGERDUTY_EVENTS_URL]);
  });
});
