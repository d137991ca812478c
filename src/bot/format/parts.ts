/**
 * Structured parts of an outgoing Telegram message. Features build these; the renderer alone
 * redacts, escapes and cuts them, so no caller ever concatenates HTML by hand.
 *
 * Plain strings and numbers are text; `null`, `undefined` and `false` render nothing (so
 * `cond && b("x")` works); arrays are flattened.
 */
export type Part = string | number | null | undefined | false | readonly Part[] | FormatNode;

export type FormatNode =
  | { readonly b: readonly Part[] }
  | { readonly i: readonly Part[] }
  | { readonly u: readonly Part[] }
  | { readonly s: readonly Part[] }
  | { readonly spoiler: readonly Part[] }
  | { readonly code: string }
  | { readonly pre: string; readonly language?: string }
  | { readonly link: readonly Part[]; readonly href: string }
  | { readonly blockquote: readonly Part[]; readonly expandable?: boolean };

/** Bold. */
export const b = (...children: Part[]): FormatNode => ({ b: children });
/** Italic. */
export const i = (...children: Part[]): FormatNode => ({ i: children });
/** Underline. */
export const u = (...children: Part[]): FormatNode => ({ u: children });
/** Strikethrough. */
export const s = (...children: Part[]): FormatNode => ({ s: children });
/** Hidden until tapped. */
export const spoiler = (...children: Part[]): FormatNode => ({ spoiler: children });
/** Inline monospace; its text is redacted and counted like any other. */
export const code = (text: string | number): FormatNode => ({ code: String(text) });
/** Monospace block, optionally with a language for highlighting. */
export const pre = (text: string, language?: string): FormatNode =>
  language === undefined ? { pre: text } : { pre: text, language };
/** A link; only http(s), tg: and mailto: targets become links, anything else renders as its text. */
export const link = (href: string, ...children: Part[]): FormatNode => ({
  link: children.length > 0 ? children : [href],
  href,
});
/** Quote block; `expandable` collapses a long one. */
export const blockquote = (...children: Part[]): FormatNode => ({ blockquote: children });
export const expandable = (...children: Part[]): FormatNode => ({ blockquote: children, expandable: true });

/** Items separated by `separator`; absent items (`null`, `undefined`, `false`) are skipped. */
export function join(separator: Part, items: readonly Part[]): Part[] {
  const out: Part[] = [];
  for (const item of items) {
    if (item === null || item === undefined || item === false) continue;
    if (out.length > 0) out.push(separator);
    out.push(item);
  }
  return out;
}

/** One line per item: absent items are skipped, `""` makes a blank line. */
export function lines(...items: Part[]): Part[] {
  return join("\n", items);
}
