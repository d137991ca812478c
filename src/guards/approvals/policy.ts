/**
 * The tool-call policy: given who calls which tool with which arguments, approve, deny or ask a
 * human — and name the rule that decided (DESIGN.md: "A policy answer names its rule"). Pure:
 * the mode and the always-allow lookup come in `ctx`; nothing here reads a clock or a database.
 *
 * Precedence, first match wins (each step is a test in test/guards/approvals/policy.test.ts):
 *
 *   1. maintenance       MAINTENANCE mode and the tool is outside read_only's tools  -> deny
 *   2. input_check       not a JSON object / too deep / over max_length tokens       -> deny
 *   3. permission_level  the tool is outside the agent's level                       -> deny
 *   4. argument_rule     an argument rule with action deny matches                   -> deny
 *   5. always_allow      a grant for this agent + tool + exact normalized arguments  -> approve
 *   6. argument_rule     an argument rule with action require_approval matches       -> ask
 *   7. argument_rule     an argument rule with action auto_approve matches           -> approve
 *                        (input_check -> ask when the arguments carry a risk flag)
 *   8. auto_approve      the tool is in tool_approval.auto_approve                   -> approve
 *                        (input_check -> ask when the arguments carry a risk flag)
 *   9. require_approval  the tool is in tool_approval.require_approval               -> ask
 *  10. permission_level  any other tool the level allows                             -> ask
 *
 * Denials of steps 1-4 are never overridden by a grant: a grant is a human's "yes" to these exact
 * arguments, not a key past the level, the mode or the operator's deny rules. A grant does beat
 * flags and require_approval rules (steps 6-9): the human saw the flags on the prompt they granted.
 *
 * Levels (security.permission_model; tools default to DEFAULT_LEVEL_TOOLS in the config):
 * - none: no tools. read_only: its tools (read_file, http_get).
 * - limited: may call only tools the config names. With tools "*" (the default) that means the
 *   tools in auto_approve or require_approval; with an explicit list, that list. Anything else is
 *   denied (permission_level) — limited fails closed; argument rules never widen a level.
 * - unrestricted: any tool; one no list names goes to a human (step 10).
 * An agent missing from `agents` gets approvals.default_level, and the answer says so.
 * Tool names are mapped through tool_aliases (one hop: Bash -> exec_command) before matching.
 * DEGRADED and MINIMAL modes do not change decisions: they are about pitwall's health, not risk.
 */
import type { Config, Mode, PermissionLevel } from "../../config/schema.ts";
import { type CompiledArgumentRule, compileArgumentRule, firstMatchingRule } from "./argument-rules.ts";
import { type InputChecks, type InputViolation, inputChecks } from "./input-checks.ts";
import { hashCanonical } from "./normalize.ts";
import type { RiskFlag } from "./risk-flags.ts";
import { aliasMap, type ToolMatcher, toolMatcher } from "./tool-match.ts";

export type PolicyOutcome = "approve" | "deny" | "ask";

export const POLICY_RULES = [
  "auto_approve",
  "require_approval",
  "permission_level",
  "argument_rule",
  "always_allow",
  "input_check",
  "maintenance",
] as const;
export type PolicyRule = (typeof POLICY_RULES)[number];

/** The parts of the config the policy reads. */
export type PolicyConfig = Pick<Config, "agents" | "approvals" | "security" | "safety" | "tool_aliases">;

export interface ToolCallInput {
  agent: string;
  /** The tool name as the agent sent it (Claude Code's `Bash`, or `exec_command`). */
  tool: string;
  args: unknown;
}

export interface PolicyContext {
  mode: Mode;
  /** Whether an unexpired "Always allow" grant exists for agent + tool (after aliases) + argsHash. */
  alwaysAllowed?: (agent: string, tool: string, argsHash: string) => boolean;
}

export interface ToolCallDecision {
  outcome: PolicyOutcome;
  rule: PolicyRule;
  /** For people: why, naming the config entry; an unknown agent's default level is stated here. */
  reason: string;
  level: PermissionLevel;
  /** `default`: the agent is not in `agents`, approvals.default_level applied. */
  levelSource: "agent" | "default";
  /** After tool_aliases. */
  tool: string;
  /** As the agent sent it. */
  originalTool: string;
  flags: RiskFlag[];
  /** sha256 of the canonical arguments; null when the call was refused before they were read. */
  argsHash: string | null;
  /** Tokens of the canonical arguments; null when not counted. */
  tokens: number | null;
  /** Set when rule is input_check and outcome deny: what was wrong (for 400/413 answers). */
  violation?: InputViolation;
}

