import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { budgetStatuses, budgetView } from "../../../src/services/ops/budgets.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import {
  ADMIN_KEY,
  bearer,
  config,
  fakeClock,
  type Json,
  type OpsHarness,
  opsHarness,
  READER_KEY,
  truncateOps,
} from "./support.ts";

const CONFIG = config(`
cost_management:
  budgets:
    - { name: team, limit: 10000 tokens, scope: global }
    - { name: per_model, limit: 10000 tokens, scope: per_model }
routing:
  providers: [openai]
`);

let tdb: TestDatabase;
let h: OpsHarness;
const clock = fakeClock("2030-01-15T10:05:00Z");

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  await truncateOps(tdb.db);
  h = await opsHarness({ db: tdb.db, config: CONFIG, clock });
});
afterEach(async () => {
  await h?.close();
});

async function postAt(at: string, model: string, tokens: number): Promise<void> {
  clock.set(at);
  const response = await h.app.inject({
    method: "POST",
    url: "/v1/usage",
    headers: bearer(ADMIN_KEY),
    payload: { provider: "openai", model, input_tokens: tokens, output_tokens: 0 },
  });
  expect(response.statusCode).toBe(200);
}

async function listBudgets(): Promise<Json[]> {
  const response = await h.app.inject({ method: "GET", url: "/v1/budgets", headers: bearer(READER_KEY) });
  return response.json().budgets as Json[];
}

describe("budget statuses at an instant", () => {
  it("at a past instant say what /v1/budgets said then: usage up to it, none recorded later in that hour", async () => {
    await postAt("2030-01-15T10:05:00Z", "gpt-4", 100);
    await postAt("2030-01-15T10:20:00Z", "gpt-4", 20);
    const then = await listBudgets();
    expect(then).toMatchObject([
      { name: "team", key: "*", used: 120 },
      { name: "per_model", key: "gpt-4", used: 120 },
    ]);
    // Later in the same hour (one hourly aggregate), and the hour after.
    await postAt("2030-01-15T10:40:00Z", "claude-opus", 5000);
    await postAt("2030-01-15T11:10:00Z", "gpt-4", 7);

    const past = await budgetStatuses({ db: tdb.db, config: CONFIG }, Date.parse("2030-01-15T10:20:00Z"));
    // A model first used after the instant has no line yet.
    expect(past.map(budgetView)).toEqual(then);

    const now = (await listBudgets()).map((view) => `${view.name}/${view.key}/${view.used}`);
    expect(now.sort()).toEqual(["per_model/claude-opus/5000", "per_model/gpt-4/127", "team/*/5127"]);
  });
});
