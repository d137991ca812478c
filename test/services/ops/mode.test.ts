import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listAudit } from "../../../src/store/audit.ts";
import { createTestDatabase, type TestDatabase } from "../../support/db.ts";
import {
  bearer,
  CODER_KEY,
  config,
  fakeClock,
  fakeHost,
  type Json,
  MINUTE,
  type OpsHarness,
  opsHarness,
  READER_KEY,
  truncateOps,
} from "./support.ts";

const TELEGRAM = `
telegram:
  operators: [{ id: 1001, role: admin }]
  chats: { alerts: -1001234567890 }
`;
const ADA = { type: "operator" as const, id: "1001", name: "Ada" };

let tdb: TestDatabase;
let h: OpsHarness;
const clock = fakeClock("2030-01-15T10:00:00Z");

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  await truncateOps(tdb.db);
  clock.set("2030-01-15T10:00:00Z");
});
afterEach(async () => {
  await h?.close();
});

async function getMode(key = READER_KEY): Promise<Json> {
  const response = await h.app.inject({ method: "GET", url: "/v1/mode", headers: bearer(key) });
  expect(response.statusCode).toBe(200);
  return response.json();
}

async function chatMessages(): Promise<Array<{ chat_id: string; html: string; silent: boolean }>> {
  const { rows } = await tdb.db.query(
    "select chat_id, payload->>'html' as html, (payload->>'silent')::boolean as silent from outbox where kind = 'mode_change' order by id",
  );
  return rows;
}

describe("GET /v1/mode and admin pins", () => {
  it("starts FULL; a MAINTENANCE pin and its removal are audited, alerted and announced in the alerts chat", async () => {
    h = await opsHarness({ db: tdb.db, clock, config: config(TELEGRAM), telegramEnabled: true });
    expect(await getMode(CODER_KEY)).toMatchObject({ mode: "FULL", reasons: [], auto: "FULL", pinned: null });

    clock.advance(MINUTE);
    const pinned = await h.module.services.mode.pin("MAINTENANCE", "database upgrade", ADA);
    expect(pinned).toEqual({ changed: true, mode: "MAINTENANCE", previous: "FULL" });
    expect(await h.module.mode.current()).toEqual({
      mode: "MAINTENANCE",
      reasons: ["pinned by Ada: database upgrade"],
    });
    expect(await getMode()).toMatchObject({
      mode: "MAINTENANCE",
      reasons: ["pinned by Ada: database upgrade"],
      since: "2030-01-15T10:01:00.000Z",
      auto: "FULL",
      pinned: { mode: "MAINTENANCE", reason: "database upgrade", by: "Ada", at: "2030-01-15T10:01:00.000Z" },
    });
    expect(h.alerts.fired()).toEqual([
      expect.objectContaining({
        key: "mode:MAINTENANCE",
        severity: "info",
        title: "Mode MAINTENANCE",
        source: "mode",
      }),
    ]);
    const [announcement] = await chatMessages();
    expect(announcement).toMatchObject({ chat_id: "-1001234567890", silent: true });
    expect(announcement!.html).toContain("<b>Mode MAINTENANCE</b> (was FULL by Ada)");
    expect(announcement!.html).toContain("pinned by Ada: database upgrade");

    clock.advance(MINUTE);
    const unpinned = await h.module.services.mode.unpin(ADA);
    expect(unpinned).toEqual({ changed: true, mode: "FULL", previous: "MAINTENANCE", wasPinned: true });
    expect(await getMode()).toMatchObject({ mode: "FULL", pinned: null, reasons: [] });
    expect(h.alerts.resolved()).toEqual(["mode:MAINTENANCE"]);
    expect((await chatMessages()).map((message) => message.html)).toHaveLength(2);

    const audit = (await listAudit(tdb.db)).filter((row) => row.action.startsWith("mode."));
    expect(audit.map((row) => [row.action, row.actor_type, row.actor_name])).toEqual([
      ["mode.unpin", "operator", "Ada"],
      ["mode.pin", "operator", "Ada"],
    ]);
    expect(audit[1]!.details).toMatchObject({
      mode: "MAINTENANCE",
      reason: "database upgrade",
      previous: "FULL",
    });
    const history = await tdb.db.query("select mode, previous, changed_by from mode_history order by id");
    expect(history.rows).toEqual([
      { mode: "MAINTENANCE", previous: "FULL", changed_by: "Ada" },
      { mode: "FULL", previous: "MAINTENANCE", changed_by: "Ada" },
    ]);
    // Unpinning what is not pinned changes nothing and records nothing.
    expect(await h.module.services.mode.unpin(ADA)).toMatchObject({ changed: false, wasPinned: false });
    expect((await listAudit(tdb.db)).filter((row) => row.action.startsWith("mode."))).toHaveLength(2);
  });

  it("without a bot nothing is enqueued for Telegram; the alert still goes out", async () => {
    h = await opsHarness({ db: tdb.db, clock, config: config("") });
    await h.module.services.mode.pin("MAINTENANCE", "upgrade", ADA);
    expect(await chatMessages()).toEqual([]);
    expect(h.alerts.fired()).toHaveLength(1);
  });
});

