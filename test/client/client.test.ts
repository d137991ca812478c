import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApprovalDeniedError, createClient } from "../../src/client/index.ts";
import { ADMIN_KEY, CODER_KEY } from "../http/support.ts";
import { OPERATORS } from "../services/approvals/support.ts";
import {
  deadUrl,
  type LivePitwall,
  latestPendingId,
  startBlackHole,
  startLivePitwall,
  waitForWaiters,
} from "./support.ts";

let live: LivePitwall;

beforeAll(async () => {
  live = await startLivePitwall();
});
afterAll(async () => {
  await live?.close();
});

const approver = { id: OPERATORS.approver.id, name: "Apu" };

describe("pitwall/client", () => {
  it("withApproval runs the function when policy approves", async () => {
    const client = createClient({ url: live.url, apiKey: CODER_KEY, agent: "coder" });
    const result = await client.withApproval("read_file", { path: "README.md" }, () => "ran");
    expect(result).toBe("ran");
  });

  it("waits for a human: approved -> runs; denied -> throws with the reason and never runs", async () => {
    const client = createClient({ url: live.url, apiKey: CODER_KEY, agent: "coder" });
    let ran = 0;
    const approved = client.withApproval("exec_command", { cmd: "make deploy" }, () => {
      ran += 1;
      return "deployed";
    });
    const id = await latestPendingId(live);
    await waitForWaiters(live, 1);
    await live.instance.module.service.decide(id, "approve", approver);
    expect(await approved).toBe("deployed");

    const denied = client.withApproval("exec_command", { cmd: "make destroy" }, () => {
      ran += 1;
    });
    const id2 = await latestPendingId(live);
    await waitForWaiters(live, 1);
    await live.instance.module.service.decide(id2, "deny", approver, "not on a Friday");
    const err = await denied.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApprovalDeniedError);
    expect((err as ApprovalDeniedError).decision).toMatchObject({
      approved: false,
      status: "denied",
      by: "human",
      reason: "not on a Friday",
    });
    expect(ran).toBe(1);
  });

  it("requestApproval + waitForDecision: expiry is not approved", async () => {
    const client = createClient({ url: live.url, apiKey: CODER_KEY, agent: "coder" });
    const result = await client.requestApproval({ tool: "exec_command", args: { cmd: "x" }, timeoutS: 5 });
    expect(result.kind).toBe("pending");
    if (result.kind !== "pending") return;
    live.clock.advance(5_000);
    const decision = await client.waitForDecision(result.id);
    expect(decision).toMatchObject({ approved: false, status: "expired", by: "expiry" });
  });

  it("fails closed when pitwall is unreachable: not approved, the function never runs", async () => {
    const client = createClient({ url: await deadUrl(), apiKey: CODER_KEY, agent: "coder", attempts: 2 });
    let ran = false;
    const err = await client
      .withApproval("read_file", { path: "x" }, () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApprovalDeniedError);
    expect((err as ApprovalDeniedError).decision.status).toBe("unreachable");
    expect(ran).toBe(false);
  });

  it("fails closed when pitwall hangs (request timeout) or answers errors", async () => {
    const hole = await startBlackHole();
    try {
      const client = createClient({
        url: hole.url,
        apiKey: CODER_KEY,
        agent: "coder",
        attempts: 1,
        requestTimeoutMs: 200,
      });
      const decision = await client.decide("read_file", { path: "x" });
      expect(decision).toMatchObject({ approved: false, status: "unreachable" });
    } finally {
      await hole.close();
    }
    const wrongKey = createClient({ url: live.url, apiKey: "not-a-key", agent: "coder" });
    expect(await wrongKey.decide("read_file", { path: "x" })).toMatchObject({
      approved: false,
      status: "error",
    });
    const wrongAgent = createClient({ url: live.url, apiKey: CODER_KEY, agent: "reader" });
    const forbidden = await wrongAgent.decide("read_file", { path: "x" });
    expect(forbidden).toMatchObject({ approved: false, status: "error" });
    expect(forbidden.reason).toContain("403");
  });

  it("a pending approval whose server goes away ends not approved at the deadline", async () => {
    const client = createClient({ url: live.url, apiKey: ADMIN_KEY, agent: "coder" });
    const result = await client.requestApproval({ tool: "exec_command", args: { cmd: "y" } });
    if (result.kind !== "pending") throw new Error("expected pending");
    const gone = createClient({ url: await deadUrl(), apiKey: ADMIN_KEY, agent: "coder" });
    const decision = await gone.waitForDecision(result.id, { timeoutMs: 300 });
    expect(decision).toMatchObject({ approved: false, status: "unreachable" });
  });

  it("retries reuse the idempotency key: one approval, the same answer", async () => {
    const client = createClient({ url: live.url, apiKey: CODER_KEY, agent: "coder" });
    const one = await client.requestApproval({
      tool: "exec_command",
      args: { cmd: "z" },
      idempotencyKey: "same",
    });
    const two = await client.requestApproval({
      tool: "exec_command",
      args: { cmd: "z" },
      idempotencyKey: "same",
    });
    if (one.kind !== "pending" || two.kind !== "pending") throw new Error("expected pending");
    expect(two.id).toBe(one.id);
  });
});
