import { describe, expect, it } from "vitest";
import {
  flushMode,
  GROUP_PAGE_SIZE,
  type GroupMember,
  type GroupState,
  groupAfterFlush,
  groupCounts,
  groupOnChange,
  nextFlushAt,
  pageOf,
  planGroupMessage,
  shouldFlush,
} from "../../../src/guards/alerts/grouping.ts";
import type { IncidentStatus, Severity } from "../../../src/guards/alerts/types.ts";

const cfg = { group_wait: 2_000, group_interval: 60_000 };
const t0 = new Date("2024-03-10T12:00:00Z");
const at = (ms: number) => new Date(t0.getTime() + ms);

describe("group flush timing", () => {
  it("sends the first message group_wait after the group's first alert, batching the burst", () => {
    let state = groupOnChange(null, t0, { loud: true });
    expect(nextFlushAt(state, cfg)).toEqual(at(2_000));
    state = groupOnChange(state, at(500));
    state = groupOnChange(state, at(1_900));
    // later alerts of the burst do not push the first message back
    expect(nextFlushAt(state, cfg)).toEqual(at(2_000));
    expect(shouldFlush(state, cfg, at(1_999))).toBe(false);
    expect(shouldFlush(state, cfg, at(2_000))).toBe(true);
    expect(flushMode(state)).toBe("send");
  });

  it("has nothing to flush when the message is up to date", () => {
    const flushed = groupAfterFlush(groupOnChange(null, t0), at(2_000));
    expect(nextFlushAt(flushed, cfg)).toBeNull();
    expect(shouldFlush(flushed, cfg, at(10 * 60_000))).toBe(false);
  });

  it("batches later changes, updating at most every group_interval", () => {
    let state = groupAfterFlush(groupOnChange(null, t0), at(2_000));
    state = groupOnChange(state, at(3_000));
    state = groupOnChange(state, at(30_000));
    expect(nextFlushAt(state, cfg)).toEqual(at(62_000));
    expect(shouldFlush(state, cfg, at(61_999))).toBe(false);
    expect(shouldFlush(state, cfg, at(62_000))).toBe(true);
    expect(flushMode(state)).toBe("edit");
    state = groupAfterFlush(state, at(62_000));
    state = groupOnChange(state, at(62_001));
    expect(nextFlushAt(state, cfg)).toEqual(at(122_000));
  });

  it("collects a new burst after a quiet spell for group_wait, not a whole interval", () => {
    let state = groupAfterFlush(groupOnChange(null, t0), at(2_000));
    state = groupOnChange(state, at(10 * 60_000));
    expect(nextFlushAt(state, cfg)).toEqual(at(10 * 60_000 + 2_000));
  });

  it("turns a pending change that would ring into a new loud message, then back to edits", () => {
    let state = groupAfterFlush(groupOnChange(null, t0, { loud: true }), at(2_000));
    state = groupOnChange(state, at(5_000));
    state = groupOnChange(state, at(6_000), { loud: true });
    state = groupOnChange(state, at(7_000));
    expect(flushMode(state)).toBe("renotify");
    state = groupAfterFlush(state, at(62_000));
    expect(flushMode(groupOnChange(state, at(63_000)))).toBe("edit");
  });

  it("flushes at once with group_wait 0", () => {
    const state = groupOnChange(null, t0);
    expect(shouldFlush(state, { group_wait: 0, group_interval: 60_000 }, t0)).toBe(true);
  });
});

// ---- content ----------------------------------------------------------------------------------

interface Row extends GroupMember {
  id: string;
}

function row(i: number, over: Partial<Row> = {}): Row {
  return {
    id: `id${i}`,
    key: `key-${String(i).padStart(4, "0")}`,
    severity: "warning",
    status: "firing",
    count: 1,
    lastSeen: at(i * 1000),
    ...over,
  };
}

