/**
 * Random hex ids (trace, span and request ids) drawn from a pooled buffer: one
 * `randomFillSync` of 4 KiB serves a few hundred ids instead of one `randomBytes` call (and
 * buffer allocation) each. The bytes are the same CSPRNG's; each is handed out once.
 */
import { randomFillSync } from "node:crypto";

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** `bytes` random bytes as lowercase hex (at most the pool's size). */
export function randomHex(bytes: number): string {
  if (offset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const hex = pool.toString("hex", offset, offset + bytes);
  offset += bytes;
  return hex;
}
