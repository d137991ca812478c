/**
 * FNV-1a 64, the hash Prometheus and Alertmanager use for label fingerprints, in plain 32-bit
 * halves (no BigInt on the hot path, no node:crypto: guards stay portable and the result must
 * never change between versions, because keys and group ids are stored and sit in buttons).
 */

/** Cannot occur in UTF-8, so it separates names and values unambiguously (Prometheus' SeparatorByte). */
export const SEPARATOR_BYTE = 0xff;

const TWO_32 = 0x1_0000_0000;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** An FNV-1a 64 running hash; feed bytes and strings (as UTF-8), read it as 16 hex digits. */
export class Fnv1a64 {
  private hi = 0xcbf29ce4;
  private lo = 0x84222325;

  addByte(byte: number): this {
    const lo = (this.lo ^ byte) >>> 0;
    // x * 0x100000001b3 mod 2^64 = x * 0x1b3 + (x << 40); each product stays below 2^53.
    const loProduct = lo * 0x1b3;
    const carry = Math.floor(loProduct / TWO_32);
    this.lo = loProduct >>> 0;
    this.hi = (this.hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0;
    return this;
  }

  /** Adds the UTF-8 bytes of `text`; a lone surrogate counts as U+FFFD, as Go and TextEncoder read it. */
  addString(text: string): this {
    for (let i = 0; i < text.length; i++) {
      let code = text.charCodeAt(i);
      if (code < 0x80) {
        this.addByte(code);
        continue;
      }
      if (code >= 0xd800 && code <= 0xdfff) {
        const next = text.charCodeAt(i + 1);
        if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
        } else {
          code = 0xfffd;
        }
      }
      if (code < 0x800) {
        this.addByte(0xc0 | (code >> 6)).addByte(0x80 | (code & 0x3f));
      } else if (code < 0x10000) {
        this.addByte(0xe0 | (code >> 12))
          .addByte(0x80 | ((code >> 6) & 0x3f))
          .addByte(0x80 | (code & 0x3f));
      } else {
        this.addByte(0xf0 | (code >> 18))
          .addByte(0x80 | ((code >> 12) & 0x3f))
          .addByte(0x80 | ((code >> 6) & 0x3f))
          .addByte(0x80 | (code & 0x3f));
      }
    }
    return this;
  }

  /** Adds `text` then the separator byte. */
  addField(text: string): this {
    return this.addString(text).addByte(SEPARATOR_BYTE);
  }

  /** 16 lowercase hex digits, Go's `%016x` of the uint64 (Alertmanager's fingerprint format). */
  hex(): string {
    return this.hi.toString(16).padStart(8, "0") + this.lo.toString(16).padStart(8, "0");
  }

  bigint(): bigint {
    return (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }
}

/**
 * Orders strings by Unicode code point, which is UTF-8 byte order: Go's sort.Strings. JavaScript's
 * default order (UTF-16 units) differs for astral characters against U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  // Surrogates (astral code points) move above the rest of the BMP.
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

/** `length` base62 digits of a non-negative integer (least significant last), zero-padded. */
export function toBase62(value: bigint, length: number): string {
  let rest = value;
  let out = "";
  for (let i = 0; i < length; i++) {
    out = BASE62[Number(rest % 62n)] + out;
    rest /= 62n;
  }
  return out;
}
