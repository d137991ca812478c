import { describe, expect, it } from "vitest";
import { type ConfigIssue, formatIssues, parseConfig } from "../../src/config/index.ts";

function problems(yaml: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  const result = parseConfig(yaml, env);
  if (result.ok) throw new Error("expected the config to be refused");
  return result.errors;
}

function lines(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  return formatIssues(problems(yaml, env)).split("\n");
}

describe("path-precise errors", () => {
  it("says what a bad duration should look like, at its full path", () => {
    expect(lines("alerting:\n  suppression:\n    escalation_delay: soon\n")).toEqual([
      "alerting.suppression.escalation_delay: expected a duration like 15m",
    ]);
  });

  it("names an unknown key deep inside a list item and suggests the near miss", () => {
    expect(
      lines(`
cost_management:
  budgets:
    - name: daily
      limit: 100000 tokens
    - name: monthly
      limt: 3000000 tokens
`),
    ).toEqual([
      "cost_management.budgets[1].limit: required: a limit like 100000 tokens or $50",
      "cost_management.budgets[1].limt: unknown key (did you mean limit?)",
    ]);
  });

  it("keeps the item index of a list of one-key maps in the path", () => {
    expect(
      lines(`
safety:
  input:
    - max_length: 10000 tokens
    - filter_promts: ["sudo:"]
`),
    ).toEqual(["safety.input[1].filter_promts: unknown key (did you mean filter_prompts?)"]);
  });

  it("lists what a small section knows when nothing is close", () => {
    expect(lines('degradation:\n  triggers: { cpu: "> 90%" }\n')).toEqual([
      "degradation.triggers.cpu: unknown key (known here: latency, error_rate, memory)",
    ]);
  });

  it("names a provider of the map form by its name", () => {
    expect(lines("routing:\n  providers:\n    openai: { modles: [gpt-4] }\n")).toEqual([
      "routing.providers.openai.modles: unknown key (did you mean models?)",
    ]);
  });

  it("calls an unknown top-level key an unknown section", () => {
    expect(lines("alertng:\n  channels: [chat]\nwidgets: 3\n")).toEqual([
      "alertng: unknown section (did you mean alerting?)",
      "widgets: unknown section",
    ]);
  });

  it("says where the bot token really comes from when it is put in the file", () => {
    expect(lines("telegram:\n  token: abc\n  operators: [{ id: 1, role: admin }]\n")).toEqual([
      "telegram.token: unknown key: the bot token is read from the TELEGRAM_BOT_TOKEN environment variable, not from the config",
    ]);
  });

  it("describes wrong types in words, without repeating the value", () => {
    expect(
      lines(`
api:
  trust_proxy: maybe
checks:
  name: api
routing:
  providers:
    openai: { models: [gpt-4], priority: first }
`),
    ).toEqual([
      "api.trust_proxy: expected true or false",
      "checks: expected a list, got a map",
      "routing.providers.openai.priority: expected a whole number of at least 0",
    ]);
  });

  it("checks the loosely checked sections' known keys through either of their forms", () => {
    expect(lines("scaling:\n  min_instances: many\n  anything_else: kept\n")).toEqual([
      "scaling.min_instances: expected a whole number of at least 0",
    ]);
  });

  it("collects every error in file order, not just the first", () => {
    const found = problems(`
retry:
  max_attempts: lots
alerting:
  escalation:
    min_severity: apocalyptic
digest:
  schedule: every morning
  timezone: Mars/Olympus
`);
    expect(found.map((issue) => [issue.path, issue.line])).toEqual([
      ["retry.max_attempts", 3],
      ["alerting.escalation.min_severity", 6],
      ["digest.schedule", 8],
      ["digest.timezone", 9],
    ]);
    expect(found[1]?.message).toBe("expected one of info, warning, critical");
  });

  it("never prints zod's raw dump", () => {
    const output = formatIssues(
      problems(`
api: [1, 2]
approvals: { timeout: [5] }
agents: { coder: superuser }
checks: [{ name: x, http: not a url }]
`),
    );
    expect(output).not.toMatch(/Invalid input|ZodError|"code"|received/);
    expect(output.split("\n")).toEqual([
      "api: expected a map (key: value), got a list",
      "approvals.timeout: expected a duration like 15m",
      "agents.coder: expected one of none, read_only, limited, unrestricted",
      "checks[0].http: expected a URL like https://api.example.com/health",
    ]);
  });

  it("reports a YAML syntax error with its line and column", () => {
    const [first] = problems("alerting:\n  suppression: [1h\n");
    expect(first?.path).toMatch(/^line \d+, column \d+$/);
    expect(first?.message).not.toContain("\n");
  });

  it("refuses a key given twice", () => {
    const found = problems("retry:\n  max_attempts: 3\n  max_attempts: 4\n");
    expect(found).toHaveLength(1);
    expect(found[0]?.path).toMatch(/^line 3, column \d+$/);
  });

  it("refuses a file that is not a map of sections", () => {
    expect(lines("- telegram\n- alerting\n")).toEqual([
      "(top level): expected a map of sections, like telegram:, alerting:, ...",
    ]);
  });

  it("refuses a budget name given twice, pointing at the second", () => {
    expect(
      lines(`
cost_management:
  budgets:
    - { name: daily, limit: 100 tokens }
    - { name: daily, limit: 200 tokens }
`),
    ).toEqual(["cost_management.budgets[1].name: the same name as item 0; each must be different"]);
  });

  it("refuses a budget whose window contradicts its reset", () => {
    expect(
      lines(`
cost_management:
  budgets:
    - { name: m, limit: 100 tokens, reset: 1st of month, window: daily }
`),
    ).toEqual(["cost_management.budgets[0].window: disagrees with reset (which means monthly)"]);
  });

  it("refuses a trigger in the wrong unit", () => {
    expect(lines(`degradation:\n  triggers:\n    - latency: "> 5% p99"\n`)).toEqual([
      'degradation.triggers[0].latency: expected a comparison like "> 5s p99"',
    ]);
  });

  it("refuses a check that says nothing to check, or two things", () => {
    expect(
      lines(`
checks:
  - name: a
    interval: 30s
  - name: b
    http: https://x.example.com/health
    tcp: x.example.com:443
`),
    ).toEqual([
      "checks[0]: say what to check: one of http, tcp, postgres, redis, disk, memory, command (like http: https://api.example.com/health)",
      "checks[1].tcp: give one of http, tcp, not several (one check each)",
    ]);
  });

  it("refuses a tool both auto-approved and requiring approval", () => {
    expect(
      lines(`
security:
  tool_approval:
    auto_approve: [read_file, exec_command]
    require_approval: [exec_command]
`),
    ).toEqual([
      "security.tool_approval.require_approval[0]: this tool is also in auto_approve; keep it in one list",
    ]);
  });
});

