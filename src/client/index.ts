/**
 * `pitwall/client`: what an agent uses to ask pitwall before a dangerous tool call.
 *
 * ```ts
 * import { createClient } from "pitwall/client";
 * const pitwall = createClient({ url: "http://127.0.0.1:8080", apiKey: process.env.PITWALL_KEY!, agent: "coder" });
 * const output = await pitwall.withApproval("exec_command", { cmd: "make deploy" }, () => run("make deploy"));
 * ```
 *
 * It FAILS CLOSED: whenever it cannot learn that a call was approved — pitwall unreachable, an
 * error answer, a malformed answer, no decision before the deadline — the answer is "not
 * approved", and `withApproval` does not run the function. Requests carry an idempotency key, so
 * a retry after a lost answer never asks twice. Dependency-free (global `fetch`, Node ≥ 18).
 */

export type ApprovalStatus = "pending" | "approved" | "denied" | "expired";

/** The Approval answer shape (DESIGN.md, HTTP API v1). */
export interface Approval {
  id: string;
  agent: string;
  tool: string;
  original_tool?: string;
  status: ApprovalStatus;
  by?: "human" | "policy" | "expiry";
  rule: string;
  decided_by?: { id: string; name: string };
  reason?: string;
  request_reason?: string;
  run_id?: string;
  created_at: string;
  expires_at: string;
  decided_at?: string;
  grant?: { id: string; expires_at: string };
}

export interface Decision {
  /** True only when pitwall said "approved". */
  approved: boolean;
  /** `unreachable`: pitwall could not be asked or did not answer; `error`: it refused the request. */
  status: "approved" | "denied" | "expired" | "unreachable" | "error";
  /** Why, for logs and for the agent's user: the policy's or the approver's reason, or what failed. */
  reason: string;
  /** Who decided, when pitwall did. */
  by?: "human" | "policy" | "expiry";
  rule?: string;
  id?: string;
  approval?: Approval;
}

export interface ApprovalRequest {
  /** Default: the client's `agent`. */
  agent?: string;
  tool: string;
  /** A JSON object (pitwall refuses anything else). */
  args: Record<string, unknown>;
  reason?: string;
  /** Requests sharing a run id are shown on one card (Approve all / Review one by one). */
  runId?: string;
  /** How long a human may take (5..3600 s); default pitwall's approvals.timeout. */
  timeoutS?: number;
  /** Default: a random key per request (retries of this call reuse it). */
  idempotencyKey?: string;
}

export type RequestResult =
  /** Decided at once (policy), or refused/unreachable (not approved). */
  | { kind: "decided"; decision: Decision }
  /** A human decides: wait with `waitForDecision(id)`. */
  | { kind: "pending"; id: string; expiresAt: Date; approval: Approval };

export interface ClientOptions {
  /** pitwall's base URL, e.g. http://127.0.0.1:8080 */
  url: string;
  apiKey: string;
  /** The agent this client acts for (the key must be allowed to). */
  agent?: string;
  /** Per HTTP call, besides the long poll's own wait; default 10 s. */
  requestTimeoutMs?: number;
  /** Attempts of the request when pitwall is briefly unreachable (5xx, network); default 3. */
  attempts?: number;
  /** For tests; default the global fetch. */
  fetch?: typeof fetch;
}

export interface WaitOptions {
  /** Give up (not approved) after this long; default: the approval's expiry plus a few seconds. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** When the approval expires (from requestApproval); bounds the default timeout. */
  expiresAt?: Date;
}

export interface PitwallClient {
  /** Asks pitwall; never throws (a failure is a decision that is not approved). */
  requestApproval(request: ApprovalRequest, opts?: { signal?: AbortSignal }): Promise<RequestResult>;
  /** Long-polls until a decision, the deadline, or the signal; never throws. */
  waitForDecision(id: string, opts?: WaitOptions): Promise<Decision>;
  /** requestApproval, then waitForDecision when a human decides. */
  decide(
    tool: string,
    args: Record<string, unknown>,
    opts?: Omit<ApprovalRequest, "tool" | "args"> & WaitOptions,
  ): Promise<Decision>;
  /**
   * Runs `fn` only when the call is approved; otherwise throws ApprovalDeniedError (with the
   * decision) and `fn` never runs.
   */
  withApproval<T>(
    tool: string,
    args: Record<string, unknown>,
    fn: () => T | Promise<T>,
    opts?: Omit<ApprovalRequest, "tool" | "args"> & WaitOptions,
  ): Promise<T>;
}

