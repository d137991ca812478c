import { describe, expect, it } from "vitest";
import {
  approvalPromptModel,
  cutOnLines,
  type PromptApproval,
  promptRedactor,
  redactArgs,
} from "../../../src/guards/approvals/prompt-model.ts";
import { REDACTED } from "../../../src/guards/redact.ts";
import { configFrom } from "./support.ts";

// Fake credentials of real shapes (assembled so no scanner mistakes this file for a leak).
const openaiKey = `sk-${"proj-"}Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z`;
const githubToken = `ghp_${"16C7e42F292c6912E7710c838347Ae178B4a"}`;

const approval: PromptApproval = {
  id: "AbCdEfGh12345678",
  agent: "coder",
  run_id: "run-42",
  tool: "exec_command",
  original_tool: "Bash",
  reason: "deploy the fix",
  expires_at: new Date("2025-06-01T12:05:00Z"),
};

const redactor = promptRedactor(configFrom("").safety.output.filter_sensitive);

function model(args: unknown, maxArgsChars = 3_000, extra: Partial<PromptApproval> = {}) {
  return approvalPromptModel({
    approval: { ...approval, ...extra },
    args,
    flags: [],
    redactor,
    maxArgsChars,
  });
}

describe("approvalPromptModel: content", () => {
  it("shows agent, run, tool (and the name the agent used), reason and expiry", () => {
    const m = model({ cmd: "make deploy" });
    expect(m).toMatchObject({
      id: "AbCdEfGh12345678",
      agent: "coder",
      run_id: "run-42",
      tool: "exec_command",
      original_tool: "Bash",
      reason: "deploy the fix",
      expires_at: "2025-06-01T12:05:00.000Z",
      argsTruncated: false,
      argsOmitted: null,
      attachment: null,
    });
    expect(m.argsPretty).toBe('{\n  "cmd": "make deploy"\n}');
  });

  it("leaves original_tool empty when no alias applied", () => {
    expect(model({}, 100, { original_tool: "exec_command" }).original_tool).toBeNull();
    expect(model({}, 100, { original_tool: null }).original_tool).toBeNull();
  });

  it("keeps the flags, in order", () => {
    const flags = [{ pattern: "sudo:", path: "args.cmd", where: "value" as const }];
    const m = approvalPromptModel({ approval, args: { cmd: "sudo: x" }, flags, redactor, maxArgsChars: 500 });
    expect(m.flags).toEqual(flags);
  });
});

describe("approvalPromptModel: redaction", () => {
  it("removes values under sensitive keys (safety.output.filter_sensitive and the defaults)", () => {
    const m = model({
      url: "https://api.example.com",
      api_key: "plain-looking-value",
      headers: { Authorization: "abc" },
    });
    expect(m.argsPretty).not.toContain("plain-looking-value");
    expect(m.argsPretty).not.toContain('"abc"');
    expect(m.argsPretty).toContain(`"api_key": "${REDACTED}"`);
    expect(m.argsPretty).toContain("https://api.example.com");
  });

  it("removes secret-shaped values wherever they are, also inside commands and JSON strings", () => {
    const m = model({
      cmd: `curl -H "Authorization: Bearer ${openaiKey}" https://api.openai.com`,
      payload: JSON.stringify({ token: "inner-secret-value", note: githubToken }),
      env: [`GITHUB_TOKEN=${githubToken}`],
    });
    for (const secret of [openaiKey, githubToken, "inner-secret-value"])
      expect(m.argsPretty).not.toContain(secret);
    expect(m.argsPretty).toContain("curl -H");
  });

  it("adds keys from filter_sensitive to the defaults", () => {
    const custom = promptRedactor(
      configFrom("safety: { output: { filter_sensitive: [session_id] } }").safety.output.filter_sensitive,
    );
    const m = approvalPromptModel({
      approval,
      args: { session_id: "s-123", password: "hunter2", user: "ann" },
      flags: [],
      redactor: custom,
      maxArgsChars: 1_000,
    });
    expect(m.argsPretty).not.toContain("s-123");
    expect(m.argsPretty).not.toContain("hunter2");
    expect(m.argsPretty).toContain("ann");
  });

  it("redacts the agent's reason and run id too", () => {
    const m = model({}, 100, { reason: `use ${openaiKey}`, run_id: `run ${githubToken}` });
    expect(m.reason).not.toContain(openaiKey);
    expect(m.run_id).not.toContain(githubToken);
  });

  it("matches the shared redactor on ordinary arguments", () => {
    const args = {
      api_key: "v",
      password: null,
      token: true,
      nested: [{ secret: 5, note: `x ${openaiKey}` }],
    };
    expect(redactArgs(args, redactor)).toEqual(redactor.redactValue(args));
  });

  it("never drops a __proto__ key: what the approver sees is everything the agent sent", () => {
    const args = JSON.parse('{"cmd": "ls", "__proto__": {"cmd": "rm -rf /", "api_key": "k-1"}}');
    const m = model(args);
    expect(m.argsPretty).toContain('"__proto__": {');
    expect(m.argsPretty).toContain("rm -rf /");
    expect(m.argsPretty).not.toContain("k-1");
  });

  it("redacts the attachment as well", () => {
    const args = { api_key: "k-123-secret", lines: Array.from({ length: 200 }, (_, i) => `line ${i}`) };
    const m = model(args, 300);
    expect(m.attachment?.content).not.toContain("k-123-secret");
    expect(m.attachment?.content).toContain(REDACTED);
  });
});

