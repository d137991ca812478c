import { type Config, formatIssues, parseConfig } from "../../../src/config/index.ts";
import { buildPolicy, type ToolPolicy } from "../../../src/guards/approvals/policy.ts";

/** A config parsed from YAML exactly as pitwall would read pitwall.yaml. */
export function configFrom(yaml: string): Config {
  const result = parseConfig(yaml, {});
  if (!result.ok) throw new Error(`test config rejected:\n${formatIssues(result.errors)}`);
  return result.config;
}

export function policyFrom(yaml: string): ToolPolicy {
  return buildPolicy(configFrom(yaml));
}
