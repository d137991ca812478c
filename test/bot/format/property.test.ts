import { describe, expect, it } from "vitest";
import {
  b,
  blockquote,
  code,
  expandable,
  htmlToText,
  i,
  link,
  type Part,
  pre,
  renderHtml,
  renderPlain,
  s,
  spoiler,
  u,
  visibleLength,
} from "../../../src/bot/format/index.ts";
import { assertBalancedTags, hasLoneSurrogate, prng } from "./helpers.ts";

// Characters that stress escaping, counting and cutting: HTML specials, entities-in-waiting,
// astral emoji, ZWJ sequences, flags, combining marks, newlines.
const ALPHABET = [
  "a",
  "b",
  "Z",
  "0",
  " ",
  "\n",
  "<",
  ">",
  "&",
  '"',
  "'",
  "&amp;",
  "&lt;",
  "😀",
  "👍🏽",
  "🇺🇦",
  "👨‍👩‍👧",
  "é",
  "e\u0301",
  "ж",
  "—",
];

function generator(seed: number) {
  const random = prng(seed);
  const int = (max: number) => Math.floor(random() * max);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T;
  const text = (maxLen: number) => {
    let out = "";
    const len = int(maxLen);
    for (let k = 0; k < len; k++) out += pick(ALPHABET);
    return out;
  };
  const part = (depth: number): Part => {
    const kind = depth <= 0 ? int(3) : int(14);
    const children = () => Array.from({ length: int(4) }, () => part(depth - 1));
    switch (kind) {
      case 0:
      case 1:
        return text(40);
      case 2:
        return pick([null, false, undefined, 42, ""]);
      case 3:
        return b(...children());
      case 4:
        return i(...children());
      case 5:
        return u(...children());
      case 6:
        return s(...children());
      case 7:
        return spoiler(...children());
      case 8:
        return code(text(30));
      case 9:
        return pre(text(200), pick([undefined, "json", "bad lang<>"]));
      case 10:
        return link(
          pick(["https://example.com/?a=1&b=<2>", "tg://user?id=1", "javascript:x"]),
          ...children(),
        );
      case 11:
        return blockquote(...children());
      case 12:
        return expandable(...children());
      default:
        return children();
    }
  };
  return { int, parts: () => Array.from({ length: 1 + int(6) }, () => part(4)) };
}

const identity = (t: string) => t;

describe("property: random messages always fit and parse", () => {
  it("keeps visible length within the limit, tags balanced and text consistent over 1500 cases", () => {
    const gen = generator(20240501);
    for (let n = 0; n < 1500; n++) {
      const parts = gen.parts();
      const maxLength = [0, 1, 5, 13, 14, 50, 200, 1024, 4096][gen.int(9)] ?? 4096;
      const html = renderHtml(parts, { maxLength, redact: identity });
      const plain = renderPlain(parts, { maxLength, redact: identity });
      const full = renderPlain(parts, { maxLength: Number.MAX_SAFE_INTEGER, redact: identity }).text;
      const context = `case ${n}, max ${maxLength}: ${JSON.stringify(parts)}`;

      expect(visibleLength(html.html), context).toBe(html.visibleLength);
      expect(html.visibleLength, context).toBeLessThanOrEqual(maxLength);
      expect(() => assertBalancedTags(html.html), context).not.toThrow();
      const shown = htmlToText(html.html);
      expect(shown, context).toBe(plain.text);
      expect(hasLoneSurrogate(shown), context).toBe(false);
      expect(html.truncated, context).toBe(full.length > maxLength);
      if (html.truncated) {
        const note = "… (truncated)".slice(0, maxLength);
        expect(shown.endsWith(note), context).toBe(true);
        expect(full.startsWith(shown.slice(0, shown.length - note.length)), context).toBe(true);
      } else {
        expect(shown, context).toBe(full);
      }
    }
  });

  it("keeps the same guarantees with the default redactor on", () => {
    const gen = generator(7);
    for (let n = 0; n < 300; n++) {
      const parts = [...gen.parts(), "PASSWORD=p&ss<w>rd"];
      const html = renderHtml(parts, { maxLength: 4096 });
      expect(html.visibleLength).toBeLessThanOrEqual(4096);
      expect(visibleLength(html.html)).toBe(html.visibleLength);
      expect(() => assertBalancedTags(html.html)).not.toThrow();
      expect(html.html).not.toContain("p&amp;ss");
    }
  });
});
