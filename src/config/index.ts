export type { ConfigIssue } from "./issues.ts";
export { formatIssues, formatPath } from "./issues.ts";
export type { LoadResult } from "./load.ts";
export { collectNotes, DEFAULTS_SOURCE, loadConfig, parseConfig, runCheckConfig } from "./load.ts";
export type {
  ApiKeyConfig,
  ApiScope,
  ArgumentRule,
  Breaker,
  Budget,
  BudgetAction,
  ChatRef,
  Check,
  CheckType,
  ComplexityTier,
  Config,
  EscalationStep,
  FailoverAction,
  Mode,
  OperatorRole,
  PermissionLevel,
  PermissionLevelDefinition,
  Provider,
  Severity,
  TelegramConfig,
} from "./schema.ts";
export {
  API_SCOPES,
  BUDGET_ACTIONS,
  BUDGET_SCOPES,
  CHECK_TYPES,
  configSchema,
  DEFAULT_ALERT_THRESHOLDS,
  DEFAULT_KEY_SCOPES,
  DEFAULT_LEVEL_TOOLS,
  DEFAULT_TOOL_ALIASES,
  ESCALATION_STEPS,
  FAILOVER_ACTIONS,
  INFORMATIONAL_SECTIONS,
  MODES,
  OPERATOR_ROLES,
  PERMISSION_LEVELS,
  SEVERITIES,
} from "./schema.ts";
export * from "./units.ts";
