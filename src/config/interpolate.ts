/**
 * `${VAR}` and `${VAR:-default}` in the values of a parsed YAML tree (never in keys or comments).
 * Substitution happens after YAML parsing, so a secret holding `: ` or `#` cannot change the
 * document's structure; the result is always text, which the field schemas read as numbers or
 * booleans where those are expected. `$${` writes a literal `${`.
 *
 * Error messages name the path and the variable, never any variable's value.
 */
import { isPlainObject } from "./fields.ts";

export type TreePath = Array<string | number>;

export interface InterpolationIssue {
  path: TreePath;
  message: string;
}

export interface InterpolationResult {
  value: unknown;
  issues: InterpolationIssue[];
  /** Names of the variables that were read (for redaction by callers that print values). */
  used: Set<string>;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function substitute(
  text: string,
  env: NodeJS.ProcessEnv,
  used: Set<string>,
): { text: string; error?: string; missing?: string } {
  let error: string | undefined;
  let missing: string | undefined;
  const result = text.replace(REFERENCE, (match, body: string | undefined) => {
    if (match === `$\${`) return `\${`;
    if (body === undefined) {
      error ??= `has a \${ without its closing }; write \${NAME} or \${NAME:-default}`;
      return match;
    }
    const separator = body.indexOf(":-");
    const name = (separator >= 0 ? body.slice(0, separator) : body).trim();
    if (!NAME.test(name)) {
      error ??= `has a malformed \${...}; write \${NAME} or \${NAME:-default} (letters, digits and _)`;
      return match;
    }
    used.add(name);
    const value = env[name];
    if (separator >= 0) return value === undefined || value === "" ? body.slice(separator + 2) : value;
    if (value === undefined) {
      missing ??= name;
      return match;
    }
    return value;
  });
  return { text: result, error, missing };
}

export function interpolateEnv(tree: unknown, env: NodeJS.ProcessEnv): InterpolationResult {
  const issues: InterpolationIssue[] = [];
  const used = new Set<string>();
  const walk = (node: unknown, path: TreePath): unknown => {
    if (typeof node === "string") {
      if (!node.includes(`\${`)) return node;
      const { text, error, missing } = substitute(node, env, used);
      if (error) issues.push({ path, message: error });
      else if (missing) {
        issues.push({
          path,
          message: `environment variable ${missing} is not set (set it, or write \${${missing}:-default} to give a default)`,
        });
      }
      return text;
    }
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (isPlainObject(node)) {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) out[key] = walk(value, [...path, key]);
      return out;
    }
    return node;
  };
  return { value: walk(tree, []), issues, used };
}
