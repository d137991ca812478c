import { createHash, timingSafeEqual } from "node:crypto";

/** What an API key may do. `all` grants every scope; `read` covers the GET routes. */
export const SCOPES = ["alerts", "approvals", "usage", "breakers", "read", "admin", "all"] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  name: string;
  /** The bearer token. Never logged, never echoed, never put into an error message. */
  key: string;
  scopes: Scope[];
  /** Agent names the key may act for; undefined means any agent. */
  agents?: string[];
}

/**
 * A verified key without its secret. This is what handlers see as `request.apiKey`, so that
 * logging the request's key by accident cannot leak the token.
 */
export interface ApiKeyIdentity {
  readonly name: string;
  readonly scopes: readonly Scope[];
  readonly agents?: readonly string[];
}

export interface Keyring {
  /** The key the token belongs to, or null. Takes the same time whichever key (if any) matches. */
  verify(token: string | undefined): ApiKeyIdentity | null;
  readonly size: number;
}

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/**
 * Reads `PITWALL_API_KEYS` ("name:key,name2:key2"). The token is everything after the first
 * colon, so tokens may themselves contain colons. Errors name the entry by its 1-based position
 * only: the entry text may be a key pasted in the wrong place.
 */
export function parseApiKeysEnv(value: string | undefined): ApiKey[] {
  if (value === undefined || value.trim() === "") return [];
  const keys: ApiKey[] = [];
  const entries = value.split(",");
  entries.forEach((raw, index) => {
    const entry = raw.trim();
    // A trailing or doubled comma is a slip, not a key.
    if (entry === "") return;
    const where = `PITWALL_API_KEYS entry ${index + 1}`;
    const colon = entry.indexOf(":");
    if (colon < 0) throw new Error(`${where} has no colon; write it as name:key`);
    const name = entry.slice(0, colon).trim();
    const key = entry.slice(colon + 1).trim();
    if (name === "") throw new Error(`${where} has an empty name; write it as name:key`);
    if (!KEY_NAME.test(name)) {
      throw new Error(`${where} has an invalid name; use letters, digits, '.', '_', '-' or '@' (at most 64)`);
    }
    if (key === "") throw new Error(`${where} has an empty key; write it as name:key`);
    if (/\s/.test(key))
      throw new Error(`${where} has whitespace inside its key; keys are sent in an HTTP header`);
    keys.push({ name, key, scopes: ["all"] });
  });
  return keys;
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Holds the configured keys as SHA-256 digests. Comparing digests of equal length with
 * `timingSafeEqual`, against every candidate without stopping at a match, keeps the token's
 * length and the matching key's position out of the response time.
 */
export function createKeyring(keys: readonly ApiKey[]): Keyring {
  const names = new Set<string>();
  const byDigest = new Map<string, string>();
  const entries: Array<{ digest: Buffer; identity: ApiKeyIdentity }> = [];
  for (const apiKey of keys) {
    if (!apiKey.name) throw new Error("every API key needs a name");
    if (names.has(apiKey.name)) {
      throw new Error(`API key name "${apiKey.name}" is used twice; give each key its own name`);
    }
    names.add(apiKey.name);
    if (!apiKey.key) throw new Error(`API key "${apiKey.name}" has an empty key`);
    const keyDigest = digest(apiKey.key);
    const hex = keyDigest.toString("hex");
    const sameKeyAs = byDigest.get(hex);
    if (sameKeyAs !== undefined) {
      throw new Error(
        `API keys "${sameKeyAs}" and "${apiKey.name}" have the same key; give each its own key`,
      );
    }
    byDigest.set(hex, apiKey.name);
    const identity: ApiKeyIdentity = Object.freeze({
      name: apiKey.name,
      scopes: Object.freeze([...apiKey.scopes]),
      ...(apiKey.agents ? { agents: Object.freeze([...apiKey.agents]) } : {}),
    });
    entries.push({ digest: keyDigest, identity });
  }

  return {
    size: entries.length,
    verify(token) {
      if (typeof token !== "string" || token.length === 0) return null;
      const presented = digest(token);
      let found: ApiKeyIdentity | null = null;
      for (const entry of entries) {
        // No early exit: every candidate costs the same whether or not an earlier one matched.
        const same = timingSafeEqual(presented, entry.digest);
        found = same ? entry.identity : found;
      }
      return found;
    },
  };
}

/** True when the key holds `scope` (or `all`). */
export function hasScope(key: ApiKeyIdentity, scope: Scope): boolean {
  return key.scopes.includes("all") || key.scopes.includes(scope);
}

/** True when the key may act for `agent` (no agent list, or `*`, means any agent). */
export function mayActFor(key: ApiKeyIdentity, agent: string): boolean {
  return key.agents === undefined || key.agents.includes("*") || key.agents.includes(agent);
}
