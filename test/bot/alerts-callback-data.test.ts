import { describe, expect, it } from "vitest";
import { AG_PATTERN, decodeAg, encodeAg } from "../../src/bot/callback-data/ag.ts";
import { AL_PATTERN, decodeAl, encodeAl } from "../../src/bot/callback-data/al.ts";
import { decodePg, encodePg, pgPattern } from "../../src/bot/callback-data/pg.ts";
import { parseSilenceCommand } from "../../src/bot/features/alerts/silence-commands.ts";

const ID = "aZ09aZ09aZ09aZ09";

describe("al: codec", () => {
  it("round-trips every action and silence length within 64 bytes", () => {
    for (const data of [
      { action: "ack", alertId: ID },
      { action: "res", alertId: ID },
      { action: "sil", alertId: ID },
      { action: "sil", alertId: ID, silenceFor: "24h" },
    ] as const) {
      const wire = encodeAl(data);
      expect(Buffer.byteLength(wire)).toBeLessThanOrEqual(64);
      expect(decodeAl(AL_PATTERN.exec(wire))).toEqual(data);
    }
    expect(encodeAl({ action: "sil", alertId: ID, silenceFor: "4h" })).toBe(`al:sil:${ID}:4h`);
  });

  it("refuses anything off the fixed wire format", () => {
    for (const wire of [
      `al:ack:${ID}:1h:x`,
      `al:del:${ID}`,
      "al:ack:short",
      `al:sil:${ID}:2h`,
      `ag:ack:${ID}`,
    ]) {
      expect(decodeAl(wire)).toBeNull();
    }
  });
});

describe("ag: codec", () => {
  it("round-trips and checks the argument per action", () => {
    for (const data of [
      { action: "ack", groupId: ID },
      { action: "res", groupId: ID },
      { action: "sil", groupId: ID },
      { action: "sil", groupId: ID, silenceFor: "1h" },
      { action: "more", groupId: ID, page: 49 },
    ] as const) {
      const wire = encodeAg(data);
      expect(Buffer.byteLength(wire)).toBeLessThanOrEqual(64);
      expect(decodeAg(AG_PATTERN.exec(wire))).toEqual(data);
    }
    expect(decodeAg(`ag:more:${ID}`)).toBeNull();
    expect(decodeAg(`ag:ack:${ID}:1h`)).toBeNull();
    expect(decodeAg(`ag:sil:${ID}:9h`)).toBeNull();
    expect(decodeAg(`ag:more:${ID}:x1`)).toBeNull();
  });
});

describe("pg: codec", () => {
  it("matches one view's pages only", () => {
    expect(encodePg({ view: "alerts", page: 3 })).toBe("pg:alerts:3");
    expect(decodePg(pgPattern("alerts").exec("pg:alerts:3"))).toEqual({ view: "alerts", page: 3 });
    expect(pgPattern("alerts").test("pg:approvals:3")).toBe(false);
    expect(decodePg("pg:alerts:x")).toBeNull();
    expect(() => encodePg({ view: "Bad View", page: 0 })).toThrow();
  });
});

describe("/silence arguments", () => {
  it("reads the duration from the end, one or two words", () => {
    expect(parseSilenceCommand("disk:db1 4h")).toEqual({
      kind: "create",
      target: "disk:db1",
      durationMs: 4 * 3_600_000,
    });
    expect(parseSilenceCommand('alertname="High Latency", env=prod  2 hours')).toEqual({
      kind: "create",
      target: 'alertname="High Latency", env=prod',
      durationMs: 2 * 3_600_000,
    });
    expect(parseSilenceCommand("")).toEqual({ kind: "usage" });
    expect(parseSilenceCommand("disk:db1")).toEqual({ kind: "usage" });
    expect(parseSilenceCommand("disk:db1 later")).toEqual({ kind: "bad-duration", given: "later" });
    expect(parseSilenceCommand("disk:db1 45d")).toEqual({ kind: "too-long" });
    expect(parseSilenceCommand("expire abc")).toEqual({ kind: "expire", id: "abc" });
    expect(parseSilenceCommand("expire")).toEqual({ kind: "expire", id: null });
  });
});