/** Thrown by withApproval when the call was not approved (denied, expired, or pitwall unreachable). */
export class ApprovalDeniedError extends Error {
  readonly decision: Decision;
  constructor(decision: Decision) {
    super(`not approved (${decision.status}): ${decision.reason}`);
    this.name = "ApprovalDeniedError";
    this.decision = decision;
  }
}

/** The longest long poll pitwall serves. */
const MAX_WAIT_S = 60;
/** After expiry, keep asking this long for the final answer before failing closed. */
const EXPIRY_GRACE_MS = 5_000;

function randomKey(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return `pw-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function isApproval(value: unknown): value is Approval {
  const v = value as Partial<Approval> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.id === "string" &&
    typeof v.status === "string" &&
    ["pending", "approved", "denied", "expired"].includes(v.status)
  );
}

function decisionOf(approval: Approval): Decision {
  const approved = approval.status === "approved";
  const reason =
    approval.reason ??
    (approved ? "approved" : approval.status === "expired" ? "nobody decided in time" : "denied");
  return {
    approved,
    status: approval.status === "pending" ? "expired" : approval.status,
    reason,
    ...(approval.by === undefined ? {} : { by: approval.by }),
    rule: approval.rule,
    id: approval.id,
    approval,
  };
}

function notApproved(status: "unreachable" | "error", reason: string, id?: string): Decision {
  return { approved: false, status, reason, ...(id === undefined ? {} : { id }) };
}

interface HttpAnswer {
  status: number;
  body: unknown;
}

export function createClient(options: ClientOptions): PitwallClient {
  const base = options.url.replace(/\/+$/, "");
  const doFetch = options.fetch ?? globalThis.fetch;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const attempts = Math.max(1, options.attempts ?? 3);

  async function call(
    method: "GET" | "POST",
    path: string,
    body: unknown,
    extraMs: number,
    signal?: AbortSignal,
  ): Promise<HttpAnswer> {
    const timeout = AbortSignal.timeout(requestTimeoutMs + extraMs);
    const combined = signal ? AbortSignal.any([timeout, signal]) : timeout;
    const res = await doFetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.apiKey}`,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: combined,
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === "" ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed };
  }

  function errorText(answer: HttpAnswer): string {
    const b = answer.body as { message?: unknown } | undefined;
    return typeof b?.message === "string" ? b.message : `HTTP ${answer.status}`;
  }

  async function requestApproval(
    request: ApprovalRequest,
    opts: { signal?: AbortSignal } = {},
  ): Promise<RequestResult> {
    const agent = request.agent ?? options.agent;
    if (!agent) {
      return {
        kind: "decided",
        decision: notApproved("error", "no agent: pass agent to createClient or the request"),
      };
    }
    const body = {
      agent,
      tool: request.tool,
      args: request.args,
      ...(request.reason === undefined ? {} : { reason: request.reason }),
      ...(request.runId === undefined ? {} : { run_id: request.runId }),
      ...(request.timeoutS === undefined ? {} : { timeout_s: request.timeoutS }),
      idempotency_key: request.idempotencyKey ?? randomKey(),
    };
    let lastFailure = "pitwall did not answer";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (opts.signal?.aborted) break;
      let answer: HttpAnswer;
      try {
        answer = await call("POST", "/v1/approvals", body, 0, opts.signal);
      } catch (err) {
        lastFailure = `pitwall unreachable at ${base}: ${(err as Error).message}`;
        if (attempt < attempts) await sleep(250 * 2 ** (attempt - 1), opts.signal);
        continue;
      }
      if (answer.status === 200 && isApproval(answer.body)) {
        return { kind: "decided", decision: decisionOf({ ...answer.body, by: answer.body.by ?? "policy" }) };
      }
      if (answer.status === 202 && isApproval(answer.body)) {
        const approval = answer.body;
        return { kind: "pending", id: approval.id, expiresAt: new Date(approval.expires_at), approval };
      }
      if (answer.status >= 500 || answer.status === 429) {
        lastFailure = `pitwall answered ${answer.status}: ${errorText(answer)}`;
        // 429: over the per-key limit; waiting inside one call would not help — fail closed now.
        if (answer.status === 429) break;
        if (attempt < attempts) await sleep(250 * 2 ** (attempt - 1), opts.signal);
        continue;
      }
      const details = (answer.body as { details?: { status?: string; rule?: string } } | undefined)?.details;
      if (details?.status === "denied") {
        // 413: arguments over safety.input.max_length are denied by policy, with the reason.
        return {
          kind: "decided",
          decision: {
            approved: false,
            status: "denied",
            reason: errorText(answer),
            by: "policy",
            rule: details.rule ?? "input_check",
          },
        };
      }
      return {
        kind: "decided",
        decision: notApproved(
          "error",
          `pitwall refused the request (${answer.status}): ${errorText(answer)}`,
        ),
      };
    }
    return { kind: "decided", decision: notApproved("unreachable", lastFailure) };
  }

  async function waitForDecision(id: string, opts: WaitOptions = {}): Promise<Decision> {
    const started = Date.now();
    const byExpiry = opts.expiresAt ? opts.expiresAt.getTime() - started + EXPIRY_GRACE_MS : undefined;
    const budgetMs = opts.timeoutMs ?? byExpiry ?? 60 * 60 * 1000 + EXPIRY_GRACE_MS;
    const deadline = started + Math.max(0, budgetMs);
    let lastFailure = "no decision yet";
    let failures = 0;
    for (;;) {
      if (opts.signal?.aborted) return notApproved("unreachable", "stopped waiting (aborted)", id);
      const left = deadline - Date.now();
      if (left <= 0) break;
      const waitS = Math.max(0, Math.min(MAX_WAIT_S, Math.floor(left / 1000)));
      try {
        const answer = await call(
          "GET",
          `/v1/approvals/${encodeURIComponent(id)}?wait=${waitS}`,
          undefined,
          waitS * 1000,
          opts.signal,
        );
        if (answer.status === 200 && isApproval(answer.body)) {
          failures = 0;
          if (answer.body.status !== "pending") return decisionOf(answer.body);
          if (waitS === 0) await sleep(Math.min(left, 1000), opts.signal);
          continue;
        }
        if (answer.status >= 400 && answer.status < 500 && answer.status !== 429) {
          return notApproved("error", `pitwall refused to tell (${answer.status}): ${errorText(answer)}`, id);
        }
        lastFailure = `pitwall answered ${answer.status}: ${errorText(answer)}`;
      } catch (err) {
        lastFailure = `pitwall unreachable at ${base}: ${(err as Error).message}`;
      }
      failures += 1;
      await sleep(
        Math.min(Math.max(0, deadline - Date.now()), 250 * 2 ** Math.min(failures - 1, 4)),
        opts.signal,
      );
    }
    return notApproved("unreachable", `no decision before the deadline (${lastFailure}); not approved`, id);
  }

  async function decide(
    tool: string,
    args: Record<string, unknown>,
    opts: Omit<ApprovalRequest, "tool" | "args"> & WaitOptions = {},
  ): Promise<Decision> {
    const result = await requestApproval({ ...opts, tool, args }, opts.signal ? { signal: opts.signal } : {});
    if (result.kind === "decided") return result.decision;
    return waitForDecision(result.id, {
      ...opts,
      expiresAt: result.expiresAt,
    });
  }

  return {
    requestApproval,
    waitForDecision,
    decide,
    async withApproval(tool, args, fn, opts) {
      const decision = await decide(tool, args, opts);
      if (!decision.approved) throw new ApprovalDeniedError(decision);
      return fn();
    },
  };
}
