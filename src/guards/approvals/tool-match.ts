/**
 * Tool names in the config: exact names or globs (`mcp__github__*`, `read_?ile`, `*`). A glob is
 * anchored and case-sensitive: `*` stands for any run of characters (also none, also `_`), `?`
 * for exactly one; every other character is itself. Compiled once when the policy is built.
 */

export interface ToolMatcher {
  /** The names and globs as written (after alias mapping), for reasons shown to people. */
  readonly patterns: readonly string[];
  matches(tool: string): boolean;
  /** The first pattern that matches `tool`, to name it in a reason. */
  find(tool: string): string | undefined;
}

function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const ch of glob) {
    if (ch === "*") source += "[\\s\\S]*";
    else if (ch === "?") source += "[\\s\\S]";
    else source += ch.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
  }
  // `u`: `?` is one code point, so an emoji in a tool name counts as one character.
  return new RegExp(`^${source}$`, "u");
}

export function isGlob(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

/**
 * A matcher for `patterns`. `aliases` maps an exact name written in the config the same way a
 * call's tool name is mapped, so `require_approval: [Bash]` means exec_command when Bash is an alias.
 */
export function toolMatcher(
  patterns: readonly string[],
  aliases: ReadonlyMap<string, string> = new Map(),
): ToolMatcher {
  const written = patterns.map((p) => (isGlob(p) ? p : (aliases.get(p) ?? p)));
  const exact = new Set(written.filter((p) => !isGlob(p)));
  const globs = written.filter(isGlob).map((p) => ({ pattern: p, re: globToRegExp(p) }));
  return {
    patterns: written,
    matches: (tool) => exact.has(tool) || globs.some((g) => g.re.test(tool)),
    find: (tool) => (exact.has(tool) ? tool : globs.find((g) => g.re.test(tool))?.pattern),
  };
}

/** `tool_aliases` as a Map: a plain object lookup would answer `constructor` or `__proto__`. */
export function aliasMap(aliases: Readonly<Record<string, string>>): ReadonlyMap<string, string> {
  return new Map(Object.entries(aliases));
}
