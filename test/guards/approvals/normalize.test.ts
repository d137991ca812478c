import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ArgsTooDeepError, argsHash, normalizeArgs } from "../../../src/guards/approvals/normalize.ts";

describe("normalizeArgs: canonical JSON", () => {
  it("sorts keys at every level and drops whitespace", () => {
    expect(normalizeArgs({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it("sorts integer-like keys as strings (JCS), not in JavaScript's numeric order", () => {
    expect(normalizeArgs({ 10: "a", 9: "b", x: "c" })).toBe('{"10":"a","9":"b","x":"c"}');
  });

  it("writes numbers and strings as JSON", () => {
    expect(
      normalizeArgs({ n: 1.5, e: 1e21, neg: -0, big: JSON.parse("12345678901234567890"), s: 'q"\n\u2028' }),
    ).toBe('{"big":12345678901234567000,"e":1e+21,"n":1.5,"neg":0,"s":"q\\"\\n\u2028"}');
  });

  it("treats numbers that JSON reads as equal as equal (1.0 is 1)", () => {
    expect(normalizeArgs(JSON.parse('{"n": 1.0}'))).toBe(normalizeArgs(JSON.parse('{"n": 1}')));
  });

  it("behaves like JSON.stringify for values JSON has no form for", () => {
    expect(normalizeArgs({ u: undefined, f: () => 1, a: [undefined, Number.NaN, Infinity] })).toBe(
      '{"a":[null,null,null]}',
    );
    expect(normalizeArgs({ d: new Date("2025-01-02T03:04:05Z") })).toBe('{"d":"2025-01-02T03:04:05.000Z"}');
    expect(() => normalizeArgs({ n: 1n })).toThrow(TypeError);
  });

  it("round-trips: parsing the canonical text gives the same values", () => {
    const args = { cmd: "ls", env: { A: "1" }, list: [1, "two", null, true, { x: [] }] };
    expect(JSON.parse(normalizeArgs(args))).toEqual(args);
  });

  it("refuses nesting past the limit with ArgsTooDeepError", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    expect(() => normalizeArgs(deep)).toThrow(ArgsTooDeepError);
  });
});

describe("argsHash: what an Always allow grant is bound to", () => {
  const args = { cmd: "npm test", cwd: "/repo", env: { CI: "1", NODE_ENV: "test" } };

  it("is the sha256 hex of the canonical JSON", () => {
    expect(argsHash(args)).toBe(createHash("sha256").update(normalizeArgs(args)).digest("hex"));
    expect(argsHash(args)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is the same for the same arguments in another key order", () => {
    expect(argsHash({ env: { NODE_ENV: "test", CI: "1" }, cwd: "/repo", cmd: "npm test" })).toBe(
      argsHash(args),
    );
    expect(argsHash(JSON.parse(JSON.stringify(args, null, 4)))).toBe(argsHash(args));
  });

  it("changes with any change in any value: never widened", () => {
    const variants: unknown[] = [
      { ...args, cmd: "npm test " },
      { ...args, cmd: "NPM test" },
      { ...args, cwd: "/repo/" },
      { ...args, env: { CI: "1", NODE_ENV: "prod" } },
      { ...args, env: { CI: 1, NODE_ENV: "test" } },
      { ...args, env: { CI: "1" } },
      { ...args, extra: null },
      { cmd: "npm test", cwd: "/repo" },
      [args],
      { ...args, cmd: "npm\u00a0test" },
      { ...args, cmd: "npm tést".normalize("NFD") },
    ];
    const hashes = new Set(variants.map(argsHash));
    expect(hashes.size).toBe(variants.length);
    expect(hashes.has(argsHash(args))).toBe(false);
  });

  it("keeps a JSON __proto__ key like any other key", () => {
    const args = JSON.parse('{"cmd": "ls", "__proto__": {"cmd": "rm -rf /"}}');
    expect(normalizeArgs(args)).toBe('{"__proto__":{"cmd":"rm -rf /"},"cmd":"ls"}');
    expect(argsHash(args)).not.toBe(argsHash({ cmd: "ls" }));
  });

  it("keeps array order significant", () => {
    expect(argsHash({ argv: ["a", "b"] })).not.toBe(argsHash({ argv: ["b", "a"] }));
  });

  it("keeps types apart: 1, '1', true, 'true', null and 'null' differ", () => {
    const values = [1, "1", true, "true", null, "null", [], {}, "", 0];
    expect(new Set(values.map((v) => argsHash({ v }))).size).toBe(values.length);
  });
});
