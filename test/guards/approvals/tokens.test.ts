import { encode } from "gpt-tokenizer";
import { describe, expect, it } from "vitest";
import { countTokens, countTokensUpTo, LONG_RUN } from "../../../src/guards/approvals/tokens.ts";

describe("countTokensUpTo", () => {
  it("stops once the count passes the limit", () => {
    const text = " hello".repeat(50_000);
    const result = countTokensUpTo(text, 100);
    expect(result.overLimit).toBe(true);
    expect(result.count).toBeGreaterThan(100);
    expect(result.count).toBeLessThan(110);
  });

  it("reports the exact count when within the limit", () => {
    const text = "The quick brown fox jumps over the lazy dog.";
    expect(countTokensUpTo(text, 1_000)).toEqual({ count: encode(text).length, overLimit: false });
    expect(countTokensUpTo(text, encode(text).length)).toMatchObject({ overLimit: false });
    expect(countTokensUpTo(text, encode(text).length - 1)).toMatchObject({ overLimit: true });
  });

  it("counts an empty text as 0", () => {
    expect(countTokens("")).toBe(0);
  });

  it("runs just under LONG_RUN are counted whole, exactly", () => {
    for (const text of ["a".repeat(LONG_RUN - 1), " ".repeat(LONG_RUN - 1), "=".repeat(LONG_RUN - 1)]) {
      expect(countTokens(text)).toBe(encode(text).length);
    }
  });

  it("longer runs are counted in slices: never fewer tokens than the tokenizer's count, and close to it", () => {
    for (const text of [
      "a".repeat(5_000),
      `x${" ".repeat(3_000)}y`,
      "-".repeat(2_000),
      "é".repeat(1_000),
      "😀".repeat(700),
    ]) {
      const exact = encode(text).length;
      const sliced = countTokens(text);
      expect(sliced).toBeGreaterThanOrEqual(exact);
      expect(sliced).toBeLessThanOrEqual(exact + Math.ceil(text.length / LONG_RUN) * 2);
    }
  });
});
