import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { collectDigest, windowEndingAt } from "../../../src/services/digest/collect.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import {
  config,
  seedApproval,
  seedAudit,
  seedIncident,
  seedModeChange,
  seedUsage,
  truncateDigestTables,
} from "./support.ts";

// The digest's queries against rows in the real tables (migrations 001, 005-008).

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

const collect = () => collectDigest({ db: tdb.db, config: CONFIG }, windowEndingAt(END));

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

  it("finds the noisiest keys and alerts per hour from the alert events", async () => {
    const db = tdb.db;
    await seedIncident(db, {
      key: "disk:<db-1>&co",
      severity: "critical",
      title: "Disk almost full",
      firstSeen: START + 10 * M,
      repeats: [START + 20 * M, START + 70 * M, START + 71 * M, BEFORE + 100 * M /* = START+40min */],
    });
    // Two incidents of one key: openings and repeats of both count for the key.
    await seedIncident(db, { key: "latency", firstSeen: START + 5 * H, resolvedAt: START + 5 * H + M });
    await seedIncident(db, {
      key: "latency",
      title: "latest title",
      firstSeen: START + 6 * H,
      repeats: [START + 6 * H + M],
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
