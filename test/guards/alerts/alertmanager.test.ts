import { describe, expect, it } from "vitest";
import { mapAlertmanagerWebhook } from "../../../src/guards/alerts/alertmanager.ts";
import { alertmanagerFingerprint } from "../../../src/guards/alerts/fingerprint.ts";
import { MAX_TEXT_BYTES, MAX_TITLE_LENGTH, utf8Length } from "../../../src/guards/alerts/input.ts";
import type { AlertInput } from "../../../src/guards/alerts/types.ts";
import firingGrouped from "./fixtures/firing-grouped.json" with { type: "json" };
import noFingerprint from "./fixtures/no-fingerprint.json" with { type: "json" };
import resolved from "./fixtures/resolved.json" with { type: "json" };

const fixtures: Record<string, unknown> = {
  "firing-grouped.json": firingGrouped,
  "resolved.json": resolved,
  "no-fingerprint.json": noFingerprint,
};
/** A fresh copy each time, so no test sees another's changes. */
const fixture = (name: string): unknown => structuredClone(fixtures[name]);

function mapped(body: unknown): AlertInput[] {
  const result = mapAlertmanagerWebhook(body);
  if (!result.ok) throw new Error(result.reason);
  return result.alerts;
}

function reason(body: unknown): string {
  const result = mapAlertmanagerWebhook(body);
  if (result.ok) throw new Error("expected the body to be refused");
  return result.reason;
}

describe("mapAlertmanagerWebhook: real payloads", () => {
  it("maps a grouped firing payload of three alerts", () => {
    const result = mapAlertmanagerWebhook(fixture("firing-grouped.json"));
    expect(result).toMatchObject({ ok: true, truncated: 0 });
    const [first, second, third] = mapped(fixture("firing-grouped.json"));
    expect(first).toEqual({
      key: "ead1e691b49e9e28",
      severity: "critical",
      title: "p99 latency above 5s on api-1:9100",
      text: "p99 latency is 7.2s (threshold 5s) for the last 10 minutes.",
      source: "alertmanager/pitwall",
      labels: { alertname: "HighLatency", instance: "api-1:9100", job: "api", severity: "critical" },
      status: "firing",
      startsAt: new Date("2024-03-10T11:58:30.123Z"),
      url: expect.stringMatching(/^http:\/\/prometheus\.example\.com:9090\/graph\?g0\.expr=/),
    });
    // firing alerts carry Go's zero time as endsAt: not an end
    expect(first?.endsAt).toBeUndefined();
    expect(second).toMatchObject({
      key: "68ba3a239362b135",
      severity: "critical",
      startsAt: new Date("2024-03-10T11:59:00.500Z"),
    });
    // no summary: the alertname is the title; no description: no text; empty URL: none
    expect(third).toMatchObject({
      key: "c9329cbf00b9da15",
      severity: "warning",
      title: "HighLatency",
      startsAt: new Date("2024-03-10T10:00:00Z"),
    });
    expect(third?.text).toBeUndefined();
    expect(third?.url).toBeUndefined();
  });

  it("sends the fingerprints Alertmanager computes from the labels", () => {
    for (const alert of mapped(fixture("firing-grouped.json"))) {
      expect(alert.key).toBe(alertmanagerFingerprint(alert.labels));
    }
  });

  it("maps a resolved payload", () => {
    const [alert] = mapped(fixture("resolved.json"));
    expect(alert).toMatchObject({
      key: "93e3a7f6953d614e",
      status: "resolved",
      severity: "critical", // severity "page"
      title: "Disk /var/lib/postgresql on db-1 is 95% full",
      text: "Only 2.1 GiB left; <clean up> WAL & old backups.",
      source: "alertmanager/team-db",
      startsAt: new Date("2024-03-10T09:12:00Z"),
      endsAt: new Date("2024-03-10T10:47:30Z"),
    });
    expect(alert?.labels.mountpoint).toBe("/var/lib/postgresql");
  });

  it("computes missing fingerprints like Alertmanager and tolerates an older, odder payload", () => {
    const result = mapAlertmanagerWebhook(fixture("no-fingerprint.json"));
    expect(result).toMatchObject({ ok: true, truncated: 2 });
    const [legacy, backlog] = mapped(fixture("no-fingerprint.json"));
    // Prometheus' own test vector for these labels (plus severity) — same algorithm
    expect(legacy?.key).toBe(
      alertmanagerFingerprint({ name: "garland, briggs", fear: "love is not enough", severity: "error" }),
    );
    expect(legacy).toMatchObject({
      severity: "info", // "error" is not a severity pitwall knows
      title: `Alertmanager alert ${legacy?.key}`, // neither summary nor alertname
      text: "Legacy rule that still uses the message annotation.",
      source: "alertmanager", // empty receiver
      status: "firing",
    });
    // a firing alert's endsAt is Alertmanager's resolve timeout, not an end
    expect(legacy?.endsAt).toBeUndefined();
    expect(backlog).toMatchObject({
      key: alertmanagerFingerprint({
        alertname: "QueueBacklog",
        queue: "émails-✉",
        severity: "WARN",
        team: "agents",
      }),
      severity: "warning",
      title: "QueueBacklog", // blank summary falls back
    });
    expect(backlog?.key).toMatch(/^[0-9a-f]{16}$/);
    expect(backlog?.startsAt).toBeUndefined(); // unreadable time: absent, not a refusal
  });
});

