import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type DedupIncident,
  dedupDecision,
  dedupWindowEndsAt,
  ingestStatus,
} from "../../../src/guards/alerts/dedup.ts";

const HOUR = 60 * 60 * 1000;
const cfg = { deduplication_window: HOUR };
const t0 = new Date("2024-03-10T12:00:00Z");
const at = (ms: number) => new Date(t0.getTime() + ms);
const firing = { status: "firing", severity: "warning" } as const;
const resolving = { status: "resolved", severity: "warning" } as const;

function incident(over: Partial<DedupIncident> = {}): DedupIncident {
  return { status: "firing", count: 3, severity: "warning", lastNotifiedAt: t0, ...over };
}

describe("dedupDecision", () => {
  // The guard must read time only from its argument: a far-off system clock changes nothing.
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2099-01-01T00:00:00Z"));
  });
  afterEach(() => vi.useRealTimers());

  it("opens an incident for a new key", () => {
    expect(dedupDecision(null, firing, t0, cfg)).toEqual({ action: "open", count: 1 });
  });

  it("opens a new incident when the previous one was resolved", () => {
    expect(dedupDecision(incident({ status: "resolved" }), firing, at(1000), cfg)).toEqual({
      action: "open",
      count: 1,
    });
  });

  it("counts a repeat and edits the message within the window from the last notification", () => {
    expect(dedupDecision(incident(), firing, at(10 * 60 * 1000), cfg)).toEqual({
      action: "repeat",
      notify: "edit",
      reason: "within-window",
      count: 4,
      severity: "warning",
    });
    expect(dedupDecision(incident(), firing, at(HOUR - 1), cfg)).toMatchObject({ notify: "edit", count: 4 });
  });

  it("re-notifies once the window has passed; exactly at the boundary the window has ended", () => {
    expect(dedupDecision(incident(), firing, at(HOUR), cfg)).toMatchObject({
      action: "repeat",
      notify: "renotify",
      reason: "window-elapsed",
    });
    expect(dedupDecision(incident(), firing, at(5 * HOUR), cfg)).toMatchObject({ notify: "renotify" });
  });

  it("counts the window from the last notification sent, not from the first alert", () => {
    // First seen long ago, re-notified 10 minutes ago: still inside the new window.
    const renotified = incident({ lastNotifiedAt: at(3 * HOUR), count: 40 });
    expect(dedupDecision(renotified, firing, at(3 * HOUR + 10 * 60 * 1000), cfg)).toMatchObject({
      notify: "edit",
      count: 41,
    });
  });

  it("never re-notifies an acknowledged incident, however long after the window", () => {
    const acked = incident({ status: "acknowledged" });
    expect(dedupDecision(acked, firing, at(1000), cfg)).toMatchObject({
      notify: "edit",
      reason: "acknowledged",
    });
    expect(dedupDecision(acked, firing, at(48 * HOUR), cfg)).toMatchObject({
      action: "repeat",
      notify: "edit",
      reason: "acknowledged",
      count: 4,
    });
    expect(dedupDecision(acked, { status: "firing", severity: "critical" }, at(1000), cfg)).toMatchObject({
      notify: "edit",
      severity: "critical",
    });
  });

  it("re-notifies at once when the severity rises, and lets the latest severity win", () => {
    const raised = dedupDecision(incident(), { status: "firing", severity: "critical" }, at(1000), cfg);
    expect(raised).toMatchObject({ notify: "renotify", reason: "severity-raised", severity: "critical" });
    const lowered = dedupDecision(incident(), { status: "firing", severity: "info" }, at(1000), cfg);
    expect(lowered).toMatchObject({ notify: "edit", severity: "info" });
  });

  it("asks for a notification when none was ever sent (silenced or inhibited at open)", () => {
    expect(dedupDecision(incident({ lastNotifiedAt: null }), firing, at(1000), cfg)).toMatchObject({
      action: "repeat",
      notify: "renotify",
      reason: "never-notified",
    });
  });

  it("treats a silenced incident like a firing one (the silence stage keeps it quiet)", () => {
    expect(dedupDecision(incident({ status: "silenced" }), firing, at(1000), cfg)).toMatchObject({
      action: "repeat",
      notify: "edit",
    });
  });

  it("resolves an open incident, editing its message when one was sent", () => {
    for (const status of ["firing", "acknowledged", "silenced"] as const) {
      expect(dedupDecision(incident({ status }), resolving, at(1000), cfg)).toEqual({
        action: "resolve",
        notify: "edit",
      });
    }
    expect(dedupDecision(incident({ lastNotifiedAt: null }), resolving, at(1000), cfg)).toEqual({
      action: "resolve",
      notify: "none",
    });
  });

  it("ignores a resolve for an unknown or already resolved key", () => {
    expect(dedupDecision(null, resolving, t0, cfg)).toEqual({ action: "ignore-resolved" });
    expect(dedupDecision(incident({ status: "resolved" }), resolving, t0, cfg)).toEqual({
      action: "ignore-resolved",
    });
  });

  it("plays a whole incident life: open, repeats, resolve, fire again -> new incident", () => {
    let row: DedupIncident | null = null;
    const apply = (alert: typeof firing | typeof resolving, now: Date) => {
      const decision = dedupDecision(row, alert, now, cfg);
      if (decision.action === "open")
        row = { status: "firing", count: 1, severity: "warning", lastNotifiedAt: now };
      if (decision.action === "repeat" && row) {
        row = {
          ...row,
          count: decision.count,
          lastNotifiedAt: decision.notify === "renotify" ? now : row.lastNotifiedAt,
        };
      }
      if (decision.action === "resolve" && row) row = { ...row, status: "resolved" };
      return decision.action === "repeat" ? `${decision.action}:${decision.notify}` : decision.action;
    };
    expect(apply(firing, t0)).toBe("open");
    expect(apply(firing, at(30 * 60 * 1000))).toBe("repeat:edit");
    expect(apply(firing, at(HOUR))).toBe("repeat:renotify");
    expect(apply(firing, at(HOUR + 59 * 60 * 1000))).toBe("repeat:edit");
    expect(apply(resolving, at(3 * HOUR))).toBe("resolve");
    expect(apply(resolving, at(3 * HOUR + 1))).toBe("ignore-resolved");
    expect(apply(firing, at(4 * HOUR))).toBe("open");
  });
});

describe("dedupWindowEndsAt", () => {
  it("is the last notification plus the window, only while a repeat could re-notify", () => {
    expect(dedupWindowEndsAt(incident(), cfg)).toEqual(at(HOUR));
    expect(dedupWindowEndsAt(incident({ status: "acknowledged" }), cfg)).toBeNull();
    expect(dedupWindowEndsAt(incident({ status: "resolved" }), cfg)).toBeNull();
    expect(dedupWindowEndsAt(incident({ lastNotifiedAt: null }), cfg)).toBeNull();
  });
});

describe("ingestStatus", () => {
  it("answers new, deduplicated, resolved or silenced", () => {
    expect(ingestStatus({ action: "open", count: 1 }, false)).toBe("new");
    expect(ingestStatus({ action: "open", count: 1 }, true)).toBe("silenced");
    const repeat = {
      action: "repeat",
      notify: "edit",
      reason: "within-window",
      count: 2,
      severity: "info",
    } as const;
    expect(ingestStatus(repeat, false)).toBe("deduplicated");
    expect(ingestStatus(repeat, true)).toBe("silenced");
    expect(ingestStatus({ action: "resolve", notify: "edit" }, true)).toBe("resolved");
    expect(ingestStatus({ action: "ignore-resolved" }, false)).toBe("resolved");
  });
});
