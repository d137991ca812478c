import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { collectDigest, windowEndingAt } from "../../../src/services/digest/collect.ts";
import { digestSchedule } from "../../../src/services/digest/schedule.ts";
import { budgetStatuses } from "../../../src/services/ops/budgets.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import {
  config,
  seedApproval,
  seedAudit,
  seedFirings,
  seedIncident,
  seedModeChange,
  seedUsage,
  truncateDigestTables,
} from "./support.ts";

// The digest's queries against rows in the real tables (migrations 001, 005-008 and 010).

const END = Date.parse("2030-01-15T09:00:00Z");
const START = END - 24 * 3_600_000;
const H = 3_600_000;
const M = 60_000;
const BEFORE = START - H; // outside the window, before it
const AFTER = END + H; // outside the window, after it

const CONFIG = config(`
cost_management:
  budgets:
    - { name: daily_limit, limit: 100000 tokens, scope: per_provider }
    - { name: spend, limit: $50, scope: global, reset: 1st of month }
routing:
  providers: [openai, anthropic]
`);

let tdb: TestDatabase;
beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  await truncateDigestTables(tdb.db);
});

const collect = () => collectDigest({ db: tdb.db, config: CONFIG, budgetStatuses }, windowEndingAt(END));

describe("collecting a day", () => {
  it("counts incidents fired, resolved and still open, with their times to acknowledge and resolve", async () => {
    const db = tdb.db;
    // Opened in the window, acknowledged after 2 min, resolved after 30 min.
    await seedIncident(db, {
      key: "a",
      severity: "critical",
      firstSeen: START + H,
      acknowledgedAt: START + H + 2 * M,
      resolvedAt: START + H + 30 * M,
    });
    // Opened in the window, acknowledged after 10 min, still open at the end.
    await seedIncident(db, {
      key: "b",
      severity: "warning",
      firstSeen: START + 2 * H,
      acknowledgedAt: START + 2 * H + 10 * M,
    });
    // Opened before the window, resolved in it after 3 h; acknowledged before it (not counted).
    await seedIncident(db, {
      key: "c",
      severity: "info",
      firstSeen: BEFORE - 2 * H,
      acknowledgedAt: BEFORE - H,
      resolvedAt: BEFORE + H,
    });
    // Opened before, still open: counts as open only.
    await seedIncident(db, { key: "d", severity: "critical", firstSeen: BEFORE });
    // Resolved after the window's end: open at the end.
    await seedIncident(db, { key: "e", severity: "warning", firstSeen: START + 3 * H, resolvedAt: AFTER });
    // Entirely after the window: invisible.
    await seedIncident(db, { key: "f", severity: "critical", firstSeen: AFTER });

    const data = await collect();
    expect(data.incidents.fired).toEqual({ critical: 1, warning: 2, info: 0 });
    expect(data.incidents.open).toEqual({ critical: 1, warning: 2, info: 0 });
    expect(data.incidents.acknowledgeMs.sort((x, y) => x - y)).toEqual([2 * M, 10 * M]);
    expect(data.incidents.resolveMs.sort((x, y) => x - y)).toEqual([30 * M, 3 * H]);
  });

  it("finds the noisiest keys and alerts per hour from the firings, whether a repeat left an event or not", async () => {
    const db = tdb.db;
    await seedIncident(db, {
      key: "disk:<db-1>&co",
      severity: "critical",
      title: "Disk almost full",
      firstSeen: START + 10 * M,
      repeats: [START + 20 * M, START + 70 * M],
      countOnlyRepeats: [START + 71 * M, BEFORE + 100 * M /* = START+40min */],
    });
    // Two incidents of one key: openings and repeats of both count for the key.
    await seedIncident(db, { key: "latency", firstSeen: START + 5 * H, resolvedAt: START + 5 * H + M });
    await seedIncident(db, {
      key: "latency",
      title: "latest title",
      firstSeen: START + 6 * H,
      countOnlyRepeats: [START + 6 * H + M],
    });
    await seedIncident(db, { key: "quiet", severity: "info", firstSeen: END - M });
    // A repeat after the end and an opening before the start are outside.
    await seedIncident(db, { key: "old", firstSeen: BEFORE, repeats: [AFTER] });

    const data = await collect();
    expect(data.incidents.firings).toBe(5 + 3 + 1);
    expect(data.incidents.noisiest).toEqual([
      { key: "disk:<db-1>&co", title: "Disk almost full", severity: "critical", firings: 5, incidents: 1 },
      { key: "latency", title: "latest title", severity: "warning", firings: 3, incidents: 2 },
      { key: "quiet", title: "quiet", severity: "info", firings: 1, incidents: 1 },
    ]);
    const expected = new Array(24).fill(0);
    expected[0] = 3; // 00:10, 00:20, 00:40
    expected[1] = 2; // 01:10, 01:11
    expected[5] = 1;
    expected[6] = 2;
    expected[23] = 1;
    expect(data.hourly.alerts).toEqual(expected);
  });

  it("counts the firings of the bins that start in the window, per hour of a zone half an hour off UTC", async () => {
    const db = tdb.db;
    // 09:00 in Kolkata (UTC+05:30) is 03:30 UTC: the window and its hourly bars start on a half hour.
    const schedule = digestSchedule("0 9 * * *", "Asia/Kolkata");
    const end = schedule.firstRunOn("2030-01-15")!;
    schedule.close();
    expect(end).toBe(Date.parse("2030-01-15T03:30:00Z"));
    const window = windowEndingAt(end);
    const start = window.start;
    const kolkata = config(`
digest: { timezone: Asia/Kolkata }
routing:
  providers: [openai]
`);

    // An incident open since before the window; its opening and the bin just before the start are outside.
    const before = await seedIncident(db, {
      key: "storm",
      severity: "critical",
      title: "old title",
      firstSeen: start - 2 * H,
      resolvedAt: start + 2 * H,
    });
    await seedFirings(db, before, start - 1, 40); // bin start - 15 min
    await seedFirings(db, before, start, 2); // bar 0
    await seedFirings(db, before, start + 20 * M, 3); // bin start + 15 min: bar 0
    await seedFirings(db, before, start + 59 * M, 4); // bin start + 45 min: bar 0
    await seedFirings(db, before, start + H + 14 * M, 5); // bin start + 1 h: bar 1
    // A later incident of the same key (bar 3); the bin ending at the end counts, the one starting there does not.
    const later = await seedIncident(db, { key: "storm", title: "new title", firstSeen: start + 3 * H });
    await seedFirings(db, later, end - 1, 6); // bin end - 15 min: bar 23
    await seedFirings(db, later, end, 50);
    await seedFirings(db, later, end + 16 * M, 60);
    // Firings of one bin add up: the opening and 9 repeats in bar 22.
    const other = await seedIncident(db, { key: "other", severity: "info", firstSeen: end - 2 * H });
    await seedFirings(db, other, end - 2 * H + 5 * M, 9);

    const data = await collectDigest({ db, config: kolkata, budgetStatuses }, window);
    expect(data.incidents.firings).toBe(2 + 3 + 4 + 5 + (1 + 6) + 10);
    expect(data.incidents.noisiest).toEqual([
      { key: "storm", title: "new title", severity: "critical", firings: 21, incidents: 2 },
      { key: "other", title: "other", severity: "info", firings: 10, incidents: 1 },
    ]);
    const expected = new Array(24).fill(0);
    expected[0] = 2 + 3 + 4;
    expected[1] = 5;
    expected[3] = 1;
    expected[22] = 10;
    expected[23] = 6;
    expect(data.hourly.alerts).toEqual(expected);
  });

  it("reads a window off the bins (/digest at 14:37) from the first bin after its start to the bin of its end", async () => {
    const db = tdb.db;
    const end = Date.parse("2030-01-15T14:37:20Z");
    const start = end - 24 * H;
    const id = await seedIncident(db, { key: "api", firstSeen: start - 10 * M }); // bin 14:15: outside
    await seedFirings(db, id, start + M, 2); // bin 14:30 starts before the window: outside
    await seedFirings(db, id, start + 8 * M, 3); // bin 14:45: bar 0
    await seedFirings(db, id, Date.parse("2030-01-14T15:44:59Z"), 4); // bin 15:30, 52 min in: bar 0
    await seedFirings(db, id, Date.parse("2030-01-14T15:45:00Z"), 5); // bin 15:45, 67 min in: bar 1
    await seedFirings(db, id, end - M, 6); // bin 14:30 of the last day, holding the end: bar 23

    const data = await collectDigest({ db, config: CONFIG, budgetStatuses }, windowEndingAt(end));
    expect(data.incidents.firings).toBe(3 + 4 + 5 + 6);
    expect(data.incidents.noisiest).toEqual([
      { key: "api", title: "api", severity: "warning", firings: 18, incidents: 1 },
    ]);
    const expected = new Array(24).fill(0);
    expected[0] = 3 + 4;
    expected[1] = 5;
    expected[23] = 6;
    expect(data.hourly.alerts).toEqual(expected);
  });

  it("counts approvals by outcome, with the median time of people's decisions", async () => {
    const db = tdb.db;
    const at = START + 3 * H;
    await seedApproval(db, { status: "approved", by: "human", createdAt: at, decidedAt: at + 30_000 });
    await seedApproval(db, { status: "approved", by: "human", createdAt: at, decidedAt: at + 90_000 });
    await seedApproval(db, { status: "approved", by: "policy", createdAt: at, decidedAt: at });
    await seedApproval(db, { status: "denied", by: "human", createdAt: at, decidedAt: at + 60_000 });
    await seedApproval(db, { status: "denied", by: "policy", createdAt: at, decidedAt: at });
    await seedApproval(db, {
      status: "expired",
      createdAt: at,
      decidedAt: at + 5 * M,
      expiresAt: at + 5 * M,
    });
    // Past its expiry but not yet marked by the expiry job: expired for everyone who reads it.
    await seedApproval(db, { status: "pending", createdAt: at, expiresAt: at + 5 * M });
    // Still pending at the end; decided before the window; decided after it.
    await seedApproval(db, { status: "pending", createdAt: END - M, expiresAt: END + 4 * M });
    await seedApproval(db, { status: "approved", by: "human", createdAt: BEFORE, decidedAt: BEFORE + 1000 });
    await seedApproval(db, { status: "denied", by: "human", createdAt: END - M, decidedAt: AFTER });

    const data = await collect();
    expect(data.approvals).toEqual({
      approved: 3,
      approvedByPolicy: 1,
      denied: 2,
      deniedByPolicy: 1,
      expired: 2,
      humanDecisionMs: [30_000, 60_000, 90_000],
    });
  });

  it("sums tokens and cost per provider and model, per hour, and against budgets", async () => {
    const db = tdb.db;
    await seedUsage(db, {
      at: START + 30 * M,
      provider: "openai",
      model: "gpt-4",
      input: 1000,
      output: 500,
      cost: 0.5,
    });
    await seedUsage(db, {
      at: START + 90 * M,
      provider: "openai",
      model: "gpt-4",
      input: 2000,
      output: 0,
      cost: 1,
    });
    await seedUsage(db, {
      at: START + 90 * M,
      provider: "openai",
      model: "gpt-4",
      input: 700,
      output: 0,
      cached: true,
    });
    await seedUsage(db, { at: END - M, provider: "anthropic", input: 300, output: 200, cost: 0.25 });
    await seedUsage(db, { at: BEFORE, provider: "openai", model: "gpt-4", input: 5, output: 5, cost: 9 });
    await seedUsage(db, { at: AFTER, provider: "openai", model: "gpt-4", input: 5, output: 5, cost: 9 });

    const data = await collect();
    expect(data.usage).toEqual([
      {
        provider: "anthropic",
        model: "",
        requests: 1,
        cachedRequests: 0,
        inputTokens: 300,
        outputTokens: 200,
        tokensSpent: 500,
        tokensSaved: 0,
        costUsd: 0.25,
      },
      {
        provider: "openai",
        model: "gpt-4",
        requests: 3,
        cachedRequests: 1,
        inputTokens: 3700,
        outputTokens: 500,
        tokensSpent: 3500,
        tokensSaved: 700,
        costUsd: 1.5,
      },
    ]);
    expect(data.hourly.tokens[0]).toBe(1500);
    expect(data.hourly.tokens[1]).toBe(2000);
    expect(data.hourly.tokens[23]).toBe(500);
    expect(data.hourly.tokens.reduce((sum, n) => sum + n, 0)).toBe(4000);

    // Budgets as of the end (09:00 on the 15th): today so far for the daily one, the month for the other.
    // Today (from 00:00) holds only anthropic's 500; the month holds everything but what came after the end.
    const byKey = Object.fromEntries(data.budgets.map((line) => [`${line.name}/${line.key}`, line]));
    expect(byKey["daily_limit/openai"]).toMatchObject({ used: 0, pct: 0, window: "daily", unit: "tokens" });
    expect(byKey["daily_limit/anthropic"]).toMatchObject({ used: 500, pct: 0.5, limit: 100_000 });
    expect(byKey["spend/*"]?.used).toBeCloseTo(10.75, 6);
    expect(byKey["spend/*"]).toMatchObject({ window: "monthly", unit: "usd", pct: 21.5 });
  });

  it("counts breaker trips, check failures and mode changes", async () => {
    const db = tdb.db;
    const at = START + 4 * H;
    await seedAudit(db, {
      at,
      action: "breaker.transition",
      target: "breaker:openai",
      details: { from: "closed", to: "open" },
    });
    await seedAudit(db, {
      at: at + H,
      action: "breaker.transition",
      target: "breaker:openai",
      details: { from: "half_open", to: "open" },
    });
    await seedAudit(db, {
      at: at + 2 * H,
      action: "breaker.transition",
      target: "breaker:openai",
      details: { from: "open", to: "half_open" },
    });
    await seedAudit(db, {
      at,
      action: "breaker.trip",
      target: "breaker:search",
      details: { from: "closed", to: "open", changed: true },
    });
    await seedAudit(db, {
      at,
      action: "breaker.trip",
      target: "breaker:search",
      details: { from: "open", to: "open", changed: false },
    });
    await seedAudit(db, {
      at: BEFORE,
      action: "breaker.transition",
      target: "breaker:old",
      details: { to: "open" },
    });

    await seedIncident(db, { key: "check:api", firstSeen: at, resolvedAt: at + M });
    await seedIncident(db, { key: "check:api", firstSeen: at + H });
    await seedIncident(db, { key: "check:db", firstSeen: at, resolvedAt: at + 2 * M });

    await seedModeChange(db, { at: BEFORE, mode: "DEGRADED", previous: "FULL" });
    await seedModeChange(db, {
      at,
      mode: "MINIMAL",
      previous: "DEGRADED",
      reasons: ["p99 > 5s", "errors > 5%"],
    });
    await seedModeChange(db, { at: at + H, mode: "MAINTENANCE", previous: "MINIMAL", by: "Ada" });
    await seedModeChange(db, { at: AFTER, mode: "FULL", previous: "MAINTENANCE" });

    const data = await collect();
    expect(data.breakerTrips).toEqual([
      { name: "openai", count: 2 },
      { name: "search", count: 1 },
    ]);
    expect(data.checkFailures).toEqual([
      { name: "api", count: 2 },
      { name: "db", count: 1 },
    ]);
    expect(data.checksDown).toEqual(["api"]);
    expect(data.modeChanges).toEqual([
      { at, mode: "MINIMAL", previous: "DEGRADED", reasons: ["p99 > 5s", "errors > 5%"], changedBy: "auto" },
      { at: at + H, mode: "MAINTENANCE", previous: "MINIMAL", reasons: [], changedBy: "Ada" },
    ]);
    expect(data.modeAtEnd).toBe("MAINTENANCE");
  });

  it("reads an empty database as a quiet day", async () => {
    const data = await collect();
    expect(data.incidents.firings).toBe(0);
    expect(data.incidents.noisiest).toEqual([]);
    expect(data.usage).toEqual([]);
    expect(data.hourly.alerts).toEqual(new Array(24).fill(0));
    expect(data.modeAtEnd).toBe("FULL");
    // Configured budgets show with nothing used.
    expect(data.budgets.map((line) => `${line.name}/${line.key}/${line.used}`)).toEqual([
      "daily_limit/openai/0",
      "daily_limit/anthropic/0",
      "spend/*/0",
    ]);
  });
});
