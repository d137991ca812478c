import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHook } from "../../src/cli/hook.ts";
import {
  deadUrl,
  type LivePitwall,
  latestPendingId,
  startBlackHole,
  startLivePitwall,
  waitForWaiters,
} from "../client/support.ts";
import { CODER_KEY } from "../http/support.ts";
import { OPERATORS } from "../services/approvals/support.ts";

let live: LivePitwall;

beforeAll(async () => {
  live = await startLivePitwall();
});
afterAll(async () => {
  await live?.close();
});

async function* lines(text: string) {
  yield text;
}

function payload(tool_name: string, tool_input: unknown, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    session_id: "sess-1",
    transcript_path: "/tmp/t.jsonl",
    cwd: "/srv/app",
    hook_event_name: "PreToolUse",
    tool_name,
    tool_input,
    ...extra,
  });
}

function run(argv: string[], stdin: string, env: Record<string, string> = {}, startedAt?: number) {
  const out: string[] = [];
  const err: string[] = [];
  const done = runHook(argv, {
    env: { PITWALL_URL: live.url, PITWALL_API_KEY: CODER_KEY, PITWALL_AGENT: "coder", ...env },
    stdin: lines(stdin),
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    ...(startedAt === undefined ? {} : { startedAt }),
  });
  return {
    done,
    out,
    err,
    answer: async () => {
      const code = await done;
      return { code, json: out.length > 0 ? JSON.parse(out.join("")) : undefined };
    },
  };
}

describe("pitwall hook claude-code", () => {
  it("allows a call policy approves (Read maps to read_file through tool_aliases)", async () => {
    const { code, json } = await run(
      ["claude-code"],
      payload("Read", { file_path: "/srv/app/README.md" }),
    ).answer();
    expect(code).toBe(0);
    expect(json).toEqual({
      hookSpecificOutput: {
        hookEventName: "PreToolUse",
        permissionDecision: "allow",
        permissionDecisionReason: expect.stringContaining("approved by policy (auto_approve)"),
      },
    });
  });

  it("waits for a human: Bash -> exec_command, the session is the run, the description the reason", async () => {
    const hook = run(
      ["claude-code"],
      payload("Bash", { command: "rm -rf build", description: "Clean the build" }),
    );
    const id = await latestPendingId(live);
    await waitForWaiters(live, 1);
    const row = await live.instance.module.service.get(id);
    expect(row).toMatchObject({
      tool: "exec_command",
      original_tool: "Bash",
      run_id: "sess-1",
      request_reason: "Clean the build",
    });
    await live.instance.module.service.decide(
      id,
      "deny",
      { id: OPERATORS.approver.id, name: "Apu" },
      "keep the cache",
    );
    const { code, json } = await hook.answer();
    expect(code).toBe(0);
    expect(json.hookSpecificOutput).toMatchObject({
      permissionDecision: "deny",
      permissionDecisionReason: expect.stringContaining("denied by Apu: keep the cache"),
    });
  });

  it("answers deny before its own deadline when nobody decides", async () => {
    // Started 4.5 s ago with --timeout 5: the deadline (timeout minus the margin) has passed.
    const hook = run(
      ["claude-code", "--timeout", "5"],
      payload("Bash", { command: "sleep 1" }),
      {},
      Date.now() - 4_500,
    );
    const { code, json } = await hook.answer();
    expect(code).toBe(0);
    expect(json.hookSpecificOutput.permissionDecision).toBe("deny");
  });

  it("answers deny before its deadline when pitwall hangs", async () => {
    const hole = await startBlackHole();
    try {
      const hook = run(
        ["claude-code", "--timeout", "5"],
        payload("Bash", { command: "ls" }),
        { PITWALL_URL: hole.url },
        Date.now() - 3_000,
      );
      const { code, json } = await hook.answer();
      expect(code).toBe(0);
      expect(json.hookSpecificOutput.permissionDecision).toBe("deny");
    } finally {
      await hole.close();
    }
  });

  it("fails closed: pitwall unreachable, bad payload, no key -> deny with the reason", async () => {
    const down = await run(["claude-code"], payload("Bash", { command: "ls" }), {
      PITWALL_URL: await deadUrl(),
    }).answer();
    expect(down.json.hookSpecificOutput).toMatchObject({
      permissionDecision: "deny",
      permissionDecisionReason: expect.stringContaining("unreachable"),
    });
    const bad = await run(["claude-code"], "{not json").answer();
    expect(bad.json.hookSpecificOutput.permissionDecision).toBe("deny");
    const noTool = await run(["claude-code"], JSON.stringify({ tool_input: {} })).answer();
    expect(noTool.json.hookSpecificOutput.permissionDecision).toBe("deny");
    const noKey = await run(["claude-code"], payload("Read", { file_path: "x" }), {
      PITWALL_API_KEY: "",
    }).answer();
    expect(noKey.json.hookSpecificOutput.permissionDecisionReason).toContain("PITWALL_API_KEY");
  });

  it("usage errors exit 2 (Claude Code blocks the call)", async () => {
    expect(await run(["cursor"], "{}").done).toBe(2);
    expect(await run(["claude-code", "--timeout", "abc"], "{}").done).toBe(2);
  });
});
