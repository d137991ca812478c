import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/observability/logger.ts";
import { runWithTrace } from "../../src/observability/trace.ts";
import { listAudit, writeAudit } from "../../src/store/audit.ts";
import { migrate } from "../../src/store/migrate.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";

describe("store", () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase({ migrate: false });
  });
  afterAll(async () => t.drop());

  it("applies migrations once even when two instances start at the same moment", async () => {
    const [a, b] = await Promise.all([migrate(t.db, silentLogger()), migrate(t.db, silentLogger())]);
    const appliedTwice = [...a, ...b];
    const { rows } = await t.db.query("select name from schema_migrations order by name");
    expect(rows.length).toBeGreaterThan(0);
    // every migration ran exactly once, split between the two racers
    expect(appliedTwice.sort()).toEqual(rows.map((r) => r.name).sort());
    expect(await migrate(t.db, silentLogger())).toEqual([]);
  });

  it("records audit rows with the current trace id and refuses to rewrite them", async () => {
    await runWithTrace({ traceId: "a".repeat(32), spanId: "b".repeat(16) }, () =>
      writeAudit(t.db, {
        actor: { type: "operator", id: "42", name: "Ann" },
        action: "mode.set",
        target: "MAINTENANCE",
        details: { reason: "db upgrade" },
      }),
    );
    const [row] = await listAudit(t.db, { action: "mode.set" });
    expect(row).toMatchObject({
      actor_id: "42",
      actor_name: "Ann",
      target: "MAINTENANCE",
      trace_id: "a".repeat(32),
    });
    expect(row?.details).toEqual({ reason: "db upgrade" });
    await expect(t.db.query("update audit_log set action = 'x'")).rejects.toThrow(/append-only/);
  });
});
