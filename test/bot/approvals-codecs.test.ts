import { describe, expect, it } from "vitest";
import { AB_PATTERN, decodeAb, encodeAb } from "../../src/bot/callback-data/ab.ts";
import { AP_ACTIONS, AP_PATTERN, decodeAp, encodeAp } from "../../src/bot/callback-data/ap.ts";
import { newId } from "../../src/guards/approvals/index.ts";

describe("ap: and ab: callback data (a wire format fixed now)", () => {
  it("round-trips every action and stays within 64 bytes", () => {
    for (const action of AP_ACTIONS) {
      const id = newId();
      const data = encodeAp({ action, id });
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      expect(decodeAp(data)).toEqual({ action, id });
      expect(decodeAp(AP_PATTERN.exec(data))).toEqual({ action, id });
    }
    const batchId = newId();
    for (const action of ["ok", "review"] as const) {
      const data = encodeAb({ action, batchId });
      expect(data).toBe(`ab:${action}:${batchId}`);
      expect(decodeAb(AB_PATTERN.exec(data))).toEqual({ action, batchId });
    }
  });

  it("keeps the exact formats of DESIGN.md", () => {
    expect(encodeAp({ action: "always", id: "AbCdEfGhIjKlMnOp" })).toBe("ap:always:AbCdEfGhIjKlMnOp");
    expect(encodeAb({ action: "review", batchId: "AbCdEfGhIjKlMnOp" })).toBe("ab:review:AbCdEfGhIjKlMnOp");
  });

  it("refuses anything else (forged, truncated, other prefixes)", () => {
    for (const data of [
      "ap:ok:short",
      "ap:ok:AbCdEfGhIjKlMnOp:extra",
      "ap:yes:AbCdEfGhIjKlMnOp",
      "ap:ok:AbCdEfGhIjKlMn/p",
      "al:ack:AbCdEfGhIjKlMnOp",
      "ap:ok:AbCdEfGhIjKlMnOpQ",
      "",
    ]) {
      expect(decodeAp(data)).toBeNull();
    }
    expect(decodeAb("ab:all:AbCdEfGhIjKlMnOp")).toBeNull();
    expect(decodeAb("ab:ok:AbCdEfGhIjKlMnO")).toBeNull();
  });
});
