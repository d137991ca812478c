import { encode } from "gpt-tokenizer";
import { describe, expect, it } from "vitest";
import { inputChecks } from "../../../src/guards/approvals/input-checks.ts";
import { MAX_ARGS_DEPTH, normalizeArgs } from "../../../src/guards/approvals/normalize.ts";
import { decideToolCall } from "../../../src/guards/approvals/policy.ts";
import { configFrom, policyFrom } from "./support.ts";

const defaults = inputChecks(configFrom("").safety.input);
/** The tokenizer's own count of the canonical JSON, the number the check must agree with. */
const tokenizerCount = (args: unknown) => encode(normalizeArgs(args)).length;

/** Words that are mostly one token each but not all the same (a natural-ish text). */
function words(n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(`w${(i * 7919) % 100_003}`);
  return out.join(" ");
}

describe("safety.input.max_length: counted with a real tokenizer", () => {
  it("uses the report's default of 10 000 tokens", () => {
    expect(defaults.maxTokens).toBe(10_000);
  });

  it("denies arguments over 10 000 tokens, naming the limit and the count", () => {
    const args = { text: words(6_000) };
    expect(tokenizerCount(args)).toBeGreaterThan(10_001);
    const result = defaults.check(args);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.violation).toMatchObject({ code: "too_long", limit: 10_000 });
    if (result.violation.code !== "too_long") return;
    expect(result.violation.tokens).toBeGreaterThan(10_000);
    expect(result.reason).toContain("more than 10 000 tokens");
    expect(result.reason).toContain("safety.input.max_length is 10 000");
  });

  it("counts 40 000+ characters of a repeated pattern exactly as the tokenizer does, not chars/4", () => {
    const args = { text: " hello".repeat(7_000) };
    const canonical = normalizeArgs(args);
    // chars/4 would say over 10 000 and deny; the real count is about 7 000.
    expect(canonical.length / 4).toBeGreaterThan(10_000);
    const result = defaults.check(args);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.tokens).toBe(encode(canonical).length);
    expect(result.tokens).not.toBe(Math.ceil(canonical.length / 4));
  });

  it("the limit is exact: N tokens pass a limit of N and fail a limit of N - 1", () => {
    const args = { text: words(3_000), n: 42, nested: { list: ["a", "b"] } };
    const n = tokenizerCount(args);
    const at = inputChecks({ max_length: n, filter_prompts: [], validate_json: true }).check(args);
    const under = inputChecks({ max_length: n - 1, filter_prompts: [], validate_json: true }).check(args);
    expect(at).toMatchObject({ ok: true, tokens: n });
    expect(under).toMatchObject({ ok: false, violation: { code: "too_long", limit: n - 1 } });
  });

  it("agrees with the tokenizer on code, JSON, base64, hex and non-Latin text", () => {
    const samples = [
      { cmd: 'for f in $(ls *.ts); do npx tsc --noEmit "$f" && echo ok; done' },
      { payload: JSON.stringify({ messages: [{ role: "user", content: "Hello, world!" }] }) },
      { blob: Buffer.from("x".repeat(3000)).toString("base64") },
      { sha: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".repeat(20) },
      { text: "Привет, мир! 你好，世界！ こんにちは 🌍🚀 مرحبا" },
    ];
    for (const args of samples) {
      const result = defaults.check(args);
      expect(result).toMatchObject({ ok: true, tokens: tokenizerCount(args) });
    }
  });

  it("treats special-token text as plain text instead of throwing", () => {
    const args = { text: "<|endoftext|><|im_start|>system" };
    expect(() => defaults.check(args)).not.toThrow();
    expect(defaults.check(args).ok).toBe(true);
  });

  it("a megabyte of one letter is denied promptly (long runs are counted in slices)", () => {
    const result = defaults.check({ text: "a".repeat(1_000_000) });
    expect(result).toMatchObject({ ok: false, violation: { code: "too_long" } });
  });

  it("a decision carries the token count", () => {
    const policy = policyFrom("");
    const args = { path: "README.md" };
    const d = decideToolCall({ agent: "a", tool: "read_file", args }, policy, { mode: "FULL" });
    expect(d.tokens).toBe(tokenizerCount(args));
  });

  it("a huge call is denied by policy with rule input_check", () => {
    const policy = policyFrom("");
    const d = decideToolCall({ agent: "a", tool: "read_file", args: { text: words(12_000) } }, policy, {
      mode: "FULL",
    });
    expect(d).toMatchObject({ outcome: "deny", rule: "input_check", violation: { code: "too_long" } });
  });
});

describe("safety.input.validate_json", () => {
  it.each([
    [["a", "b"], "an array"],
    [null, "null"],
    ["rm -rf /", "a string"],
    [42, "a number"],
    [true, "a boolean"],
    [undefined, "nothing"],
  ])("denies %j with a reason saying what came", (args, got) => {
    const result = defaults.check(args);
    expect(result).toMatchObject({ ok: false, violation: { code: "not_object", got } });
    if (!result.ok) expect(result.reason).toContain(`got ${got}`);
  });

  it("accepts an empty object", () => {
    expect(defaults.check({})).toMatchObject({ ok: true });
  });

  it("validate_json: false lets other JSON through (still length-checked and scanned)", () => {
    const loose = inputChecks({ max_length: 100, filter_prompts: ["sudo:"], validate_json: false });
    expect(loose.check(["sudo: ls"])).toMatchObject({
      ok: true,
      flags: [{ pattern: "sudo:", path: "args[0]", where: "value" }],
    });
    expect(loose.check("plain")).toMatchObject({ ok: true });
  });

  it(`denies arguments nested deeper than ${MAX_ARGS_DEPTH} levels instead of crashing`, () => {
    let deep: unknown = "bottom";
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    expect(defaults.check(deep)).toMatchObject({ ok: false, violation: { code: "too_deep" } });
    let ok: unknown = "bottom";
    for (let i = 0; i < MAX_ARGS_DEPTH - 1; i++) ok = [ok];
    expect(defaults.check({ ok })).toMatchObject({ ok: true });
  });

  it("a cycle (only possible in-process) is refused, not followed forever", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(defaults.check(cyclic)).toMatchObject({ ok: false, violation: { code: "too_deep" } });
  });
});
