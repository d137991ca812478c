/** The pure approval policy: decide, check inputs, normalize, ids, prompt content, request schema. */
export type { ArgumentAction, CompiledArgumentRule } from "./argument-rules.ts";
export { compileArgumentRule, firstMatchingRule, valueAtPath } from "./argument-rules.ts";
export { ID_LENGTH, isId, newId } from "./ids.ts";
export type { InputCheckResult, InputChecks, InputSettings, InputViolation } from "./input-checks.ts";
export { describeJsonType, inputChecks } from "./input-checks.ts";
export { ArgsTooDeepError, argsHash, hashCanonical, MAX_ARGS_DEPTH, normalizeArgs } from "./normalize.ts";
export type {
  PolicyConfig,
  PolicyContext,
  PolicyOutcome,
  PolicyRule,
  ToolCallDecision,
  ToolCallInput,
  ToolPolicy,
} from "./policy.ts";
export { buildPolicy, decideToolCall, mapToolName, POLICY_RULES, resolveLevel } from "./policy.ts";
export type { ApprovalPromptInput, ApprovalPromptModel, PromptApproval } from "./prompt-model.ts";
export { approvalPromptModel, argsFileName, cutOnLines, promptRedactor, redactArgs } from "./prompt-model.ts";
export type { ApprovalRequest, ApprovalRequestBody, ApprovalRequestSchema } from "./request.ts";
export { approvalRequestSchema, TIMEOUT_MAX_S, TIMEOUT_MIN_S } from "./request.ts";
export type { FlagScanner, RiskFlag } from "./risk-flags.ts";
export { flagScanner, MAX_FLAGS, MAX_JSON_IN_STRING } from "./risk-flags.ts";
export type { TokenCount } from "./tokens.ts";
export { countTokens, countTokensUpTo, LONG_RUN } from "./tokens.ts";
export type { ToolMatcher } from "./tool-match.ts";
export { aliasMap, isGlob, toolMatcher } from "./tool-match.ts";
