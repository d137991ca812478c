import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Config } from "../../../src/config/schema.ts";
import {
  type EscalationConfig,
  type EscalationIncident,
  escalationPlan,
  escalationSteps,
} from "../../../src/guards/alerts/escalation.ts";

const MIN = 60_000;
const t0 = new Date("2024-03-10T12:00:00Z");
const at = (ms: number) => new Date(t0.getTime() + ms);

const cfg: EscalationConfig = {
  suppression: { escalation_delay: 15 * MIN },
  escalation: { min_severity: "critical", chain: ["chat", "email", "pagerduty"], repeat: 30 * MIN },
  email: { smtp_url: "smtp://localhost" },
  pagerduty: { routing_key: "x" },
};

function incident(over: Partial<EscalationIncident> = {}): EscalationIncident {
  return {
    severity: "critical",
    status: "firing",
    firstNotifiedAt: t0,
    lastEscalatedAt: null,
    escalations: 0,
    ...over,
  };
}

describe("escalationPlan", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2099-01-01T00:00:00Z"));
  });
  afterEach(() => vi.useRealTimers());

  it("escalates escalation_delay after the first notification, along the whole chain", () => {
    expect(escalationPlan(incident(), cfg, at(15 * MIN - 1))).toEqual({
      kind: "scheduled",
      dueAt: at(15 * MIN),
      due: false,
      step: 1,
      steps: ["chat", "email", "pagerduty"],
    });
    expect(escalationPlan(incident(), cfg, at(15 * MIN))).toMatchObject({ due: true, step: 1 });
  });

  it("repeats every escalation.repeat after the previous escalation, the whole chain again", () => {
    const once = incident({ lastEscalatedAt: at(15 * MIN), escalations: 1 });
    expect(escalationPlan(once, cfg, at(16 * MIN))).toEqual({
      kind: "scheduled",
      dueAt: at(45 * MIN),
      due: false,
      step: 2,
      steps: ["chat", "email", "pagerduty"],
    });
    expect(escalationPlan(once, cfg, at(45 * MIN))).toMatchObject({ due: true, step: 2 });
  });

  it("counts from the escalation actually sent, so a late job does not burst", () => {
    const late = incident({ lastEscalatedAt: at(3 * 60 * MIN), escalations: 1 });
    expect(escalationPlan(late, cfg, at(3 * 60 * MIN + 1))).toMatchObject({
      dueAt: at(3 * 60 * MIN + 30 * MIN),
      due: false,
    });
  });

  it("never escalates an acknowledged or resolved incident, however overdue", () => {
    expect(escalationPlan(incident({ status: "acknowledged" }), cfg, at(24 * 60 * MIN))).toEqual({
      kind: "none",
      reason: "acknowledged",
    });
    const ackedAfterEscalating = incident({
      status: "acknowledged",
      lastEscalatedAt: at(15 * MIN),
      escalations: 1,
    });
    expect(escalationPlan(ackedAfterEscalating, cfg, at(60 * MIN))).toEqual({
      kind: "none",
      reason: "acknowledged",
    });
    expect(escalationPlan(incident({ status: "resolved" }), cfg, at(60 * MIN))).toEqual({
      kind: "none",
      reason: "resolved",
    });
  });

  it("only escalates at or above min_severity", () => {
    expect(escalationPlan(incident({ severity: "warning" }), cfg, at(60 * MIN))).toEqual({
      kind: "none",
      reason: "below-min-severity",
    });
    const warningsToo = { ...cfg, escalation: { ...cfg.escalation, min_severity: "warning" as const } };
    expect(escalationPlan(incident({ severity: "warning" }), warningsToo, at(60 * MIN))).toMatchObject({
      due: true,
    });
    expect(escalationPlan(incident({ severity: "info" }), warningsToo, at(60 * MIN))).toMatchObject({
      kind: "none",
    });
    const everything = { ...cfg, escalation: { ...cfg.escalation, min_severity: "info" as const } };
    expect(escalationPlan(incident({ severity: "info" }), everything, at(60 * MIN))).toMatchObject({
      due: true,
    });
  });

  it("has nothing to escalate before the first notification", () => {
    expect(escalationPlan(incident({ firstNotifiedAt: null }), cfg, at(60 * MIN))).toEqual({
      kind: "none",
      reason: "not-notified",
    });
  });

  it("waits while silenced, then gives the chat escalation_delay after the silence ends", () => {
    const silenced = incident({ status: "silenced", silencedUntil: at(4 * 60 * MIN) });
    expect(escalationPlan(silenced, cfg, at(60 * MIN))).toMatchObject({
      kind: "scheduled",
      dueAt: at(4 * 60 * MIN + 15 * MIN),
      due: false,
    });
    expect(escalationPlan(silenced, cfg, at(4 * 60 * MIN))).toMatchObject({ due: false });
    // the silence has ended and the row is firing again
    const after = incident({ silencedUntil: at(4 * 60 * MIN) });
    expect(escalationPlan(after, cfg, at(4 * 60 * MIN + 15 * MIN))).toMatchObject({ due: true, step: 1 });
    // a short silence that ended long ago changes nothing
    const old = incident({ silencedUntil: at(MIN) });
    expect(escalationPlan(old, cfg, at(15 * MIN))).toMatchObject({ dueAt: at(16 * MIN) });
    expect(escalationPlan(incident({ status: "silenced", silencedUntil: null }), cfg, at(60 * MIN))).toEqual({
      kind: "none",
      reason: "silenced",
    });
  });

  it("leaves out channels that are not configured, and does nothing with none left", () => {
    expect(escalationSteps({ ...cfg, email: null })).toEqual(["chat", "pagerduty"]);
    expect(escalationSteps({ ...cfg, pagerduty: null })).toEqual(["chat", "email"]);
    const emailOnly = { ...cfg, email: null, escalation: { ...cfg.escalation, chain: ["email" as const] } };
    expect(escalationPlan(incident(), emailOnly, at(60 * MIN))).toEqual({
      kind: "none",
      reason: "no-channels",
    });
    const ordered = {
      ...cfg,
      escalation: { ...cfg.escalation, chain: ["pagerduty" as const, "chat" as const] },
    };
    expect(escalationSteps(ordered)).toEqual(["pagerduty", "chat"]);
  });

  it("takes config.alerting as it is", () => {
    const alerting = {} as Config["alerting"];
    const accepted: EscalationConfig = alerting;
    expect(accepted).toBe(alerting);
  });
});