describe("telegram section", () => {
  it("requires operators when the section is present, and says how to run without Telegram", () => {
    expect(lines("telegram:\n  mode: polling\n")).toEqual([
      "telegram.operators: required: list who may use the bot, like [{ id: 123456789, role: admin }] (or remove the telegram section to run without Telegram)",
    ]);
  });

  it("treats an empty telegram: as present (and so needing operators)", () => {
    expect(lines("telegram:\n")[0]).toMatch(/^telegram\.operators: required/);
  });

  it("requires webhook settings in webhook mode", () => {
    expect(lines("telegram:\n  operators: [{ id: 1, role: admin }]\n  mode: webhook\n")).toEqual([
      "telegram.webhook: required when mode is webhook: { url: https://..., secret_token: ... }",
    ]);
  });

  it("refuses a webhook over plain HTTP", () => {
    expect(
      lines(`
telegram:
  operators: [{ id: 1, role: admin }]
  mode: webhook
  webhook: { url: "http://bot.example.com/hook", secret_token: abc }
`),
    ).toEqual([
      "telegram.webhook.url: expected a URL like https://bot.example.com/telegram (Telegram calls HTTPS only)",
    ]);
  });

  it("refuses an operator listed twice", () => {
    expect(lines("telegram:\n  operators: [{ id: 1, role: admin }, { id: 1, role: viewer }]\n")).toEqual([
      "telegram.operators[1].id: the same id as item 0; each must be different",
    ]);
  });
});

