/** Tags the renderer may emit (Bot API HTML subset). */
const ALLOWED = new Set(["b", "i", "u", "s", "tg-spoiler", "code", "pre", "a", "blockquote"]);

/** Throws unless every tag is allowed, opened before it is closed, and closed in order. */
export function assertBalancedTags(html: string): void {
  const stack: string[] = [];
  for (const match of html.matchAll(/<(\/?)([a-z-]+)(?:\s[^>]*)?>/g)) {
    const [, slash, name = ""] = match;
    if (!ALLOWED.has(name)) throw new Error(`unexpected tag <${slash}${name}> in ${html}`);
    if (slash === "") stack.push(name);
    else if (stack.pop() !== name) throw new Error(`</${name}> closes the wrong tag in ${html}`);
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join(">, <")}> in ${html}`);
  // Nothing that looks like the start of a tag may survive as text: `<` must be escaped.
  const stripped = html.replace(/<\/?[a-z-]+(?:\s(?:[^>"]|"[^"]*")*)?>/g, "");
  if (stripped.includes("<") || stripped.includes(">")) throw new Error(`raw < or > in text of ${html}`);
}

/** True when the string holds half of a surrogate pair. */
export function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** Small seeded PRNG (mulberry32): the same seed gives the same cases on every run. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
