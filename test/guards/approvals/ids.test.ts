import { describe, expect, it } from "vitest";
import { ID_LENGTH, isId, newId } from "../../../src/guards/approvals/ids.ts";

describe("newId", () => {
  it("makes 10 000 distinct 16-character base62 ids", () => {
    const ids = Array.from({ length: 10_000 }, () => newId());
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9]{16}$/);
  });

  it("uses the whole alphabet, each character about equally often", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 5_000; i++) for (const ch of newId()) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(62);
    const expected = (5_000 * ID_LENGTH) / 62; // ≈ 1290
    for (const n of counts.values()) {
      // ±25 %: far outside any chance deviation (σ ≈ 36), well inside a modulo bias.
      expect(n).toBeGreaterThan(expected * 0.75);
      expect(n).toBeLessThan(expected * 1.25);
    }
  });

  it("rejects bytes 248..255 instead of folding them onto the first characters (no modulo bias)", () => {
    // A source that offers the biased bytes first: they must all be skipped.
    let call = 0;
    const source = (size: number) => {
      call += 1;
      return Uint8Array.from({ length: size }, (_, i) => (call === 1 ? 248 + (i % 8) : i));
    };
    expect(newId(source)).toBe("0123456789ABCDEF");
    expect(call).toBe(2);
  });
});

describe("isId", () => {
  it("accepts ids and rejects anything else", () => {
    expect(isId(newId())).toBe(true);
    for (const bad of ["", "abc", "0123456789ABCDEFG", "0123456789ABCDE!", "0123456789ABCDE ", 42, null]) {
      expect(isId(bad)).toBe(false);
    }
  });

  it("fits Telegram's 64-byte callback data with the longest prefix", () => {
    expect(Buffer.byteLength(`ap:always:${newId()}`)).toBeLessThanOrEqual(64);
  });
});
