import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../../../src/observability/logger.ts";
import { createMetrics } from "../../../src/observability/metrics.ts";
import type { BudgetLine } from "../../../src/services/digest/collect.ts";
import { createDigestModule, type DigestModule } from "../../../src/services/digest/module.ts";
import { digestTranslator } from "../../../src/services/digest/texts.ts";
import { memoryCoordinator } from "../../bot/memory-coordinator.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import {
  bearer,
  fakeClock,
  type Json,
  type OpsHarness,
  opsHarness,
  READER_KEY,
  truncateOps,
} from "../ops/support.ts";
import { config, seedUsage, truncateDigestTables } from "./support.ts";

// A budget's window belongs to the budget, not to the report: the digest's budget lines follow the
// ops time zone, whatever digest.timezone says. The config has one zone for both today (opsTimeZone
// reads digest.timezone), so the ops zone is set apart here to show which of the two the digest uses.
const OPS_ZONE = vi.hoisted(() => "Asia/Tokyo"); // UTC+9, no DST
vi.mock("../../../src/services/ops/context.ts", async (importOriginal) => ({
  ...(await importOriginal<typeof import("../../../src/services/ops/context.ts")>()),
  opsTimeZone: () => OPS_ZONE,
}));

const YAML = `
digest: { timezone: UTC, schedule: "0 9 * * *" }
cost_management:
  budgets:
    - { name: daily_limit, limit: 10000 tokens, scope: per_provider }
    - { name: monthly_limit, limit: 100000 tokens, scope: global, reset: 1st of month }
routing:
  providers: [openai]
`;

let tdb: TestDatabase;
let digest: DigestModule | undefined;
let ops: OpsHarness | undefined;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  await truncateDigestTables(tdb.db);
  await truncateOps(tdb.db);
});
afterEach(async () => {
  await digest?.close?.();
  await ops?.close();
  digest = undefined;
  ops = undefined;
});

/** The budget lines of `/digest` asked for at `end` (its window ends there). */
async function digestBudgets(end: number): Promise<BudgetLine[]> {
  digest = await createDigestModule({
    config: config(YAML),
    db: tdb.db,
    coord: memoryCoordinator(),
    log: silentLogger(),
    metrics: createMetrics(),
    now: fakeClock(end).now,
    telegramEnabled: false,
  });
  const built = await digest.service.onDemand(digestTranslator("en"));
  expect(built.data.window.end).toBe(end);
  return built.data.budgets;
}

/** GET /v1/budgets at `at`. */
async function apiBudgets(at: number): Promise<Json[]> {
  ops = await opsHarness({ db: tdb.db, config: config(YAML), clock: fakeClock(at) });
  const response = await ops.app.inject({ method: "GET", url: "/v1/budgets", headers: bearer(READER_KEY) });
  expect(response.statusCode).toBe(200);
  return response.json().budgets as Json[];
}

const usage = (at: string, tokens: number) =>
  seedUsage(tdb.db, { at: Date.parse(at), provider: "openai", model: "gpt-4", input: tokens, output: 0 });

describe("budget lines in a digest written in another zone than the budgets'", () => {
  it("count the ops zone's day and month, as /v1/budgets does at the digest's end", async () => {
    const end = Date.parse("2030-01-15T09:00:00Z"); // 09:00 UTC, 18:00 in Tokyo
    await usage("2029-12-31T14:00:00Z", 7); // 23:00 on Dec 31 in Tokyo: last month in both zones
    await usage("2029-12-31T16:00:00Z", 300); // 01:00 on Jan 1 in Tokyo, still Dec 31 in UTC
    await usage("2030-01-14T14:30:00Z", 100); // 23:30 on Jan 14 in Tokyo: yesterday in both zones
    await usage("2030-01-14T15:30:00Z", 1000); // 00:30 on Jan 15 in Tokyo, still Jan 14 in UTC
    await usage("2030-01-15T03:00:00Z", 20); // today in both zones
    await usage("2030-01-15T09:00:00Z", 5000); // at the end: after the digest's window

    const lines = await digestBudgets(end);
    // In UTC's day and month these would be 20 and 1120.
    expect(lines).toEqual([
      expect.objectContaining({ name: "daily_limit", key: "openai", used: 1020, pct: 10.2, window: "daily" }),
      expect.objectContaining({ name: "monthly_limit", key: "*", used: 1420, pct: 1.4, window: "monthly" }),
    ]);

    // The instant just before the end is what the digest reports.
    const api = await apiBudgets(end - 1);
    expect(api).toMatchObject([
      { name: "daily_limit", key: "openai", resets_at: "2030-01-15T15:00:00.000Z" }, // Tokyo midnight
      { name: "monthly_limit", key: "*", resets_at: "2030-01-31T15:00:00.000Z" },
    ]);
    expect(lines.map((line) => [line.name, line.key, line.used, line.pct])).toEqual(
      api.map((view) => [view.name, view.key, view.used, view.pct]),
    );
  });

  it("report the ops zone's day that ended when the digest ends at its midnight, up to the end only", async () => {
    const end = Date.parse("2030-01-15T15:00:00Z"); // midnight in Tokyo, 15:00 in UTC
    await usage("2030-01-14T15:30:00Z", 1000); // 00:30 on Jan 15 in Tokyo
    await usage("2030-01-15T14:59:59.999Z", 20); // the last instant of Jan 15 in Tokyo
    await usage("2030-01-15T15:00:00Z", 5000); // Jan 16 in Tokyo, same UTC day: not the day that ended

    const lines = await digestBudgets(end);
    expect(lines.find((line) => line.name === "daily_limit")).toMatchObject({ key: "openai", used: 1020 });
    const api = await apiBudgets(end - 1);
    expect(api.find((view) => view.name === "daily_limit")).toMatchObject({
      used: 1020,
      resets_at: "2030-01-15T15:00:00.000Z",
    });
  });
});
