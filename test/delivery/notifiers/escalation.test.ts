import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNotifiers } from "../../../src/delivery/notifiers/index.ts";
import type { EscalationNotifiers } from "../../../src/services/alerts/notifiers.ts";
import {
  captureLog,
  type FakePagerDuty,
  type LocalSmtp,
  startFakePagerDuty,
  startLocalSmtp,
} from "./support.ts";

let smtp: LocalSmtp;
let pd: FakePagerDuty;

beforeAll(async () => {
  smtp = await startLocalSmtp({ user: "pitwall", password: "pw-Escalation1" });
  pd = await startFakePagerDuty();
});
afterAll(async () => {
  await smtp.close();
  await pd.close();
});

/**
 * The alerts service's escalation job takes `EscalationNotifiers` and reads `{ok, retryable}`
 * results itself (its job is the one retry loop), so main passes `createNotifiers(...)` as is:
 * this file fails to compile if the two drift apart.
 */
describe("notifiers as the alerts service's EscalationNotifiers", () => {
  it("are accepted as they are and report retryable failures as values", async () => {
    const notifiers: EscalationNotifiers = createNotifiers(
      {
        alerting: {
          email: { smtp_url: smtp.url(), from: "pitwall@example.com", to: ["ops@example.com"] },
          pagerduty: { routing_key: "routing-key-escalation-1234", events_url: pd.url },
        },
      },
      captureLog().log,
    );
    expect(await notifiers.email?.send({ subject: "escalated", text: "disk full" })).toEqual({ ok: true });
    expect(
      await notifiers.pagerduty?.trigger({
        dedupKey: "pitwall-Ab12Cd34Ef56Gh78",
        summary: "disk full",
        severity: "critical",
        source: "db-1",
        customDetails: { count: 2 },
        links: [{ href: "https://pitwall.example.com", text: "pitwall" }],
      }),
    ).toEqual({ ok: true });
    pd.answers.push({ status: 503 });
    expect(await notifiers.pagerduty?.acknowledge("pitwall-Ab12Cd34Ef56Gh78")).toMatchObject({
      ok: false,
      retryable: true,
    });
    expect(await notifiers.pagerduty?.resolve("pitwall-Ab12Cd34Ef56Gh78")).toEqual({ ok: true });
    expect(pd.requests.map((r) => r.body.event_action)).toEqual(["trigger", "acknowledge", "resolve"]);
    expect(smtp.received).toHaveLength(1);
  });
});