describe("planGroupMessage", () => {
  it("shows nothing for an empty group and the incident's own message for a group of one", () => {
    expect(planGroupMessage([])).toEqual({ kind: "empty" });
    const only = row(1);
    expect(planGroupMessage([only])).toEqual({ kind: "single", incident: only });
  });

  it("counts per severity (open incidents) and per status, and the alerts received", () => {
    const rows = [
      row(1, { severity: "critical", count: 5 }),
      row(2, { severity: "critical", status: "acknowledged", count: 2 }),
      row(3, { severity: "warning", status: "silenced" }),
      row(4, { severity: "info", status: "resolved", count: 7 }),
    ];
    const plan = planGroupMessage(rows);
    expect(plan.kind).toBe("group");
    if (plan.kind !== "group") return;
    expect(plan.counts).toEqual({
      incidents: 4,
      alerts: 15,
      bySeverity: { critical: 2, warning: 1, info: 0 },
      byStatus: { firing: 1, acknowledged: 1, silenced: 1, resolved: 1 },
    });
    expect(plan.worst).toBe("critical");
    expect(plan.more).toBe(0);
    expect(plan.pages).toBe(1);
  });

  it("has no worst severity when every incident is resolved", () => {
    const plan = planGroupMessage([row(1, { status: "resolved" }), row(2, { status: "resolved" })]);
    expect(plan.kind === "group" && plan.worst).toBeNull();
  });

  it("lists the top 20 by count, then most recent, open before resolved, then '+N more'", () => {
    const rows = Array.from({ length: 45 }, (_, i) => row(i, { count: i % 7 }));
    rows.push(row(100, { count: 999, status: "resolved" }));
    const plan = planGroupMessage(rows);
    if (plan.kind !== "group") throw new Error("expected a group");
    expect(plan.top).toHaveLength(GROUP_PAGE_SIZE);
    expect(plan.more).toBe(26);
    expect(plan.pages).toBe(3);
    // highest count first; among equal counts the most recently seen
    expect(plan.top.slice(0, 3).map((r) => r.key)).toEqual(["key-0041", "key-0034", "key-0027"]);
    const counts = plan.top.map((r) => r.count);
    expect([...counts].sort((a, b) => b - a)).toEqual(counts);
    // the noisy but resolved incident goes after every open one
    expect(plan.top.some((r) => r.key === "key-0100")).toBe(false);
    expect(pageOf(rows, 2).items.at(-1)?.key).toBe("key-0100");
  });

  it("breaks full ties by key so pages are stable between presses", () => {
    const same = { count: 3, lastSeen: t0 };
    const rows = [row(3, same), row(1, same), row(2, same)];
    expect(pageOf(rows, 0).items.map((r) => r.key)).toEqual(["key-0001", "key-0002", "key-0003"]);
  });
});

describe("pageOf", () => {
  const severities: Severity[] = ["info", "warning", "critical"];
  const statuses: IncidentStatus[] = ["firing", "acknowledged", "silenced", "resolved"];

  it("covers every key exactly once across pages (storm: 100 instances of an alertname)", () => {
    const rows = Array.from({ length: 100 }, (_, i) =>
      row(i, {
        count: (i * 37) % 11,
        severity: severities[i % 3],
        status: statuses[i % 4],
        lastSeen: at((i * 13) % 17),
      }),
    );
    const first = pageOf(rows, 0);
    expect(first.pages).toBe(5);
    expect(first.total).toBe(100);
    const seen: string[] = [];
    for (let page = 0; page < first.pages; page++) {
      const p = pageOf(rows, page);
      expect(p.page).toBe(page);
      expect(p.items.length).toBeLessThanOrEqual(GROUP_PAGE_SIZE);
      seen.push(...p.items.map((r) => r.key));
    }
    expect(seen).toHaveLength(100);
    expect(new Set(seen).size).toBe(100);
    // page 0 is exactly what the group message shows
    const plan = planGroupMessage(rows);
    expect(plan.kind === "group" && plan.top).toEqual(first.items);
  });

  it("does not depend on the order the rows arrive in", () => {
    const rows = Array.from({ length: 47 }, (_, i) => row(i, { count: i % 5 }));
    const shuffled = [...rows].reverse();
    for (let page = 0; page < 3; page++) {
      expect(pageOf(shuffled, page).items).toEqual(pageOf(rows, page).items);
    }
  });

  it("answers a stale page number with the nearest real page", () => {
    const rows = Array.from({ length: 25 }, (_, i) => row(i));
    expect(pageOf(rows, 9).page).toBe(1);
    expect(pageOf(rows, 9).items).toHaveLength(5);
    expect(pageOf(rows, -1).page).toBe(0);
    expect(pageOf(rows, Number.NaN).page).toBe(0);
    expect(pageOf(rows, 1.5).page).toBe(0);
    expect(pageOf([], 3)).toEqual({ items: [], page: 0, pages: 1, total: 0 });
  });

  it("takes another page size", () => {
    const rows = Array.from({ length: 10 }, (_, i) => row(i));
    expect(pageOf(rows, 3, 3)).toMatchObject({ page: 3, pages: 4, total: 10 });
    expect(pageOf(rows, 3, 3).items).toHaveLength(1);
  });
});

describe("groupCounts", () => {
  it("is all zero for no incidents", () => {
    expect(groupCounts([])).toEqual({
      incidents: 0,
      alerts: 0,
      bySeverity: { critical: 0, warning: 0, info: 0 },
      byStatus: { firing: 0, acknowledged: 0, silenced: 0, resolved: 0 },
    });
  });
});

// Type-level: a state is plain data the service can persist as columns.
const _persisted: GroupState = {
  firstAlertAt: t0,
  lastFlushAt: null,
  pendingSince: null,
  pendingLoud: false,
};
void _persisted;
