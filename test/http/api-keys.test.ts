import { describe, expect, it } from "vitest";
import { createKeyring, hasScope, mayActFor, parseApiKeysEnv } from "../../src/http/api-keys.ts";

describe("PITWALL_API_KEYS", () => {
  it("reads name:key pairs; the token is everything after the first colon; env keys get every scope", () => {
    expect(parseApiKeysEnv("ci:abc123, coder-bot:tok:with:colons ,")).toEqual([
      { name: "ci", key: "abc123", scopes: ["all"] },
      { name: "coder-bot", key: "tok:with:colons", scopes: ["all"] },
    ]);
    expect(parseApiKeysEnv(undefined)).toEqual([]);
    expect(parseApiKeysEnv("  ")).toEqual([]);
  });

  it("names a malformed entry by position and never repeats its text", () => {
    const cases: Array<[string, RegExp]> = [
      ["ok:fine,SECRETVALUE123", /entry 2 has no colon/],
      [":SECRETVALUE123", /entry 1 has an empty name/],
      ["ci:", /entry 1 has an empty key/],
      ["bad name:SECRETVALUE123", /entry 1 has an invalid name/],
      ["ci:SECRET VALUE123", /entry 1 has whitespace inside its key/],
    ];
    for (const [value, message] of cases) {
      let error: Error | undefined;
      try {
        parseApiKeysEnv(value);
      } catch (err) {
        error = err as Error;
      }
      expect(error?.message).toMatch(message);
      expect(error?.message).not.toContain("SECRET");
    }
  });
});

describe("keyring", () => {
  const keyring = createKeyring([
    { name: "a", key: "key-a-0123456789", scopes: ["alerts"], agents: ["coder"] },
    { name: "b", key: "key-b-0123456789", scopes: ["all"] },
  ]);

  it("finds the key a token belongs to and nothing for anything else", () => {
    expect(keyring.verify("key-a-0123456789")).toEqual({ name: "a", scopes: ["alerts"], agents: ["coder"] });
    expect(keyring.verify("key-b-0123456789")?.name).toBe("b");
    expect(keyring.verify("key-b-012345678")).toBeNull();
    expect(keyring.verify("key-b-01234567890")).toBeNull();
    expect(keyring.verify("")).toBeNull();
    expect(keyring.verify(undefined)).toBeNull();
    expect(keyring.size).toBe(2);
  });

  it("hands out the key's identity without its secret", () => {
    const identity = keyring.verify("key-a-0123456789");
    expect(JSON.stringify(identity)).not.toContain("key-a-0123456789");
  });

  it("refuses duplicate names and duplicate keys without printing a key", () => {
    expect(() =>
      createKeyring([
        { name: "a", key: "SECRET-1", scopes: ["all"] },
        { name: "a", key: "SECRET-2", scopes: ["all"] },
      ]),
    ).toThrow(/name "a" is used twice/);
    let error: Error | undefined;
    try {
      createKeyring([
        { name: "a", key: "SECRET-1", scopes: ["all"] },
        { name: "b", key: "SECRET-1", scopes: ["read"] },
      ]);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(/"a" and "b" have the same key/);
    expect(error?.message).not.toContain("SECRET");
  });

  it("grants every scope to `all` and any agent to a key without an agent list", () => {
    const a = keyring.verify("key-a-0123456789")!;
    const b = keyring.verify("key-b-0123456789")!;
    expect(hasScope(a, "alerts")).toBe(true);
    expect(hasScope(a, "admin")).toBe(false);
    expect(hasScope(b, "admin")).toBe(true);
    expect(mayActFor(a, "coder")).toBe(true);
    expect(mayActFor(a, "reader")).toBe(false);
    expect(mayActFor(b, "reader")).toBe(true);
  });
});