describe("approvalPromptModel: arguments that do not fit", () => {
  const args = { cmd: "make all", files: Array.from({ length: 100 }, (_, i) => `src/file-${i}.ts`) };
  const full = JSON.stringify(args, null, 2);

  it("cuts on a line boundary, says what was left out and attaches everything", () => {
    const m = model(args, 400);
    expect(m.argsTruncated).toBe(true);
    expect(m.argsPretty.length).toBeLessThanOrEqual(400);
    expect(full.startsWith(`${m.argsPretty}\n`)).toBe(true);
    const shownLines = m.argsPretty.split("\n").length;
    expect(m.argsOmitted).toEqual({
      lines: full.split("\n").length - shownLines,
      chars: full.length - m.argsPretty.length,
    });
    expect(m.attachment).toEqual({ filename: "args-AbCdEfGh12345678.json", content: full });
  });

  it("pretty-prints with 2 spaces", () => {
    expect(model(args, 400).argsPretty.split("\n")[1]).toBe('  "cmd": "make all",');
  });

  it("does not cut what fits exactly", () => {
    const m = model(args, full.length);
    expect(m).toMatchObject({ argsTruncated: false, argsPretty: full, attachment: null });
  });

  it("shows the start of one very long line rather than almost nothing", () => {
    const long = { cmd: `echo ${"x".repeat(5_000)}`, cwd: "/" };
    const m = model(long, 1_000);
    expect(m.argsPretty.length).toBeLessThanOrEqual(1_000);
    expect(m.argsPretty.startsWith('{\n  "cmd": "echo xxx')).toBe(true);
    expect(m.argsPretty.endsWith("…")).toBe(true);
    expect(m.argsOmitted?.lines).toBe(3);
    expect(m.attachment?.content).toBe(JSON.stringify(long, null, 2));
  });
});

describe("cutOnLines", () => {
  it("returns null when the text fits", () => {
    expect(cutOnLines("a\nb", 3)).toBeNull();
  });

  it("never splits a surrogate pair when it cuts inside a line", () => {
    const cut = cutOnLines(`${"😀".repeat(50)}\nend`, 10);
    expect(cut).not.toBeNull();
    const shown = cut?.shown ?? "";
    expect(shown.length).toBeLessThanOrEqual(10);
    expect(shown.endsWith("…")).toBe(true);
    expect(/[\ud800-\udbff](?![\udc00-\udfff])/.test(shown)).toBe(false);
  });
});