interface LevelGate {
  allows(tool: string): boolean;
  /** Why `tool` is outside this level, for the denial's reason. */
  refusal(tool: string): string;
}

export interface ToolPolicy {
  readonly aliases: ReadonlyMap<string, string>;
  readonly agents: ReadonlyMap<string, PermissionLevel>;
  readonly defaultLevel: PermissionLevel;
  readonly levels: ReadonlyMap<PermissionLevel, LevelGate>;
  readonly maintenanceAllows: (tool: string) => boolean;
  readonly maintenanceTools: string;
  readonly autoApprove: ToolMatcher;
  readonly requireApproval: ToolMatcher;
  readonly argumentRules: readonly CompiledArgumentRule[];
  readonly input: InputChecks;
}

function listed(matcher: ToolMatcher): string {
  return matcher.patterns.length === 0 ? "no tools" : matcher.patterns.join(", ");
}

function levelGate(
  level: PermissionLevel,
  tools: readonly string[] | "*",
  named: ToolMatcher,
  aliases: ReadonlyMap<string, string>,
): LevelGate {
  if (tools !== "*") {
    const matcher = toolMatcher(tools, aliases);
    return {
      allows: matcher.matches,
      refusal: (tool) => `level ${level} may call ${listed(matcher)}; ${tool} is not among them`,
    };
  }
  if (level === "limited") {
    return {
      allows: named.matches,
      refusal: (tool) =>
        `level limited may call only the tools security.tool_approval names (auto_approve or ` +
        `require_approval); ${tool} is in neither — add it to one, or give the agent another level`,
    };
  }
  return { allows: () => true, refusal: () => "" };
}

/** Compiles the config's approval policy once (globs, regexes, alias and level tables). */
export function buildPolicy(config: PolicyConfig): ToolPolicy {
  const aliases = aliasMap(config.tool_aliases);
  const approval = config.security.tool_approval;
  const autoApprove = toolMatcher(approval.auto_approve, aliases);
  const requireApproval = toolMatcher(approval.require_approval, aliases);
  const named = toolMatcher([...autoApprove.patterns, ...requireApproval.patterns]);

  const levels = new Map<PermissionLevel, LevelGate>();
  for (const definition of config.security.permission_model.levels) {
    levels.set(definition.name, levelGate(definition.name, definition.tools, named, aliases));
  }
  const readOnly = config.security.permission_model.levels.find((l) => l.name === "read_only");
  // No read_only level configured: nothing is read-only, so maintenance admits nothing.
  const readOnlyTools = readOnly?.tools ?? [];
  const readOnlyMatcher = readOnlyTools === "*" ? null : toolMatcher(readOnlyTools, aliases);

  return {
    aliases,
    agents: new Map(Object.entries(config.agents)),
    defaultLevel: config.approvals.default_level,
    levels,
    maintenanceAllows: readOnlyMatcher === null ? () => true : readOnlyMatcher.matches,
    maintenanceTools: readOnlyMatcher === null ? "any tool" : listed(readOnlyMatcher),
    autoApprove,
    requireApproval,
    argumentRules: approval.argument_rules.map((rule, index) => compileArgumentRule(rule, index, aliases)),
    input: inputChecks(config.safety.input),
  };
}

/** The tool name after tool_aliases. */
export function mapToolName(policy: ToolPolicy, tool: string): string {
  return policy.aliases.get(tool) ?? tool;
}

/** The agent's permission level, and whether it came from `agents` or the default. */
export function resolveLevel(
  policy: ToolPolicy,
  agent: string,
): { level: PermissionLevel; source: "agent" | "default" } {
  const level = policy.agents.get(agent);
  return level === undefined ? { level: policy.defaultLevel, source: "default" } : { level, source: "agent" };
}

function describeFlags(flags: readonly RiskFlag[]): string {
  const shown = flags.slice(0, 3).map((f) => `${JSON.stringify(f.pattern)} in ${f.path}`);
  const more = flags.length > shown.length ? ` and ${flags.length - shown.length} more` : "";
  return `${shown.join(", ")}${more}`;
}