describe("mapAlertmanagerWebhook: leniency", () => {
  const minimal = { alerts: [{ status: "firing", labels: { alertname: "X" } }] };

  it("accepts a minimal webhook and extra fields anywhere", () => {
    expect(mapped(minimal)).toEqual([
      {
        key: alertmanagerFingerprint({ alertname: "X" }),
        severity: "info",
        title: "X",
        text: undefined,
        source: "alertmanager",
        labels: { alertname: "X" },
        status: "firing",
      },
    ]);
    expect(
      mapped({ ...minimal, version: "5", extra: [1, 2], alerts: [{ ...minimal.alerts[0], extra: true }] }),
    ).toHaveLength(1);
    expect(mapped({ ...minimal, groupLabels: null, commonAnnotations: null })).toHaveLength(1);
  });

  it("accepts an empty alert list", () => {
    expect(mapAlertmanagerWebhook({ receiver: "x", alerts: [] })).toEqual({
      ok: true,
      alerts: [],
      truncated: 0,
    });
  });

  it("cuts an over-long title and text to pitwall's limits instead of refusing them", () => {
    const long = {
      alerts: [
        {
          status: "firing",
          labels: { alertname: "X" },
          annotations: { summary: "s".repeat(5000), description: "é".repeat(20_000) },
        },
      ],
    };
    const [alert] = mapped(long);
    expect(alert?.title.length).toBe(MAX_TITLE_LENGTH);
    expect(alert?.title.endsWith("…")).toBe(true);
    expect(utf8Length(alert?.text ?? "")).toBeLessThanOrEqual(MAX_TEXT_BYTES);
    expect(utf8Length(alert?.text ?? "")).toBeGreaterThan(MAX_TEXT_BYTES - 8);
    expect(alert?.text?.endsWith("…")).toBe(true);
  });

  it("keeps astral characters whole when cutting text", () => {
    const [alert] = mapped({
      alerts: [{ status: "firing", labels: { a: "b" }, annotations: { description: "🔥".repeat(10_000) } }],
    });
    expect(alert?.text).toMatch(/^(🔥)+…$/u);
  });

  it("uses a computed fingerprint when the sent one is absurdly long", () => {
    const [alert] = mapped({
      alerts: [{ status: "firing", labels: { a: "b" }, fingerprint: "f".repeat(201) }],
    });
    expect(alert?.key).toBe(alertmanagerFingerprint({ a: "b" }));
  });
});

describe("mapAlertmanagerWebhook: bodies that are not webhooks", () => {
  it("refuses non-objects", () => {
    expect(reason(null)).toBe(
      'expected an Alertmanager webhook (an object with "alerts", version 4), got null',
    );
    expect(reason("hello")).toMatch(/got a string$/);
    expect(reason(42)).toMatch(/got a number$/);
    expect(reason(undefined)).toMatch(/got no JSON body$/);
    // the /api/v2/alerts shape posted to the webhook URL by mistake
    expect(reason([{ labels: { alertname: "X" } }])).toMatch(/got a list$/);
  });

  it("names what is missing or of the wrong type", () => {
    expect(reason({})).toBe("not an Alertmanager webhook: alerts: missing");
    expect(reason({ alerts: {} })).toMatch(/^not an Alertmanager webhook: alerts: expected array/);
    expect(reason({ alerts: [{ labels: { a: "b" } }] })).toBe(
      "not an Alertmanager webhook: alerts[0].status: missing",
    );
    expect(reason({ alerts: [{ status: "pending", labels: {} }] })).toMatch(
      /^not an Alertmanager webhook: alerts\[0\]\.status: expected one of/,
    );
    expect(reason({ alerts: [{ status: "firing" }] })).toBe(
      "not an Alertmanager webhook: alerts[0].labels: missing",
    );
    expect(reason({ alerts: [{ status: "firing", labels: { severity: 3 } }] })).toMatch(
      /^not an Alertmanager webhook: alerts\[0\]\.labels\.severity: expected string/,
    );
    expect(reason({ receiver: 1, alerts: [] })).toMatch(
      /^not an Alertmanager webhook: receiver: expected string/,
    );
    expect(reason({ truncatedAlerts: "2", alerts: [] })).toMatch(/truncatedAlerts: expected number/);
  });
});

describe("NUL characters", () => {
  it("become U+FFFD instead of refusing the webhook (PostgreSQL text cannot hold them)", () => {
    const body = {
      version: "4",
      status: "firing",
      receiver: "pitwall",
      alerts: [
        { status: "firing", labels: { alertname: "Nul\u0000Name" }, annotations: { summary: "a\u0000b" } },
      ],
    };
    const mapped = mapAlertmanagerWebhook(body);
    expect(mapped.ok).toBe(true);
    if (!mapped.ok) return;
    expect(mapped.alerts[0]?.title).toBe("a\ufffdb");
    expect(mapped.alerts[0]?.labels.alertname).toBe("Nul\ufffdName");
  });
});

describe("half an emoji", () => {
  it("becomes U+FFFD, and a cut summary never ends on half a pair", () => {
    const long = `${"x".repeat(1022)}🔥 and more`; // the cut falls inside the emoji
    const mapped = mapAlertmanagerWebhook({
      version: "4",
      status: "firing",
      alerts: [
        { status: "firing", labels: { alertname: "Half\ud83dEmoji" }, annotations: { summary: long } },
      ],
    });
    expect(mapped.ok).toBe(true);
    if (!mapped.ok) return;
    const alert = mapped.alerts[0]!;
    expect(alert.labels.alertname).toBe("Half\ufffdEmoji");
    expect(alert.title.endsWith("…")).toBe(true);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(alert.title)).toBe(false);
  });
});
