import { afterEach, describe, expect, it } from "vitest";
import {
  type AlertsBed,
  createAlertsBed,
  ESCALATION_CHAT,
  ESCALATION_THREAD,
  FakeClock,
  recordingNotifiers,
  testYaml,
  textOf,
} from "./support.ts";

// Escalation on a hand-moved clock: escalation_delay 15 min, repeat 30 min (the defaults),
// chain chat -> email -> PagerDuty, with recording fakes for email and PagerDuty.

const MINUTE = 60_000;
const YAML = testYaml(`alerting:
  email: { smtp_url: "smtp://127.0.0.1:2525", from: pitwall@example.com, to: [oncall@example.com] }
  pagerduty: { routing_key: "R0UTING-KEY" }
`);
const ADA = { type: "operator" as const, id: "1001", name: "Ada" };

let bed: AlertsBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

async function setup() {
  const fakes = recordingNotifiers();
  bed = await createAlertsBed({ yaml: YAML, notifiers: fakes.notifiers });
  return { bed, fakes };
}

const critical = { key: "disk:db1", severity: "critical", title: "Disk full on db1", source: "node" };

describe("escalation", () => {
  it("escalates an unacknowledged critical after the delay along the chain, repeats, and stops on ack", async () => {
    const { bed, fakes } = await setup();
    const { body } = await bed.post(critical);
    bed.clock.advance(15 * MINUTE - 1);
    expect(await bed.service.escalate()).toBe(0);
    bed.clock.advance(1);
    expect(await bed.service.escalate()).toBe(1);

    const [chat] = await bed.outbox("kind = 'escalation'");
    expect(chat).toMatchObject({
      chat_id: String(ESCALATION_CHAT),
      thread_id: ESCALATION_THREAD,
      method: "sendMessage",
    });
    expect(chat!.payload.silent).toBe(false);
    expect(textOf(chat!)).toContain("Escalation 1: not acknowledged since 12:00");
    expect(textOf(chat!)).toContain("Disk full on db1");

    expect(await bed.service.deliverNotifications()).toBe(2);
    expect(fakes.calls.map((c) => `${c.channel}:${c.action}`)).toEqual(["email:send", "pagerduty:trigger"]);
    expect(fakes.calls[0]!.arg).toMatchObject({
      subject: expect.stringContaining("CRITICAL Disk full on db1"),
    });
    expect(fakes.calls[1]!.arg).toMatchObject({
      dedupKey: `pitwall-${body.id}`,
      severity: "critical",
      summary: "Disk full on db1",
      source: "node",
    });
    const audit = await bed.db.query(
      "select target, details->>'step' as step from audit_log where action = 'alert.escalated'",
    );
    expect(audit.rows).toEqual([{ target: `alert:${body.id}`, step: "1" }]);

    // The repeat comes escalation.repeat after the previous escalation.
    bed.clock.advance(30 * MINUTE - 1);
    expect(await bed.service.escalate()).toBe(0);
    bed.clock.advance(1);
    expect(await bed.service.escalate()).toBe(1);
    expect(await bed.outbox("kind = 'escalation'")).toHaveLength(2);

    // Acknowledge stops every reminder and tells PagerDuty.
    expect(await bed.service.incident("ack", body.id, ADA)).toEqual({ kind: "done", count: 1 });
    await bed.service.deliverNotifications();
    expect(fakes.calls.filter((c) => c.action === "acknowledge")).toEqual([
      { channel: "pagerduty", action: "acknowledge", arg: `pitwall-${body.id}` },
    ]);
    bed.clock.advance(5 * 60 * MINUTE);
    expect(await bed.service.escalate()).toBe(0);
    expect(await bed.outbox("kind = 'escalation'")).toHaveLength(2);
    const { rows } = await bed.db.query("select escalations, escalation_due_at from alerts");
    expect(rows).toEqual([{ escalations: 2, escalation_due_at: null }]);
  });

  it("a resolve by the sender stops reminders and resolves in PagerDuty", async () => {
    const { bed, fakes } = await setup();
    const { body } = await bed.post(critical);
    bed.clock.advance(15 * MINUTE);
    await bed.service.escalate();
    await bed.post({ ...critical, status: "resolved" });
    await bed.service.deliverNotifications();
    expect(fakes.calls.map((c) => `${c.channel}:${c.action}`)).toEqual([
      "email:send",
      "pagerduty:trigger",
      "pagerduty:resolve",
    ]);
    expect(fakes.calls[2]!.arg).toBe(`pitwall-${body.id}`);
    bed.clock.advance(60 * MINUTE);
    expect(await bed.service.escalate()).toBe(0);
  });

  it("does not escalate below min_severity", async () => {
    const { bed } = await setup();
    await bed.post({ ...critical, severity: "warning" });
    bed.clock.advance(24 * 60 * MINUTE);
    expect(await bed.service.escalate()).toBe(0);
  });

  it("retries a failed email with the report's policy", async () => {
    const { bed, fakes } = await setup();
    await bed.post(critical);
    bed.clock.advance(15 * MINUTE);
    await bed.service.escalate();
    fakes.failNext(1);
    expect(await bed.service.deliverNotifications()).toBe(1); // email failed, PagerDuty waits behind nothing
    bed.clock.advance(999);
    expect(await bed.service.deliverNotifications()).toBe(0);
    bed.clock.advance(1);
    expect(await bed.service.deliverNotifications()).toBe(1);
    expect(fakes.calls.filter((c) => c.channel === "email")).toHaveLength(2);
  });

  it("survives a restart: due times live in Postgres", async () => {
    const fakes = recordingNotifiers();
    const clock = new FakeClock();
    const first = await createAlertsBed({ yaml: YAML, notifiers: fakes.notifiers, clock });
    await first.post(critical);
    await first.close({ keepDatabase: true });
    bed = await createAlertsBed({ yaml: YAML, notifiers: fakes.notifiers, clock, database: first.t });
    clock.advance(15 * MINUTE);
    expect(await bed.service.escalate()).toBe(1);
  });

  it("acknowledged from the escalation chat's button by id: a second press is a no-op", async () => {
    const { bed } = await setup();
    const { body } = await bed.post(critical);
    bed.clock.advance(15 * MINUTE);
    await bed.service.escalate();
    const [chat] = await bed.outbox("kind = 'escalation'");
    const buttons = (chat!.payload.reply_markup?.inline_keyboard ?? []).flat().map((b) => b.callback_data);
    expect(buttons).toContain(`al:ack:${body.id}`);
    expect(await bed.service.incident("ack", body.id, ADA)).toMatchObject({ kind: "done" });
    expect(await bed.service.incident("ack", body.id, ADA)).toMatchObject({
      kind: "already-acknowledged",
      by: { name: "Ada" },
    });
  });
});