describe("cross-section checks", () => {
  it("refuses approvals.default_level and security.permission_model.default that disagree", () => {
    expect(
      lines(`
approvals: { default_level: read_only }
security: { permission_model: { default: limited } }
`),
    ).toEqual(["approvals.default_level: disagrees with security.permission_model.default; set one of them"]);
  });

  it("refuses an agent at a level the permission model does not list", () => {
    expect(
      lines(`
agents: { coder: unrestricted }
security: { permission_model: { levels: [none, read_only, limited] } }
`),
    ).toEqual(["agents.coder: is not one of security.permission_model.levels"]);
  });

  it("refuses a digest by email without SMTP settings", () => {
    expect(lines("digest: { email: true }\n")).toEqual([
      "digest.email: needs alerting.email (smtp_url, from) to send mail",
    ]);
  });

  it("refuses a remote console without a password", () => {
    expect(lines("console: { allow_remote: true }\n")).toEqual([
      "console.password: required when allow_remote is true (anyone who reaches the port would act as an admin)",
    ]);
  });

  it("refuses two different usage retentions", () => {
    expect(
      lines(`
retention: { usage_events: 14d }
cost_management: { tracking: { local_retention: 7 days } }
`),
    ).toEqual([
      "retention.usage_events: disagrees with cost_management.tracking.local_retention; set one of them",
    ]);
  });
});

describe('an unquoted value beginning with ">"', () => {
  it("is found in the report's list form and the fix is spelled out", () => {
    expect(
      lines(`
degradation:
  triggers:
    - latency: > 5s p99
    - error_rate: > 5% errors
    - memory: < 256MB memory
  recovery: 5 minutes
`),
    ).toEqual([
      'degradation.triggers[0].latency: a value beginning with ">" must be quoted in YAML: write latency: "> 5s p99"',
      'degradation.triggers[1].error_rate: a value beginning with ">" must be quoted in YAML: write error_rate: "> 5% errors"',
    ]);
  });

  it("is found in a block map, ignoring a trailing comment", () => {
    expect(lines("alerting:\n  thresholds:\n    latency_p99: > 10s   # p99\n")).toEqual([
      'alerting.thresholds.latency_p99: a value beginning with ">" must be quoted in YAML: write latency_p99: "> 10s"',
    ]);
  });

  it("is found in a one-line flow map", () => {
    expect(lines('alerting:\n  thresholds: { error_rate: > 5%, disk: "> 95%" }\n')).toEqual([
      'alerting.thresholds.error_rate: a value beginning with ">" must be quoted in YAML: write error_rate: "> 5%"',
    ]);
  });

  it("is reported together with the file's other errors", () => {
    expect(lines("degradation:\n  triggers:\n    - latency: > 5s p99\n  recovery: later\n")).toEqual([
      'degradation.triggers[0].latency: a value beginning with ">" must be quoted in YAML: write latency: "> 5s p99"',
      "degradation.recovery: expected a duration like 15m",
    ]);
  });

  it("is not looked for inside a literal block of a file that parses", () => {
    const result = parseConfig(
      `
security:
  tool_approval:
    argument_rules:
      - tool: exec_command
        contains: "rm -rf"
        reason: |
          latency: > 5s is what the report says
`,
      {},
    );
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.config.security.tool_approval.argument_rules[0]?.reason).toBe(
        "latency: > 5s is what the report says",
      );
    }
  });

  it("leaves a real folded block scalar alone", () => {
    const result = parseConfig(
      `
security:
  tool_approval:
    argument_rules:
      - tool: exec_command
        contains: "rm -rf"
        action: deny
        reason: >
          wiping directories is never
          approved from chat
`,
      {},
    );
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.config.security.tool_approval.argument_rules[0]?.reason).toBe(
        "wiping directories is never approved from chat",
      );
    }
  });
});