export function decideToolCall(
  input: ToolCallInput,
  policy: ToolPolicy,
  ctx: PolicyContext,
): ToolCallDecision {
  const tool = mapToolName(policy, input.tool);
  const { level, source } = resolveLevel(policy, input.agent);
  const unknownAgent =
    source === "default"
      ? ` (agent ${JSON.stringify(input.agent)} is not in agents: the default level ${level} applies)`
      : "";
  let flags: RiskFlag[] = [];
  let argsHash: string | null = null;
  let tokens: number | null = null;
  const answer = (
    outcome: PolicyOutcome,
    rule: PolicyRule,
    reason: string,
    violation?: InputViolation,
  ): ToolCallDecision => ({
    outcome,
    rule,
    reason: `${reason}${unknownAgent}`,
    level,
    levelSource: source,
    tool,
    originalTool: input.tool,
    flags,
    argsHash,
    tokens,
    ...(violation === undefined ? {} : { violation }),
  });

  // 1. An admin pinned MAINTENANCE: only reading goes on.
  if (ctx.mode === "MAINTENANCE" && !policy.maintenanceAllows(tool)) {
    return answer(
      "deny",
      "maintenance",
      `pitwall is in MAINTENANCE mode: only read_only tools (${policy.maintenanceTools}) may run, not ${tool}`,
    );
  }

  // 2. Input checks, before anything looks into the arguments.
  const checked = policy.input.check(input.args);
  if (!checked.ok) return answer("deny", "input_check", checked.reason, checked.violation);
  flags = checked.flags;
  tokens = checked.tokens;
  argsHash = hashCanonical(checked.canonical);

  // 3. The agent's level.
  const gate = policy.levels.get(level);
  if (gate === undefined || !gate.allows(tool)) {
    const why = gate?.refusal(tool) ?? `level ${level} is not defined in security.permission_model.levels`;
    return answer("deny", "permission_level", `${tool} is outside the agent's permission level: ${why}`);
  }

  // 4. The operator's deny rules on arguments.
  const denyRule = firstMatchingRule(policy.argumentRules, "deny", tool, input.args);
  if (denyRule) return answer("deny", "argument_rule", `denied by ${denyRule.describe}`);

  // 5. A human already said "always" to exactly these arguments.
  if (ctx.alwaysAllowed?.(input.agent, tool, argsHash)) {
    return answer(
      "approve",
      "always_allow",
      `an "Always allow" grant covers ${tool} with exactly these arguments for this agent`,
    );
  }

  // 6. Arguments an operator wants a human to see, even for an auto-approved tool.
  const askRule = firstMatchingRule(policy.argumentRules, "require_approval", tool, input.args);
  if (askRule) return answer("ask", "argument_rule", `a human decides: ${askRule.describe}`);

  const flagged = flags.length > 0;

  // 7. Arguments an operator allowlisted.
  const allowRule = firstMatchingRule(policy.argumentRules, "auto_approve", tool, input.args);
  if (allowRule) {
    return flagged
      ? answer(
          "ask",
          "input_check",
          `${allowRule.describe} would approve, but the arguments are flagged (${describeFlags(flags)}); a human decides`,
        )
      : answer("approve", "argument_rule", `approved by ${allowRule.describe}`);
  }

  // 8. Tools approved by policy.
  const autoPattern = policy.autoApprove.find(tool);
  if (autoPattern !== undefined) {
    const entry = `security.tool_approval.auto_approve (${autoPattern})`;
    return flagged
      ? answer(
          "ask",
          "input_check",
          `${tool} is in ${entry}, but the arguments are flagged (${describeFlags(flags)}); a human decides`,
        )
      : answer("approve", "auto_approve", `${tool} is in ${entry}`);
  }

  // 9. Tools that always need a human.
  const askPattern = policy.requireApproval.find(tool);
  if (askPattern !== undefined) {
    return answer(
      "ask",
      "require_approval",
      `${tool} is in security.tool_approval.require_approval (${askPattern}); a human decides`,
    );
  }

  // 10. Allowed by the level but named by no list: a human decides (unrestricted, or a level
  // with an explicit tool list).
  return answer(
    "ask",
    "permission_level",
    `${tool} is in neither auto_approve nor require_approval; level ${level} allows it, so a human decides`,
  );
}
