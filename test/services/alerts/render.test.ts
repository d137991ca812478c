import { describe, expect, it } from "vitest";
import { renderHtml, visibleLength } from "../../../src/bot/format/index.ts";
import { renderGroup, renderIncident } from "../../../src/services/alerts/render.ts";
import { createAlertTexts } from "../../../src/services/alerts/texts.ts";
import type { AlertGroup, Incident } from "../../../src/services/alerts/types.ts";

const texts = createAlertTexts({ language: "en", timeZone: "UTC" });
const at = new Date("2024-03-10T12:00:00Z");

function incident(over: Partial<Incident> = {}): Incident {
  return {
    id: "aZ09aZ09aZ09aZ09",
    key: "k",
    severity: "critical",
    title: "t",
    text: null,
    source: null,
    labels: {},
    url: null,
    status: "firing",
    count: 1,
    firstSeen: at,
    lastSeen: at,
    resolvedAt: null,
    resolvedBy: null,
    acknowledgedBy: null,
    acknowledgedAt: null,
    silencedUntil: null,
    silenceId: null,
    inhibitedBy: null,
    groupId: null,
    groupEpoch: null,
    messageRef: null,
    messageGen: 0,
    renderHash: null,
    firstNotifiedAt: null,
    lastNotifiedAt: null,
    escalationDueAt: null,
    lastEscalatedAt: null,
    escalations: 0,
    pagerdutyTriggered: false,
    contentHash: null,
    ...over,
  };
}

describe("alert message rendering", () => {
  it("stays within 4096 visible characters with huge titles, texts and labels full of <&>", () => {
    const labels = Object.fromEntries(Array.from({ length: 64 }, (_, n) => [`l${n}`, "<&>".repeat(340)]));
    const big = incident({ title: "<b>&amp;".repeat(128), text: "<&>\n".repeat(4000), labels, count: 7 });
    const { html } = renderHtml(renderIncident(big, texts).parts);
    expect(visibleLength(html)).toBeLessThanOrEqual(4096);
    expect(html).not.toContain("<&>");

    const group: AlertGroup = {
      id: "Gr0upGr0upGr0up1",
      groupKey: 'alertname="X"',
      labels: { alertname: "X" },
      epoch: 1,
      closed: false,
      firstAlertAt: at,
      lastFlushAt: null,
      pendingSince: null,
      pendingLoud: false,
      flushDueAt: null,
      messageRef: null,
      messageGen: 0,
      renderHash: null,
      viewPage: 0,
      lastAction: null,
    };
    const members = Array.from({ length: 500 }, (_, n) =>
      incident({
        id: `m${String(n).padStart(15, "0")}`,
        key: `k${n}`,
        labels: { alertname: "X", ...labels },
      }),
    );
    const rendered = renderGroup(group, members, texts);
    const groupHtml = renderHtml(rendered.parts).html;
    expect(visibleLength(groupHtml)).toBeLessThanOrEqual(4096);
    expect(JSON.stringify(rendered.keyboard)).toContain("ag:more:Gr0upGr0upGr0up1:1");
  });

  it("changes its hash only when what it shows changes", () => {
    const a = renderIncident(incident(), texts);
    expect(renderIncident(incident(), texts).hash).toBe(a.hash);
    expect(renderIncident(incident({ count: 2 }), texts).hash).not.toBe(a.hash);
  });
});
