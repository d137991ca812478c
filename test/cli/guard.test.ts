import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_CANNOT_RUN, EXIT_NOT_APPROVED, EXIT_USAGE, runGuard, shellJoin } from "../../src/cli/guard.ts";
import {
  deadUrl,
  type LivePitwall,
  latestPendingId,
  startLivePitwall,
  waitForWaiters,
} from "../client/support.ts";
import { CODER_KEY } from "../http/support.ts";
import { OPERATORS } from "../services/approvals/support.ts";

let live: LivePitwall;
let dir: string;

beforeAll(async () => {
  live = await startLivePitwall();
  dir = await mkdtemp(join(tmpdir(), "pitwall-guard-"));
});
afterAll(async () => {
  await live?.close();
  await rm(dir, { recursive: true, force: true });
});

function io(env: Record<string, string> = {}) {
  const err: string[] = [];
  return {
    err,
    io: {
      env: {
        PATH: process.env.PATH ?? "",
        PITWALL_URL: live.url,
        PITWALL_API_KEY: CODER_KEY,
        PITWALL_AGENT: "coder",
        ...env,
      },
      stderr: { write: (text: string) => err.push(text) },
      cwd: dir,
    },
  };
}

/** A command that leaves a file behind when it runs, and exits with `code`. */
function marker(name: string, code = 0): string[] {
  const file = join(dir, name);
  return [
    process.execPath,
    "-e",
    `require("fs").writeFileSync(${JSON.stringify(file)}, "ran"); process.exit(${code})`,
  ];
}

describe("pitwall guard", () => {
  it("approved: runs the command and passes its exit code through", async () => {
    const { io: streams } = io();
    const running = runGuard(["--tool", "exec_command", "--", ...marker("approved", 3)], streams);
    const id = await latestPendingId(live);
    await waitForWaiters(live, 1);
    await live.instance.module.service.decide(id, "approve", { id: OPERATORS.approver.id, name: "Apu" });
    expect(await running).toBe(3);
    expect(existsSync(join(dir, "approved"))).toBe(true);
  });

  it("denied: exit 126 with the reason, the command never runs", async () => {
    const { io: streams, err } = io();
    const running = runGuard(
      ["--tool", "exec_command", "--reason", "cleanup", "--", ...marker("denied")],
      streams,
    );
    const id = await latestPendingId(live);
    await waitForWaiters(live, 1);
    await live.instance.module.service.decide(
      id,
      "deny",
      { id: OPERATORS.approver.id, name: "Apu" },
      "use the runbook",
    );
    expect(await running).toBe(EXIT_NOT_APPROVED);
    expect(err.join("")).toContain("denied by Apu: use the runbook");
    expect(existsSync(join(dir, "denied"))).toBe(false);
  });

  it("denied by policy: exit 126 at once", async () => {
    const { io: streams, err } = io({ PITWALL_AGENT: "reader" });
    const reader = { ...streams, env: { ...streams.env, PITWALL_API_KEY: "pw_admin_9f8e7d6c5b4a39281706" } };
    expect(await runGuard(["--tool", "exec_command", "--", ...marker("policy")], reader)).toBe(
      EXIT_NOT_APPROVED,
    );
    expect(err.join("")).toContain("by policy (permission_level)");
    expect(existsSync(join(dir, "policy"))).toBe(false);
  });

  it("expired: exit 126", async () => {
    const { io: streams, err } = io();
    const running = runGuard(
      ["--tool", "exec_command", "--timeout", "5", "--", ...marker("expired")],
      streams,
    );
    await latestPendingId(live);
    await waitForWaiters(live, 1);
    live.clock.advance(5_000);
    // Wake the waiter so it re-reads (the expiry job would, within a second).
    await live.instance.module.service.expireDue();
    expect(await running).toBe(EXIT_NOT_APPROVED);
    expect(err.join("")).toContain("expired");
    expect(existsSync(join(dir, "expired"))).toBe(false);
  });

  it("pitwall unreachable: exit 126, the command never runs", async () => {
    const { io: streams, err } = io({ PITWALL_URL: await deadUrl() });
    expect(await runGuard(["--tool", "exec_command", "--", ...marker("unreachable")], streams)).toBe(
      EXIT_NOT_APPROVED,
    );
    expect(err.join("")).toContain("unreachable");
    expect(existsSync(join(dir, "unreachable"))).toBe(false);
  });

  it("usage errors: exit 2, nothing asked", async () => {
    const { io: streams, err } = io();
    expect(await runGuard(["--", "ls"], streams)).toBe(EXIT_USAGE);
    expect(await runGuard(["--tool", "exec_command"], streams)).toBe(EXIT_USAGE);
    expect(await runGuard(["--tool", "exec_command", "--bogus", "--", "ls"], streams)).toBe(EXIT_USAGE);
    const { io: noKey } = io({ PITWALL_API_KEY: "" });
    expect(await runGuard(["--tool", "exec_command", "--", "ls"], noKey)).toBe(EXIT_USAGE);
    expect(err.join("")).toContain("--tool is required");
  });

  it("approved but the command does not exist: exit 127", async () => {
    const { io: streams } = io();
    // git status is auto-approved by an argument rule in the test config.
    const running = runGuard(["--tool", "read_file", "--", "/nonexistent/pitwall-test-binary"], streams);
    expect(await running).toBe(EXIT_CANNOT_RUN);
  });

  it("sends the command as cmd (shell-quoted), argv and cwd", () => {
    expect(shellJoin(["rm", "-rf", "my dir", "it's"])).toBe(`rm -rf 'my dir' 'it'\\''s'`);
  });
});
