import type { PermissionLevel } from "../../config/index.ts";
import type { PolicyRule, RiskFlag } from "../../guards/approvals/index.ts";

export type ApprovalStatus = "pending" | "approved" | "denied" | "expired";
export type DecidedBy = "human" | "policy" | "expiry";

/** One row of `approvals` (arguments, reason and run id stored redacted). */
export interface ApprovalRow {
  seq: number;
  id: string;
  agent: string;
  tool: string;
  original_tool: string;
  args: unknown;
  args_hash: string | null;
  flags: RiskFlag[];
  request_reason: string | null;
  run_id: string | null;
  batch_id: string | null;
  level: PermissionLevel;
  level_source: "agent" | "default";
  rule: PolicyRule;
  policy_reason: string;
  status: ApprovalStatus;
  decided_by_kind: DecidedBy | null;
  decided_by_id: string | null;
  decided_by_name: string | null;
  decision_reason: string | null;
  grant_id: string | null;
  api_key: string;
  idempotency_key: string | null;
  trace_id: string | null;
  card_ref: string | null;
  args_document_sent: boolean;
  created_at: Date;
  expires_at: Date;
  decided_at: Date | null;
}

export interface GrantRow {
  id: string;
  agent: string;
  tool: string;
  args_hash: string;
  args: unknown;
  approval_id: string;
  created_by_id: string;
  created_by_name: string;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
  revoked_by_id: string | null;
  revoked_by_name: string | null;
}

export interface BatchRow {
  id: string;
  agent: string;
  run_id: string;
  status: "open" | "split";
  created_at: Date;
  card_ref: string;
}

/** Who decided, as the approval shows it. */
export interface Decider {
  /** Telegram user id (as text) of an operator. */
  id: string;
  name: string;
}

/** The Approval answer shape (DESIGN.md, HTTP API v1). */
export interface ApprovalView {
  id: string;
  agent: string;
  tool: string;
  /** The name the agent used, when tool_aliases mapped it. */
  original_tool?: string;
  status: ApprovalStatus;
  by?: DecidedBy;
  /** The policy rule that decided, or (for a human decision) that sent it to a human. */
  rule: PolicyRule;
  decided_by?: Decider;
  /** Why: the policy's reason, the approver's reason for a denial, or that nobody decided in time. */
  reason?: string;
  /** The agent's own reason for the call (redacted). */
  request_reason?: string;
  run_id?: string;
  batch_id?: string;
  level: PermissionLevel;
  level_source: "agent" | "default";
  flags: RiskFlag[];
  /** Redacted arguments. */
  args: unknown;
  /** Set when the approver chose "Always allow". */
  grant?: { id: string; expires_at: string };
  created_at: string;
  expires_at: string;
  decided_at?: string;
}
