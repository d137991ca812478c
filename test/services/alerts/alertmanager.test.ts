import { readFileSync } from "node:fs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type AlertsBed, createAlertsBed, textOf } from "./support.ts";

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../guards/alerts/fixtures/${name}.json`, import.meta.url), "utf8"));

let bed: AlertsBed;
beforeAll(async () => {
  bed = await createAlertsBed();
});
afterAll(async () => bed?.close());
beforeEach(async () => {
  await bed.db.query(
    "truncate alerts, alert_events, alert_groups, silences, alert_notifications, outbox cascade",
  );
});

const webhook = (payload: unknown) => bed.post(payload, { url: "/v1/alerts/alertmanager" });

describe("POST /v1/alerts/alertmanager", () => {
  it("takes a grouped firing webhook: fingerprints as keys, summary as title, severity mapped, one group", async () => {
    const res = await webhook(fixture("firing-grouped"));
    expect(res.status).toBe(202);
    expect(res.body.results.map((r: { key: string; status: string }) => [r.key, r.status])).toEqual([
      ["ead1e691b49e9e28", "new"],
      ["68ba3a239362b135", "new"],
      // the critical of the same alertname inhibits the warning (default rule)
      ["c9329cbf00b9da15", "silenced"],
    ]);
    const { rows } = await bed.db.query("select key, severity, title, source from alerts order by seq");
    expect(rows[0]).toEqual({
      key: "ead1e691b49e9e28",
      severity: "critical",
      title: "p99 latency above 5s on api-1:9100",
      source: "alertmanager/pitwall",
    });
    expect(rows[2].severity).toBe("warning");

    // Alertmanager repeats the group every repeat_interval: those are repeats.
    const again = await webhook(fixture("firing-grouped"));
    expect(again.body.results.map((r: { status: string; count: number }) => [r.status, r.count])).toEqual([
      ["deduplicated", 2],
      ["deduplicated", 2],
      ["silenced", 2],
    ]);
    bed.clock.advance(2_000);
    await bed.service.flushGroups();
    const sends = await bed.outbox("method = 'sendMessage'");
    expect(sends).toHaveLength(1);
    expect(textOf(sends[0]!)).toContain("2 incidents · 4 alerts");
  });

  it("resolves with a resolved webhook (page -> critical), and accepts one without fingerprints", async () => {
    const resolved = fixture("resolved");
    const firing = structuredClone(resolved);
    firing.status = "firing";
    firing.alerts[0].status = "firing";
    firing.alerts[0].endsAt = "0001-01-01T00:00:00Z";
    const opened = await webhook(firing);
    expect(opened.body.results[0]).toMatchObject({ key: "93e3a7f6953d614e", status: "new" });
    const closed = await webhook(resolved);
    expect(closed.body.results[0]).toMatchObject({ id: opened.body.results[0].id, status: "resolved" });
    const { rows } = await bed.db.query("select severity, status from alerts");
    expect(rows).toEqual([{ severity: "critical", status: "resolved" }]);

    const bare = await webhook(fixture("no-fingerprint"));
    expect(bare.status).toBe(202);
    expect(bare.body.results).toHaveLength(2);
    expect(bare.body.results.every((r: { key: string }) => /^[0-9a-f]{16}$/.test(r.key))).toBe(true);
  });

  it("refuses only bodies that are not a webhook, with the reason", async () => {
    const notWebhook = await webhook({ hello: "world" });
    expect(notWebhook.status).toBe(400);
    expect(notWebhook.body.message).toContain("not an Alertmanager webhook: alerts: missing");
    const list = await webhook([{ labels: {} }]);
    expect(list.status).toBe(400);
    expect(list.body.message).toContain("got a list");
    const badAlert = await webhook({ alerts: [{ status: "firing" }] });
    expect(badAlert.status).toBe(400);
    expect(badAlert.body.message).toContain("alerts[0].labels");
    // Unknown versions and extra fields are fine: Alertmanager does not retry a 4xx.
    const odd = await webhook({
      version: "5",
      extra: true,
      alerts: [{ status: "firing", labels: { alertname: "X" } }],
    });
    expect(odd.status).toBe(202);
  });
});