describe("automatic degradation", () => {
  it("one trigger -> DEGRADED, two -> MINIMAL at once; FULL only after 5 quiet minutes; each change alerted", async () => {
    const host = fakeHost();
    h = await opsHarness({
      db: tdb.db,
      clock,
      options: { host },
      config: config(TELEGRAM),
      telegramEnabled: true,
    });
    await h.runJob("ops.mode");
    expect((await getMode()).mode).toBe("FULL");

    host.memoryAvailable = 100 * 1024 ** 2;
    clock.advance(10_000);
    await h.runJob("ops.mode");
    expect(await getMode()).toMatchObject({ mode: "DEGRADED", reasons: ["free memory 100 MB < 256 MB"] });

    // Slow calls reported to a breaker: p99 over 5 s for openai.
    await tdb.db.query(
      `insert into breaker_reports (name, at, outcome, latency_ms)
       select 'openai', $1::timestamptz - (g * interval '1 second'), 'success', 6000 from generate_series(1, 25) g`,
      [new Date(clock.ms())],
    );
    clock.advance(10_000);
    await h.runJob("ops.mode");
    const minimal = await getMode();
    expect(minimal.mode).toBe("MINIMAL");
    expect(minimal.reasons).toEqual(["openai: p99 6 s > 5 s", "free memory 100 MB < 256 MB"]);
    expect(minimal.measurements).toMatchObject({
      p99_ms: 6000,
      p99_service: "openai",
      free_memory_bytes: 100 * 1024 ** 2,
    });

    // Better, but not for long enough yet.
    host.memoryAvailable = 4 * 1024 ** 3;
    clock.advance(6 * MINUTE);
    await h.runJob("ops.mode");
    const recovering = await getMode();
    expect(recovering.mode).toBe("MINIMAL");
    expect(recovering.reasons[0]).toMatch(/^recovering: no trigger for 0 s; FULL after 5 min$/);

    clock.advance(5 * MINUTE);
    await h.runJob("ops.mode");
    expect((await getMode()).mode).toBe("FULL");

    expect(
      h.alerts.events.map((event) =>
        event.type === "fire" ? `fire ${event.alert.key} ${event.alert.severity}` : `resolve ${event.key}`,
      ),
    ).toEqual([
      "fire mode:DEGRADED warning",
      "resolve mode:DEGRADED",
      "fire mode:MINIMAL critical",
      "resolve mode:MINIMAL",
    ]);
    const messages = await chatMessages();
    expect(messages.map((message) => /Mode (\w+)/.exec(message.html)?.[1])).toEqual([
      "DEGRADED",
      "MINIMAL",
      "FULL",
    ]);
    // Critical is loud; back to FULL is quiet.
    expect(messages.map((message) => message.silent)).toEqual([false, false, true]);
  });

  it("while pinned the automatic mode is still tracked, so unpinning lands on it at once", async () => {
    const host = fakeHost();
    h = await opsHarness({ db: tdb.db, clock, options: { host }, config: config("") });
    await h.module.services.mode.pin("MAINTENANCE", "migration", ADA);
    host.memoryAvailable = 100 * 1024 ** 2;
    await h.runJob("ops.mode");
    expect(await getMode()).toMatchObject({
      mode: "MAINTENANCE",
      auto: "DEGRADED",
      reasons: ["pinned by Ada: migration", "free memory 100 MB < 256 MB"],
    });
    expect(await h.module.services.mode.unpin(ADA)).toMatchObject({
      mode: "DEGRADED",
      previous: "MAINTENANCE",
    });
    expect(
      h.alerts.events.map((event) =>
        event.type === "fire" ? `fire ${event.alert.key}` : `resolve ${event.key}`,
      ),
    ).toEqual(["fire mode:MAINTENANCE", "resolve mode:MAINTENANCE", "fire mode:DEGRADED"]);
  });
});
