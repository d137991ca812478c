import { describe, expect, it } from "vitest";
import { approvalRequestSchema } from "../../../src/guards/approvals/request.ts";
import { zodToHttpError } from "../../../src/http/errors.ts";

const schema = approvalRequestSchema(5 * 60_000);
const valid = { agent: "coder", tool: "exec_command", args: { cmd: "ls" } };

/** The 400 message the API would send for this body. */
function problem(body: unknown): string {
  const parsed = schema.safeParse(body);
  if (parsed.success) throw new Error("expected the body to be rejected");
  return zodToHttpError(parsed.error, "body").message;
}

describe("POST /v1/approvals body", () => {
  it("accepts the minimal body and fills timeout_s from approvals.timeout", () => {
    expect(schema.parse(valid)).toEqual({ ...valid, timeout_s: 300 });
  });

  it("accepts every optional field", () => {
    const body = {
      ...valid,
      reason: "clean the build",
      run_id: "run-1",
      timeout_s: 60,
      idempotency_key: "k-1",
    };
    expect(schema.parse(body)).toEqual(body);
  });

  it("accepts any JSON as args (the input checks judge them)", () => {
    for (const args of [{}, [], null, "text", 1])
      expect(schema.safeParse({ ...valid, args }).success).toBe(true);
  });

  it("missing tool: a 400 that names the field", () => {
    expect(problem({ agent: "coder", args: {} })).toBe(
      "body.tool: required: the tool the agent wants to call, like exec_command",
    );
  });

  it("missing agent or args: named too", () => {
    expect(problem({ tool: "x", args: {} })).toMatch(/^body\.agent: required/);
    expect(problem({ agent: "a", tool: "x" })).toMatch(/^body\.args: required: the tool's arguments/);
  });

  it("checks the agent name's characters and length", () => {
    expect(problem({ ...valid, agent: "coder bot" })).toMatch(/^body\.agent: use only letters/);
    expect(problem({ ...valid, agent: "a".repeat(65) })).toBe("body.agent: at most 64 characters");
    expect(problem({ ...valid, agent: "" })).toMatch(/^body\.agent: must not be empty/);
    expect(schema.safeParse({ ...valid, agent: "ci.bot-2_x" }).success).toBe(true);
  });

  it("checks the tool name", () => {
    expect(problem({ ...valid, tool: "" })).toMatch(/^body\.tool: must not be empty/);
    expect(problem({ ...valid, tool: "t".repeat(129) })).toBe("body.tool: at most 128 characters");
    expect(problem({ ...valid, tool: "rm\n-rf" })).toBe("body.tool: must not contain control characters");
    expect(problem({ ...valid, tool: 7 })).toMatch(/^body\.tool: expected the tool/);
    expect(schema.safeParse({ ...valid, tool: "mcp__github__create_issue" }).success).toBe(true);
  });

  it("bounds reason, run_id and idempotency_key", () => {
    expect(problem({ ...valid, reason: "r".repeat(2001) })).toBe("body.reason: at most 2000 characters");
    expect(schema.safeParse({ ...valid, reason: "r".repeat(2000) }).success).toBe(true);
    expect(problem({ ...valid, run_id: "r".repeat(129) })).toBe("body.run_id: at most 128 characters");
    expect(problem({ ...valid, idempotency_key: "k".repeat(129) })).toBe(
      "body.idempotency_key: at most 128 characters",
    );
    expect(problem({ ...valid, reason: 5 })).toBe("body.reason: expected the reason as text");
  });

  it("bounds timeout_s to 5..3600 whole seconds", () => {
    expect(problem({ ...valid, timeout_s: 4 })).toBe("body.timeout_s: at least 5 seconds");
    expect(problem({ ...valid, timeout_s: 3601 })).toBe("body.timeout_s: at most 3600 seconds (one hour)");
    expect(problem({ ...valid, timeout_s: 10.5 })).toMatch(/^body\.timeout_s: expected a whole number/);
    expect(problem({ ...valid, timeout_s: "60" })).toMatch(/^body\.timeout_s: expected a whole number/);
    expect(schema.parse({ ...valid, timeout_s: 5 }).timeout_s).toBe(5);
    expect(schema.parse({ ...valid, timeout_s: 3600 }).timeout_s).toBe(3600);
  });

  it("clamps a configured default outside the range", () => {
    expect(approvalRequestSchema(2 * 3_600_000).parse(valid).timeout_s).toBe(3600);
    expect(approvalRequestSchema(1_000).parse(valid).timeout_s).toBe(5);
  });

  it("refuses unknown fields, listing the known ones", () => {
    expect(problem({ ...valid, timeout: 60 })).toBe(
      "body: unknown field timeout; the fields are agent, tool, args, reason, run_id, timeout_s, idempotency_key",
    );
  });

  it("refuses a body that is not an object", () => {
    for (const body of [[valid], null, "agent=coder"]) {
      expect(problem(body)).toMatch(/^body: expected a JSON object like \{"agent": "coder"/);
    }
  });
});
