/**
 * Approvals: the policy decides (src/guards/approvals), the store records, the outbox delivers.
 *
 * - A request is checked by policy; approve/deny is answered at once (200) and recorded; "ask"
 *   stores a pending approval and, in the same transaction, queues its Telegram card (202).
 * - A decision is one conditional UPDATE (store.ts): exactly one of any number of racing deciders
 *   wins; the card edit, the audit rows and any grant commit with it.
 * - Waiters (long polls) are woken through the coordinator, on every instance.
 * Fails closed: nothing is approved that is not committed; an expired approval can no longer be
 * decided; a missing decision is a denial for the agent.
 */

import type { InlineKeyboardMarkup } from "grammy/types";
import { Counter, Histogram, type Registry } from "prom-client";
import type { Config } from "../../config/index.ts";
import type { Coordinator } from "../../coord/types.ts";
import { enqueue, PRIORITY } from "../../delivery/index.ts";
import type { ChatTarget } from "../../delivery/types.ts";
import {
  type ApprovalRequest,
  argsHash,
  buildPolicy,
  decideToolCall,
  type InputViolation,
  mapToolName,
  newId,
  promptRedactor,
  redactArgs,
  type ToolCallDecision,
  type ToolPolicy,
} from "../../guards/approvals/index.ts";
import { isSilent } from "../../guards/loudness.ts";
import type { Redactor } from "../../guards/redact.ts";
import type { Logger } from "../../observability/logger.ts";
import { currentTrace } from "../../observability/trace.ts";
import { type Actor, writeAudit } from "../../store/audit.ts";
import { type Db, type DbClient, inTransaction } from "../../store/pool.ts";
import type { ModeReader } from "../contracts.ts";
import {
  attachmentCaption,
  batchCard,
  type Card,
  type CardContext,
  effectiveStatus,
  singleCard,
  splitCard,
} from "./cards.ts";
import * as store from "./store.ts";
import { type CardTexts, createCardTexts, teamLanguage } from "./texts.ts";
import type { ApprovalRow, ApprovalView, BatchRow, GrantRow } from "./types.ts";
import { createWaiters, type Waiters } from "./waiters.ts";

/** Long polls wait at most this long (DESIGN.md: `wait` ≤ 60 s). */
export const MAX_WAIT_S = 60;
/** A waiter re-reads its row this often even without a wake (pub/sub messages can be lost). */
const DEFAULT_RECHECK_MS = 5_000;
/** Rows the expiry job handles per pass. */
const EXPIRY_BATCH = 200;
/** The largest stored copy of arguments refused before they were checked (maintenance). */
const MAX_UNCHECKED_ARGS_CHARS = 16_384;

export interface ApprovalsDeps {
  config: Config;
  db: Db;
  coord: Coordinator;
  log: Logger;
  now: () => Date;
  telegramEnabled: boolean;
  mode?: ModeReader;
  /** prom-client registry for the approval metrics (shared registries are reused). */
  registry?: Registry;
  /** Waiters re-read their approval this often without a wake (default 5 s). */
  recheckMs?: number;
  localesDir?: string;
}

/** A slice of a list by position (the bot's numbered pages). */
export interface PageRequest {
  limit: number;
  offset?: number;
}

/** One slice of a list and the size of the whole list, read on one clock reading. */
export interface ListPage<T> {
  rows: T[];
  total: number;
}

/** Whoever acts in Telegram. */
export interface OperatorActor {
  id: number;
  name: string;
}

export type RequestAnswer =
  /** 200: decided by policy (or the replay of one). */
  | { kind: "policy"; row: ApprovalRow; replayed: boolean }
  /** 202: a human decides. */
  | { kind: "pending"; row: ApprovalRow; replayed: boolean }
  /** 400 (not an object, too deep) or 413 (too long): denied by the input checks, nothing stored. */
  | { kind: "refused"; violation: InputViolation; reason: string; decision: ToolCallDecision }
  /** 409: the idempotency key was used for another request. */
  | { kind: "conflict"; row: ApprovalRow }
  /** 429: the key sent more approval requests than safety.output.rate_limit_per_user. */
  | { kind: "rate_limited"; limit: number; perMs: number; retryAfterMs: number };

export type DecideOutcome = "approve" | "deny" | "always";

export type DecideResult =
  | { kind: "decided"; row: ApprovalRow; grant?: GrantRow }
  /** Decided before (by anyone), or expired: nothing changed. */
  | { kind: "too_late"; row: ApprovalRow }
  | { kind: "unknown" };

export interface ApproveShownResult {
  kind: "done" | "unknown";
  approved: ApprovalRow[];
  /** Pending requests of the run the pressed card did not show (left pending). */
  notShown: number;
  /** Shown requests that were no longer pending. */
  tooLate: number;
}

