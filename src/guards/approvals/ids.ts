/**
 * Approval, batch and grant ids: 16 base62 characters from crypto random bytes. 62^16 ≈ 2^95, so
 * an id cannot be guessed; it also fits Telegram callback data (`ap:always:<id>` is 26 bytes).
 */
import { randomBytes } from "node:crypto";

export const ID_LENGTH = 16;
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// Bytes at or above 248 (= 4 * 62) are dropped: keeping them would make `byte % 62` favour the
// first 8 characters. Rejection keeps every character equally likely.
const REJECT_FROM = 256 - (256 % ALPHABET.length);
const ID_PATTERN = /^[0-9A-Za-z]{16}$/;

/** A new id. `random` is for tests; it must return `size` uniformly random bytes. */
export function newId(random: (size: number) => Uint8Array = randomBytes): string {
  let id = "";
  while (id.length < ID_LENGTH) {
    // 20 bytes usually suffice (3 % of bytes are rejected); loop for the rare shortfall.
    for (const byte of random(20)) {
      if (byte >= REJECT_FROM) continue;
      id += ALPHABET[byte % ALPHABET.length];
      if (id.length === ID_LENGTH) break;
    }
  }
  return id;
}

/** Whether `value` has the shape of an id (it may still name nothing). */
export function isId(value: unknown): value is string {
  return typeof value === "string" && ID_PATTERN.test(value);
}