export interface ApprovalsService {
  readonly policy: ToolPolicy;
  readonly texts: CardTexts;
  readonly redactor: Redactor;
  readonly waiters: Waiters;
  /** Where prompts go; undefined without Telegram. */
  readonly chat: ChatTarget | undefined;
  request(body: ApprovalRequest, key: { name: string }): Promise<RequestAnswer>;
  get(id: string): Promise<ApprovalRow | undefined>;
  view(row: ApprovalRow): ApprovalView;
  list(filter: Omit<store.ListFilter, "now">): Promise<ApprovalRow[]>;
  /** The row once it is no longer pending, or as it stands after `waitMs` (or at shutdown). */
  waitForDecision(id: string, waitMs: number, signal?: AbortSignal): Promise<ApprovalRow | undefined>;
  /** `known`: the row as the caller just read it (saves a read); the UPDATE decides regardless. */
  decide(
    id: string,
    outcome: DecideOutcome,
    actor: OperatorActor,
    reason?: string,
    known?: ApprovalRow,
  ): Promise<DecideResult>;
  approveShown(
    batchId: string,
    shownIds: ReadonlySet<string>,
    actor: OperatorActor,
  ): Promise<ApproveShownResult>;
  /** "Review one by one": every pending request of the run on a card of its own. */
  review(
    batchId: string,
    actor: OperatorActor,
  ): Promise<{ kind: "done" | "unknown" | "nothing"; cards: number }>;
  revokeGrant(grantId: string, actor: OperatorActor): Promise<{ kind: "revoked" | "gone"; grant?: GrantRow }>;
  getGrant(id: string): Promise<GrantRow | undefined>;
  /** Pending requests, newest first: `limit` of them from `offset`, and how many there are. */
  pending(page: PageRequest): Promise<ListPage<ApprovalRow>>;
  /** Active "Always allow" grants, newest first, paged like `pending`. */
  grants(page: PageRequest): Promise<ListPage<GrantRow>>;
  /** "Deny with reason": opens the question for one approver; false when one is already open. */
  openReasonPrompt(approvalId: string, userId: number, chatId: string): Promise<boolean>;
  /** Names the question's messages (sent directly) so they can be tidied up from any instance. */
  recordReasonPrompt(
    approvalId: string,
    userId: number,
    chat: { id: string; thread: number | null },
    messages: { prompt: number | null; picker: number | null },
  ): Promise<void>;
  /** Closes one approver's question (cancelled or answered) and deletes its messages. */
  closeReasonPrompt(approvalId: string, userId: number): Promise<void>;
  /** Audits a refused press (a viewer pressed a decision button). */
  auditRefusal(actor: OperatorActor, approvalId: string, details: Record<string, unknown>): Promise<void>;
  /** The leader's job: marks due approvals expired, edits their cards, notes ended grants. */
  expireDue(): Promise<number>;
  cardContext(): CardContext;
  close(): Promise<void>;
}

function operatorActor(actor: OperatorActor): Actor {
  return { type: "operator", id: String(actor.id), name: actor.name };
}

/**
 * Postgres text and jsonb cannot hold U+0000; an agent may still send it (JSON allows "\u0000").
 * Stored and shown copies get U+FFFD instead; the grant hash is computed from what was sent.
 */
function storable<T>(value: T): T {
  if (typeof value === "string") return value.replaceAll("\u0000", "\uFFFD") as T;
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map(storable) as T;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(copy, storable(key), {
      value: storable(item),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy as T;
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function metricsOf(registry: Registry | undefined) {
  const existing = (name: string) => registry?.getSingleMetric(name);
  const registers = registry ? [registry] : [];
  const decisions =
    (existing("pitwall_approval_decisions_total") as Counter<"by" | "status"> | undefined) ??
    new Counter({
      name: "pitwall_approval_decisions_total",
      help: "Approval decisions by who decided (policy, human, expiry) and outcome",
      labelNames: ["by", "status"] as const,
      registers,
    });
  const decisionTime =
    (existing("pitwall_approval_decision_seconds") as Histogram<"by"> | undefined) ??
    new Histogram({
      name: "pitwall_approval_decision_seconds",
      help: "Time from an approval request to its human decision or expiry",
      labelNames: ["by"] as const,
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    });
  return { decisions, decisionTime };
}

export function createApprovalsService(deps: ApprovalsDeps): ApprovalsService {
  const { config, db, log } = deps;
  const policy = buildPolicy(config);
  const redactor = promptRedactor(config.safety.output.filter_sensitive);
  const texts = createCardTexts({
    language: teamLanguage(config),
    timeZone: config.digest.timezone,
    ...(deps.localesDir === undefined ? {} : { localesDir: deps.localesDir }),
  });
  const waiters = createWaiters({ coord: deps.coord, log });
  const recheckMs = deps.recheckMs ?? DEFAULT_RECHECK_MS;
  const metrics = metricsOf(deps.registry);
  const approvalsChat = config.telegram?.chats.approvals;
  const chat: ChatTarget | undefined =
    deps.telegramEnabled && approvalsChat
      ? { id: approvalsChat.id, ...(approvalsChat.thread === null ? {} : { thread: approvalsChat.thread }) }
      : undefined;
  const ttlMs = config.approvals.always_allow_ttl;
  const groupWaitMs = config.approvals.group_wait;
  const rate = config.safety.output.rate_limit_per_user;

  const cardContext = (): CardContext => ({ texts, redactor, now: deps.now(), alwaysAllowTtlMs: ttlMs });
  const renderOpts = { redact: redactor.redactText };

  // ---- cards ------------------------------------------------------------------------------------

  async function queueAttachments(client: DbClient, card: Card, rows: readonly ApprovalRow[]): Promise<void> {
    if (!chat) return;
    const byId = new Map(rows.map((row) => [row.id, row]));
    const sent: string[] = [];
    for (const attachment of card.attachments) {
      const row = byId.get(attachment.approvalId);
      if (!row || row.args_document_sent) continue;
      await enqueue(
        client,
        {
          method: "sendDocument",
          kind: "approval_args",
          priority: PRIORITY.APPROVAL,
          chat,
          silent: true,
          messageRef: `approval-args:${row.id}`,
          file: { data: Buffer.from(attachment.content, "utf8"), filename: attachment.filename },
          caption: attachmentCaption(row, texts),
        },
        renderOpts,
      );
      sent.push(row.id);
    }
    await store.markDocumentsSent(client, sent);
  }

  /** Sends a new card (a prompt, or a run's first card). */
  async function sendCard(
    client: DbClient,
    ref: string,
    card: Card,
    rows: readonly ApprovalRow[],
  ): Promise<void> {
    if (!chat) return;
    await enqueue(
      client,
      {
        method: "sendMessage",
        kind: "approval_prompt",
        priority: PRIORITY.APPROVAL,
        chat,
        parts: card.parts,
        // A new request is a call to act: it rings like a warning, so quiet hours hold (only
        // critical is loud then; the agent's request expires to a deny if nobody answers).
        // Outcomes are edits (silent by nature).
        silent: isSilent({
          severity: "warning",
          kind: "approval_prompt",
          now: deps.now(),
          quietHours: config.telegram?.quiet_hours ?? null,
        }),
        messageRef: ref,
        ...(card.keyboard ? { replyMarkup: card.keyboard } : {}),
      },
      renderOpts,
    );
    await queueAttachments(client, card, rows);
  }

  async function editCard(
    client: DbClient,
    ref: string,
    card: Card,
    rows: readonly ApprovalRow[],
  ): Promise<void> {
    if (!chat) return;
    await enqueue(
      client,
      {
        method: "editMessageText",
        kind: "approval_edit",
        priority: PRIORITY.APPROVAL,
        chat,
        targetRef: ref,
        parts: card.parts,
        ...(card.keyboard ? { replyMarkup: card.keyboard as InlineKeyboardMarkup } : {}),
      },
      renderOpts,
    );
    await queueAttachments(client, card, rows);
  }

  /** Re-renders the card that shows `row` (its own, or its run's). */
  async function refreshCard(client: DbClient, row: ApprovalRow): Promise<void> {
    if (!chat || row.card_ref === null) return;
    if (row.batch_id !== null && row.card_ref.startsWith("approval-batch:")) {
      const members = await store.batchMembers(client, row.batch_id);
      await editCard(client, row.card_ref, batchCard(members, cardContext()), members);
      return;
    }
    await editCard(client, row.card_ref, singleCard(row, cardContext()), [row]);
  }

  /** Closes the "Deny with reason" questions still open for an approval and tidies their messages. */
  async function closeReasonPrompts(client: DbClient, approvalId: string, userId?: number): Promise<void> {
    const closed = await store.closeReasonPrompts(client, approvalId, deps.now(), userId);
    if (!deps.telegramEnabled) return;
    for (const prompt of closed) {
      for (const ref of [prompt.prompt_ref, prompt.picker_ref]) {
        if (ref === null) continue;
        await enqueue(client, {
          method: "deleteMessage",
          kind: "approval_reason_cleanup",
          priority: PRIORITY.APPROVAL,
          chat: { id: prompt.chat_id },
          targetRef: ref,
        });
      }
    }
  }

  // ---- audit ------------------------------------------------------------------------------------

  function requestDetails(row: ApprovalRow): Record<string, unknown> {
    return {
      agent: row.agent,
      tool: row.tool,
      original_tool: row.original_tool,
      args: row.args,
      args_hash: row.args_hash,
      reason: row.request_reason,
      run_id: row.run_id,
      level: row.level,
      level_source: row.level_source,
      flags: row.flags,
      idempotency_key: row.idempotency_key,
    };
  }

  // ---- request ----------------------------------------------------------------------------------

  async function replay(existing: ApprovalRow, body: ApprovalRequest): Promise<RequestAnswer> {
    let sameArgs = true;
    try {
      sameArgs = existing.args_hash === null || existing.args_hash === argsHash(body.args);
    } catch {
      sameArgs = false;
    }
    if (existing.agent !== body.agent || existing.original_tool !== body.tool || !sameArgs) {
      return { kind: "conflict", row: existing };
    }
    return existing.decided_by_kind === "policy"
      ? { kind: "policy", row: existing, replayed: true }
      : { kind: "pending", row: existing, replayed: true };
  }

  async function overRateLimit(key: { name: string }): Promise<RequestAnswer | undefined> {
    const used = await deps.coord.increment(`approvals:key:${key.name}`, rate.per_ms);
    if (used <= rate.count) return undefined;
    const nowMs = Date.now();
    const retryAfterMs = Math.max(1000, Math.floor(nowMs / rate.per_ms + 1) * rate.per_ms - nowMs);
    if (used === rate.count + 1) {
      // Once per window: a runaway agent must not flood the audit log either.
      await writeAudit(db, {
        actor: { type: "api_key", id: key.name },
        action: "approval.rate_limited",
        details: { limit: rate.count, per_ms: rate.per_ms },
      });
      log.warn({ key_name: key.name, limit: rate.count }, "approval requests over the per-key rate limit");
    }
    return { kind: "rate_limited", limit: rate.count, perMs: rate.per_ms, retryAfterMs };
  }

  async function request(sent: ApprovalRequest, key: { name: string }): Promise<RequestAnswer> {
    const body =
      sent.idempotency_key === undefined
        ? sent
        : { ...sent, idempotency_key: storable(sent.idempotency_key) };
    if (body.idempotency_key !== undefined) {
      const existing = await store.findByIdempotencyKey(db, key.name, body.idempotency_key);
      if (existing) return replay(existing, body);
    }
    const now = deps.now();
    const tool = mapToolName(policy, body.tool);
    let hash: string | undefined;
    if (isJsonObject(body.args)) {
      try {
        hash = argsHash(body.args);
      } catch {
        hash = undefined; // too deep: the input checks refuse it below
      }
    }
    // Independent reads, in parallel: an agent is waiting on this answer.
    const [limited, mode, grantId] = await Promise.all([
      overRateLimit(key),
      deps.mode ? deps.mode.current().then((current) => current.mode) : Promise.resolve("FULL" as const),
      hash === undefined ? Promise.resolve(undefined) : store.hasActiveGrant(db, body.agent, tool, hash, now),
    ]);
    if (limited) return limited;
    const decision = decideToolCall({ agent: body.agent, tool: body.tool, args: body.args }, policy, {
      mode,
      alwaysAllowed: () => grantId !== undefined,
    });
    const actor: Actor = { type: "api_key", id: key.name };

    if (decision.outcome === "deny" && decision.rule === "input_check" && decision.violation) {
      await writeAudit(db, {
        actor,
        action: "approval.refused",
        target: `agent:${body.agent}`,
        details: {
          agent: body.agent,
          tool: decision.tool,
          original_tool: body.tool,
          rule: decision.rule,
          reason: decision.reason,
          violation: decision.violation,
          run_id: body.run_id === undefined ? null : storable(redactor.redactText(body.run_id)),
        },
      });
      return { kind: "refused", violation: decision.violation, reason: decision.reason, decision };
    }

    const id = newId();
    let storedArgs = storable(redactArgs(body.args, redactor));
    if (decision.argsHash === null && (JSON.stringify(storedArgs)?.length ?? 0) > MAX_UNCHECKED_ARGS_CHARS) {
      storedArgs = { _omitted: "arguments not stored: refused before they were checked" };
    }
    const base: store.NewApproval = {
      id,
      agent: body.agent,
      tool: decision.tool,
      original_tool: body.tool,
      args: storedArgs,
      args_hash: decision.argsHash,
      flags: storable(decision.flags),
      request_reason: body.reason === undefined ? null : storable(redactor.redactText(body.reason)),
      run_id: body.run_id === undefined ? null : storable(redactor.redactText(body.run_id)),
      batch_id: null,
      level: decision.level,
      level_source: decision.levelSource,
      rule: decision.rule,
      policy_reason: decision.reason,
      status: "pending",
      decided_by_kind: null,
      decided_by_id: null,
      decided_by_name: null,
      decision_reason: null,
      grant_id: decision.rule === "always_allow" ? (grantId ?? null) : null,
      api_key: key.name,
      idempotency_key: body.idempotency_key ?? null,
      trace_id: currentTrace()?.traceId ?? null,
      card_ref: null,
      created_at: now,
      expires_at: new Date(now.getTime() + body.timeout_s * 1000),
      decided_at: null,
    };

    if (decision.outcome !== "ask") {
      const status = decision.outcome === "approve" ? "approved" : "denied";
      const row = await inTransaction(db, async (client) => {
        const inserted = await store.insertApproval(client, {
          ...base,
          status,
          decided_by_kind: "policy",
          decided_at: now,
          expires_at: now,
        });
        if (!inserted) return undefined;
        await store.writeAudits(client, [
          {
            actor,
            action: "approval.requested",
            target: `approval:${id}`,
            details: requestDetails(inserted),
          },
          {
            actor: { type: "system", id: "policy" },
            action: "approval.policy_decided",
            target: `approval:${id}`,
            details: { status, rule: decision.rule, reason: decision.reason, grant_id: inserted.grant_id },
          },
        ]);
        return inserted;
      });
      if (!row) return raced(body, key);
      metrics.decisions.inc({ by: "policy", status });
      return { kind: "policy", row, replayed: false };
    }

    // A card of its own is rendered before the transaction (pure work, kept out of the locks).
    const ownRef = `approval:${id}`;
    const ownCard =
      chat && base.run_id === null
        ? singleCard({ ...base, seq: 0, card_ref: ownRef, args_document_sent: false }, cardContext())
        : undefined;
    const row = await inTransaction(db, async (client) => {
      let batch: BatchRow | undefined;
      let joined = false;
      if (chat && base.run_id !== null) {
        await store.lockRun(client, base.agent, base.run_id);
        batch = await store.findJoinableBatch(client, base.agent, base.run_id, now, groupWaitMs);
        if (batch) {
          await store.lockBatch(client, batch.id);
          joined = true;
        } else {
          const batchId = newId();
          batch = {
            id: batchId,
            agent: base.agent,
            run_id: base.run_id,
            status: "open",
            created_at: now,
            card_ref: `approval-batch:${batchId}`,
          };
          await store.insertBatch(client, batch);
        }
      }
      const inserted = await store.insertApproval(client, {
        ...base,
        batch_id: batch?.id ?? null,
        card_ref: chat ? (batch?.card_ref ?? ownRef) : null,
      });
      if (!inserted) return undefined;
      await store.writeAudits(client, [
        { actor, action: "approval.requested", target: `approval:${id}`, details: requestDetails(inserted) },
        {
          actor: { type: "system", id: "policy" },
          action: "approval.asked",
          target: `approval:${id}`,
          details: {
            rule: decision.rule,
            reason: decision.reason,
            expires_at: inserted.expires_at.toISOString(),
            batch_id: inserted.batch_id,
            telegram: chat !== undefined,
          },
        },
      ]);
      if (chat && inserted.card_ref !== null) {
        if (batch) {
          const members = await store.batchMembers(client, batch.id);
          const card = batchCard(members, cardContext());
          if (joined) await editCard(client, batch.card_ref, card, members);
          else await sendCard(client, batch.card_ref, card, members);
        } else {
          await sendCard(client, inserted.card_ref, ownCard ?? singleCard(inserted, cardContext()), [
            inserted,
          ]);
        }
      }
      return inserted;
    });
    if (!row) return raced(body, key);
    return { kind: "pending", row, replayed: false };
  }

  /** Another request with the same idempotency key committed first: answer what it got. */
  async function raced(body: ApprovalRequest, key: { name: string }): Promise<RequestAnswer> {
    const existing = await store.findByIdempotencyKey(db, key.name, body.idempotency_key ?? "");
    if (!existing) throw new Error("idempotency conflict without a stored approval");
    return replay(existing, body);
  }

  // ---- reading ----------------------------------------------------------------------------------

  function view(row: ApprovalRow): ApprovalView {
    const now = deps.now();
    const status = effectiveStatus(row, now);
    const out: ApprovalView = {
      id: row.id,
      agent: row.agent,
      tool: row.tool,
      status,
      rule: row.rule,
      level: row.level,
      level_source: row.level_source,
      flags: row.flags,
      args: row.args,
      created_at: row.created_at.toISOString(),
      expires_at: row.expires_at.toISOString(),
    };
    if (row.original_tool !== row.tool) out.original_tool = row.original_tool;
    if (row.request_reason !== null) out.request_reason = row.request_reason;
    if (row.run_id !== null) out.run_id = row.run_id;
    if (row.batch_id !== null) out.batch_id = row.batch_id;
    if (status === "pending") {
      out.reason = row.policy_reason;
      return out;
    }
    if (status === "expired") {
      out.by = "expiry";
      out.decided_at = row.expires_at.toISOString();
      out.reason = `nobody decided before ${row.expires_at.toISOString()}; the call must not run`;
      return out;
    }
    out.by = row.decided_by_kind ?? "human";
    if (row.decided_at !== null) out.decided_at = row.decided_at.toISOString();
    if (row.decided_by_kind === "policy") {
      out.reason = row.policy_reason;
    } else {
      if (row.decided_by_id !== null)
        out.decided_by = { id: row.decided_by_id, name: row.decided_by_name ?? "" };
      if (row.decision_reason !== null) out.reason = row.decision_reason;
    }
    if (row.grant_id !== null && row.decided_by_kind === "human" && row.decided_at !== null) {
      out.grant = { id: row.grant_id, expires_at: new Date(row.decided_at.getTime() + ttlMs).toISOString() };
    }
    return out;
  }

  async function waitForDecision(
    id: string,
    waitMs: number,
    signal?: AbortSignal,
  ): Promise<ApprovalRow | undefined> {
    let row = await store.getApproval(db, id);
    const deadline = Date.now() + Math.max(0, waitMs);
    while (row && effectiveStatus(row, deps.now()) === "pending" && !waiters.closing && !signal?.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      // Wake at expiry too, so an expired approval is answered as such at once.
      const untilExpiry = Math.max(0, row.expires_at.getTime() - deps.now().getTime()) + 5;
      const wait = waiters.wait(id, Math.min(left, recheckMs, untilExpiry), signal);
      // Registered first, then read: a decision committed in between is not missed.
      row = await store.getApproval(db, id);
      if (!row || effectiveStatus(row, deps.now()) !== "pending") {
        wait.cancel();
        break;
      }
      await wait.promise;
      row = await store.getApproval(db, id);
    }
    return row;
  }

  // ---- deciding ---------------------------------------------------------------------------------

  function observeDecision(row: ApprovalRow): void {
    metrics.decisions.inc({ by: row.decided_by_kind ?? "human", status: row.status });
    const decidedAt = row.decided_at ?? row.expires_at;
    metrics.decisionTime.observe(
      { by: row.decided_by_kind ?? "human" },
      Math.max(0, decidedAt.getTime() - row.created_at.getTime()) / 1000,
    );
  }

  async function decide(
    id: string,
    outcome: DecideOutcome,
    actor: OperatorActor,
    reason?: string,
    known?: ApprovalRow,
  ): Promise<DecideResult> {
    const current = known?.id === id ? known : await store.getApproval(db, id);
    if (!current) return { kind: "unknown" };
    const now = deps.now();
    if (effectiveStatus(current, now) !== "pending") return { kind: "too_late", row: current };
    const cleanReason =
      reason === undefined ? null : storable(redactor.redactText(reason.trim())).slice(0, 1000) || null;
    const result = await inTransaction(db, async (client): Promise<DecideResult> => {
      if (current.batch_id !== null) await store.lockBatch(client, current.batch_id);
      const grantId = outcome === "always" ? newId() : null;
      const row = await store.decideApproval(client, id, {
        status: outcome === "deny" ? "denied" : "approved",
        by: "human",
        deciderId: String(actor.id),
        deciderName: actor.name,
        reason: outcome === "deny" ? cleanReason : null,
        grantId,
        now,
      });
      if (!row) {
        const latest = await store.getApproval(client, id);
        return latest ? { kind: "too_late", row: latest } : { kind: "unknown" };
      }
      let grant: GrantRow | undefined;
      if (grantId !== null && row.args_hash !== null) {
        grant = {
          id: grantId,
          agent: row.agent,
          tool: row.tool,
          args_hash: row.args_hash,
          args: row.args,
          approval_id: row.id,
          created_by_id: String(actor.id),
          created_by_name: actor.name,
          created_at: now,
          expires_at: new Date(now.getTime() + ttlMs),
          revoked_at: null,
          revoked_by_id: null,
          revoked_by_name: null,
        };
        await store.insertGrant(client, grant);
      }
      await writeAudit(client, {
        actor: operatorActor(actor),
        action: "approval.decided",
        target: `approval:${row.id}`,
        details: {
          status: row.status,
          outcome,
          reason: row.decision_reason,
          agent: row.agent,
          tool: row.tool,
          grant_id: grant?.id ?? null,
        },
      });
      if (grant) {
        await writeAudit(client, {
          actor: operatorActor(actor),
          action: "approval.grant_created",
          target: `grant:${grant.id}`,
          details: {
            agent: grant.agent,
            tool: grant.tool,
            args: grant.args,
            args_hash: grant.args_hash,
            approval_id: row.id,
            expires_at: grant.expires_at.toISOString(),
          },
        });
      }
      await closeReasonPrompts(client, row.id);
      await refreshCard(client, row);
      return grant ? { kind: "decided", row, grant } : { kind: "decided", row };
    });
    if (result.kind === "decided") {
      observeDecision(result.row);
      await waiters.announce([result.row.id]);
    }
    return result;
  }

  async function approveShown(
    batchId: string,
    shownIds: ReadonlySet<string>,
    actor: OperatorActor,
  ): Promise<ApproveShownResult> {
    const now = deps.now();
    const result = await inTransaction(db, async (client): Promise<ApproveShownResult> => {
      const batch = await store.lockBatch(client, batchId);
      if (!batch) return { kind: "unknown", approved: [], notShown: 0, tooLate: 0 };
      const members = await store.batchMembers(client, batchId);
      const approved: ApprovalRow[] = [];
      let notShown = 0;
      let tooLate = 0;
      for (const member of members) {
        const pending = effectiveStatus(member, now) === "pending";
        if (!shownIds.has(member.id)) {
          if (pending) notShown += 1;
          continue;
        }
        const row = pending
          ? await store.decideApproval(client, member.id, {
              status: "approved",
              by: "human",
              deciderId: String(actor.id),
              deciderName: actor.name,
              reason: null,
              grantId: null,
              now,
            })
          : undefined;
        if (!row) {
          tooLate += 1;
          continue;
        }
        approved.push(row);
        await writeAudit(client, {
          actor: operatorActor(actor),
          action: "approval.decided",
          target: `approval:${row.id}`,
          details: {
            status: "approved",
            outcome: "approve_all",
            batch_id: batchId,
            agent: row.agent,
            tool: row.tool,
          },
        });
        await closeReasonPrompts(client, row.id);
      }
      if (approved.length > 0 && batch.status === "open") {
        const latest = await store.batchMembers(client, batchId);
        await editCard(client, batch.card_ref, batchCard(latest, cardContext()), latest);
      }
      return { kind: "done", approved, notShown, tooLate };
    });
    for (const row of result.approved) observeDecision(row);
    if (result.approved.length > 0) await waiters.announce(result.approved.map((row) => row.id));
    return result;
  }

  async function review(batchId: string, actor: OperatorActor) {
    const now = deps.now();
    return inTransaction(db, async (client) => {
      const batch = await store.lockBatch(client, batchId);
      if (!batch) return { kind: "unknown" as const, cards: 0 };
      const members = await store.batchMembers(client, batchId);
      const pending = members.filter((row) => effectiveStatus(row, now) === "pending");
      if (batch.status !== "open" || pending.length === 0) return { kind: "nothing" as const, cards: 0 };
      await store.splitBatch(client, batchId);
      for (const row of pending) {
        const ref = `approval:${row.id}`;
        await store.setCardRef(client, [row.id], ref);
        const moved = { ...row, card_ref: ref };
        await sendCard(client, ref, singleCard(moved, cardContext()), [moved]);
      }
      await editCard(client, batch.card_ref, splitCard(members, actor.name, cardContext()), members);
      await writeAudit(client, {
        actor: operatorActor(actor),
        action: "approval.batch_split",
        target: `batch:${batchId}`,
        details: { run_id: batch.run_id, agent: batch.agent, pending: pending.map((row) => row.id) },
      });
      return { kind: "done" as const, cards: pending.length };
    });
  }

  async function revokeGrant(grantId: string, actor: OperatorActor) {
    return inTransaction(db, async (client) => {
      const grant = await store.revokeGrant(
        client,
        grantId,
        { id: String(actor.id), name: actor.name },
        deps.now(),
      );
      if (!grant) return { kind: "gone" as const };
      await writeAudit(client, {
        actor: operatorActor(actor),
        action: "approval.grant_revoked",
        target: `grant:${grant.id}`,
        details: {
          agent: grant.agent,
          tool: grant.tool,
          args_hash: grant.args_hash,
          approval_id: grant.approval_id,
        },
      });
      return { kind: "revoked" as const, grant };
    });
  }

  async function expireDue(): Promise<number> {
    const now = deps.now();
    let handled = 0;
    for (;;) {
      const due = await db.query<{ id: string; batch_id: string | null }>(
        `select id, batch_id from approvals where status = 'pending' and expires_at <= $1
          order by expires_at limit $2`,
        [now, EXPIRY_BATCH],
      );
      if (due.rows.length === 0) break;
      const expired: ApprovalRow[] = [];
      // One transaction per approval (or per run's card), so a card is re-rendered once per change.
      const groups = new Map<string, string[]>();
      for (const { id, batch_id } of due.rows) {
        const key = batch_id ?? `single:${id}`;
        groups.set(key, [...(groups.get(key) ?? []), id]);
      }
      for (const [key, ids] of groups) {
        const rows = await inTransaction(db, async (client) => {
          if (!key.startsWith("single:")) await store.lockBatch(client, key);
          const { rows } = await client.query<{ id: string }>(
            `update approvals set status = 'expired', decided_by_kind = 'expiry', decided_at = expires_at
              where id = any($1::text[]) and status = 'pending' and expires_at <= $2
              returning id`,
            [ids, now],
          );
          const changed = await store.getApprovals(
            client,
            rows.map((r) => r.id),
          );
          for (const row of changed) {
            await writeAudit(client, {
              actor: { type: "system", id: "expiry" },
              action: "approval.expired",
              target: `approval:${row.id}`,
              details: { agent: row.agent, tool: row.tool, expires_at: row.expires_at.toISOString() },
            });
            await closeReasonPrompts(client, row.id);
          }
          const first = changed[0];
          if (first) await refreshCard(client, first);
          return changed;
        });
        expired.push(...rows);
      }
      for (const row of expired) observeDecision(row);
      handled += expired.length;
      if (expired.length > 0) await waiters.announce(expired.map((row) => row.id));
      if (due.rows.length < EXPIRY_BATCH) break;
    }
    const ended = await store.noteExpiredGrants(db, now, EXPIRY_BATCH);
    for (const grant of ended) {
      await writeAudit(db, {
        actor: { type: "system", id: "expiry" },
        action: "approval.grant_expired",
        target: `grant:${grant.id}`,
        details: { agent: grant.agent, tool: grant.tool, approval_id: grant.approval_id },
      });
    }
    return handled;
  }

  return {
    policy,
    texts,
    redactor,
    waiters,
    chat,
    request,
    get: (id) => store.getApproval(db, id),
    view,
    list: (filter) => store.listApprovals(db, { ...filter, now: deps.now() }),
    waitForDecision,
    decide,
    approveShown,
    review,
    revokeGrant,
    getGrant: (id) => store.getGrant(db, id),
    async pending({ limit, offset = 0 }) {
      const now = deps.now();
      const [rows, total] = await Promise.all([
        store.listApprovals(db, { status: "pending", limit, offset, now }),
        store.countApprovals(db, { status: "pending", now }),
      ]);
      return { rows, total };
    },
    async grants({ limit, offset = 0 }) {
      const now = deps.now();
      const [rows, total] = await Promise.all([
        store.listActiveGrants(db, now, limit, offset),
        store.countActiveGrants(db, now),
      ]);
      return { rows, total };
    },
    openReasonPrompt: (approvalId, userId, chatId) =>
      store.openReasonPrompt(db, { approvalId, userId, chatId, now: deps.now() }),
    async recordReasonPrompt(approvalId, userId, where, messages) {
      const ref = (what: string) => `approval-reason:${approvalId}:${userId}:${what}`;
      await inTransaction(db, async (client) => {
        if (messages.prompt !== null) await store.nameMessage(client, ref("prompt"), where, messages.prompt);
        if (messages.picker !== null) await store.nameMessage(client, ref("picker"), where, messages.picker);
        await store.setReasonPromptRefs(client, approvalId, userId, {
          prompt: messages.prompt === null ? null : ref("prompt"),
          picker: messages.picker === null ? null : ref("picker"),
        });
        // Decided while the question was being sent: tidy it up at once.
        const row = await store.getApproval(client, approvalId);
        if (row && effectiveStatus(row, deps.now()) !== "pending")
          await closeReasonPrompts(client, approvalId, userId);
      });
    },
    async closeReasonPrompt(approvalId, userId) {
      await inTransaction(db, (client) => closeReasonPrompts(client, approvalId, userId));
    },
    async auditRefusal(actor, approvalId, details) {
      await writeAudit(db, {
        actor: operatorActor(actor),
        action: "approval.press_refused",
        target: `approval:${approvalId}`,
        details,
      });
    },
    expireDue,
    cardContext,
    close: () => waiters.close(),
  };
}
