import { describe, expect, it } from "vitest";
import { type Config, formatIssues, parseConfig } from "../../src/config/index.ts";

const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

function accept(yaml: string, env: NodeJS.ProcessEnv = {}): { config: Config; notes: string[] } {
  const result = parseConfig(yaml, env);
  if (!result.ok) throw new Error(`expected the config to be accepted, got:\n${formatIssues(result.errors)}`);
  return { config: result.config, notes: result.notes };
}

describe("defaults (an empty file)", () => {
  const { config, notes } = accept("");

  it("has no telegram section: API-only / console mode", () => {
    expect(config.telegram).toBeNull();
  });

  it("uses the report's alerting numbers", () => {
    expect(config.alerting.suppression).toEqual({ deduplication_window: HOUR, escalation_delay: 15 * MIN });
    expect(config.alerting.grouping).toEqual({
      group_by: ["alertname"],
      group_wait: 2 * SEC,
      group_interval: MIN,
    });
    expect(config.alerting.escalation).toEqual({
      min_severity: "critical",
      chain: ["chat", "email", "pagerduty"],
      repeat: 30 * MIN,
    });
    expect(config.alerting.inhibition).toEqual([
      {
        source_severity: "critical",
        target_severity: "warning",
        source_match: {},
        target_match: {},
        equal: ["alertname"],
      },
    ]);
    expect(config.alerting.thresholds).toEqual({
      error_rate: { op: ">", value: 0.05, unit: "ratio", metric: null },
      latency_p99: { op: ">", value: 10 * SEC, unit: "ms", metric: null },
      memory: { op: ">", value: 0.8, unit: "ratio", metric: null },
      disk: { op: ">", value: 0.9, unit: "ratio", metric: null },
    });
    expect(config.alerting.email).toBeNull();
    expect(config.alerting.pagerduty).toBeNull();
  });

  it("uses DESIGN.md's approval, API and retention defaults", () => {
    expect(config.approvals).toEqual({
      timeout: 5 * MIN,
      default_level: "limited",
      always_allow_ttl: 24 * HOUR,
      group_wait: 2 * SEC,
    });
    expect(config.api).toEqual({
      keys: [],
      key_rate_limit: null,
      failed_auth_limit: { count: 10, per_ms: MIN },
      trust_proxy: false,
    });
    expect(config.retention).toEqual({
      usage_events: 7 * DAY,
      hourly_usage: 400 * DAY,
      resolved_alerts: 30 * DAY,
      audit: 365 * DAY,
    });
    expect(config.console).toEqual({ enabled: "auto", allow_remote: false, password: null });
    expect(config.server).toEqual({});
    expect(config.digest).toEqual({ enabled: true, schedule: "0 9 * * *", timezone: "UTC", email: [] });
    expect(config.tool_aliases).toEqual({
      Bash: "exec_command",
      Write: "write_file",
      Edit: "write_file",
      Read: "read_file",
      WebFetch: "http_get",
    });
  });

  it("has the two budgets of DESIGN.md", () => {
    expect(config.cost_management.budgets).toEqual([
      {
        name: "daily_limit",
        limit: 100_000,
        unit: "tokens",
        scope: "per_provider",
        alert_threshold: [0.8],
        action: ["switch_provider", "alert"],
        window: "daily",
      },
      {
        name: "monthly_limit",
        limit: 3_000_000,
        unit: "tokens",
        scope: "global",
        alert_threshold: [0.8],
        action: ["alert"],
        window: "monthly",
      },
    ]);
    expect(config.cost_management.spike).toEqual({ enabled: true, window: 5 * MIN, factor: 10 });
  });

  it("uses the report's breaker, retry, degradation and safety numbers", () => {
    expect(config.circuit_breaker).toEqual({
      failure_threshold: 3,
      timeout: { initialMs: 15 * MIN, maxMs: 60 * MIN },
      half_open_requests: 1,
      probe_interval: 5 * MIN,
      open_severity: "warning",
      breakers: [],
    });
    expect(config.retry).toMatchObject({ max_attempts: 3, initial_delay: SEC, max_delay: 60 * SEC });
    expect(config.degradation.triggers.latency?.value).toBe(5 * SEC);
    expect(config.degradation.triggers.error_rate?.value).toBe(0.05);
    expect(config.degradation.triggers.memory?.value).toBe(256 * 1024 * 1024);
    expect(config.degradation.recovery).toBe(5 * MIN);
    expect(config.safety.input).toEqual({
      max_length: 10_000,
      filter_prompts: ["system:", "sudo:", "rm -rf"],
      validate_json: true,
    });
    expect(config.safety.output.rate_limit_per_user).toEqual({ count: 100, per_ms: HOUR });
    expect(config.security.tool_approval.require_approval).toEqual([
      "delete_file",
      "exec_command",
      "http_post",
    ]);
  });

  it("has nothing to note", () => {
    expect(notes).toEqual([]);
  });

  it("reads an empty section as that section's defaults", () => {
    const { config: withEmpty } = accept("retry:\nalerting:\n  suppression:\nchecks:\n");
    expect(withEmpty.retry).toEqual(config.retry);
    expect(withEmpty.alerting.suppression).toEqual(config.alerting.suppression);
    expect(withEmpty.checks).toEqual([]);
  });
});

describe("telegram chats", () => {
  const operators = "  operators: [{ id: 42, role: approver }, { id: 7, role: admin }]\n";

  it("send approvals, digest and escalation to the alerts chat when they are not set", () => {
    const { config } = accept(`telegram:\n${operators}  chats: { alerts: -1001 }\n`);
    const alerts = { id: -1001, thread: null };
    expect(config.telegram?.chats).toEqual({ alerts, approvals: alerts, digest: alerts, escalation: alerts });
  });

  it("keep the ones that are set, including forum topics", () => {
    const { config } = accept(
      `telegram:\n${operators}  chats: { alerts: "-1001", approvals: { id: -1002, thread: 5 }, digest: "@pitwall_digest" }\n`,
    );
    expect(config.telegram?.chats).toEqual({
      alerts: { id: -1001, thread: null },
      approvals: { id: -1002, thread: 5 },
      digest: { id: "@pitwall_digest", thread: null },
      escalation: { id: -1001, thread: null },
    });
  });

  it("send alerts to the first admin's private chat when no chat is set, with a note", () => {
    const { config, notes } = accept(`telegram:\n${operators}`);
    expect(config.telegram?.chats.alerts).toEqual({ id: 7, thread: null });
    expect(config.telegram?.chats.escalation).toEqual({ id: 7, thread: null });
    expect(notes).toContain(
      "telegram.chats.alerts: not set; alerts go to operator 7 in a private chat with the bot",
    );
  });

  it("default an operator's role to viewer and the API root and mode to Telegram's", () => {
    const { config } = accept("telegram:\n  operators: [{ id: 5 }]\n");
    expect(config.telegram?.operators).toEqual([{ id: 5, role: "viewer" }]);
    expect(config.telegram?.api_root).toBe("https://api.telegram.org");
    expect(config.telegram?.mode).toBe("polling");
    expect(config.telegram?.quiet_hours).toBeNull();
  });

  it("give quiet hours the digest's time zone when they name none", () => {
    const { config } = accept(
      `telegram:\n${operators}  quiet_hours: { from: "23:00", to: "7:00" }\ndigest: { timezone: Europe/Berlin }\n`,
    );
    expect(config.telegram?.quiet_hours).toEqual({ from: "23:00", to: "07:00", timezone: "Europe/Berlin" });
  });
});

describe("defaults that come from another section", () => {
  it("checks take interval, timeout and threshold from health_checks", () => {
    const { config } = accept(`
health_checks:
  liveness: { interval: 1m, timeout: 20s, failure_threshold: 5 }
checks:
  - { name: api, http: https://api.example.com/health }
  - { name: db, tcp: db:5432, probe: readiness }
  - { name: api2, http: https://api2.example.com/health, interval: 15s }
`);
    expect(
      config.checks.map((check) => [
        check.name,
        check.type,
        check.interval,
        check.timeout,
        check.failure_threshold,
      ]),
    ).toEqual([
      ["api", "http", MIN, 20 * SEC, 5],
      ["db", "tcp", 10 * SEC, 5 * SEC, 3],
      ["api2", "http", 15 * SEC, 20 * SEC, 5],
    ]);
  });

  it("disk and memory checks fail at alerting.thresholds unless they say otherwise", () => {
    const { config } = accept(`
alerting: { thresholds: { disk: "> 95%" } }
checks:
  - { name: disk, disk: /var }
  - { name: mem, memory: true }
  - { name: mem2, memory: process, threshold: "> 1GB" }
`);
    expect(config.checks.map((check) => check.threshold?.value)).toEqual([0.95, 0.8, 1024 ** 3]);
  });

  it("security.permission_model.default sets approvals.default_level", () => {
    const { config } = accept("security: { permission_model: { default: read_only } }\n");
    expect(config.approvals.default_level).toBe("read_only");
    expect(config.security.permission_model.default).toBe("read_only");
  });

  it("tool aliases and thresholds add to the defaults; null removes one", () => {
    const { config } = accept(`
tool_aliases: { Glob: list_files, WebFetch: null }
alerting: { thresholds: { disk: null, queue_depth: "> 1000" } }
`);
    expect(config.tool_aliases).toEqual({
      Bash: "exec_command",
      Write: "write_file",
      Edit: "write_file",
      Read: "read_file",
      Glob: "list_files",
    });
    expect(Object.keys(config.alerting.thresholds)).toEqual([
      "error_rate",
      "latency_p99",
      "memory",
      "queue_depth",
    ]);
  });

  it("a digest by email goes to alerting.email.to when it says true", () => {
    const { config } = accept(`
alerting:
  email: { smtp_url: "smtp://mail:25", from: pitwall@example.com, to: [a@example.com, b@example.com] }
digest: { email: true }
`);
    expect(config.digest.email).toEqual(["a@example.com", "b@example.com"]);
  });

  it("API keys without scopes get everything but admin, and any agent", () => {
    const { config } = accept('api: { keys: [{ name: ci, key: "0123456789abcdef" }] }\n');
    expect(config.api.keys).toEqual([
      { name: "ci", key: "0123456789abcdef", scopes: ["alerts", "approvals", "usage", "breakers", "read"] },
    ]);
  });

  it("a budget with reset: 1st of month is monthly, without it daily", () => {
    const { config } = accept(`
cost_management:
  budgets:
    - { name: a, limit: 10 tokens, reset: 1st of month }
    - { name: b, limit: 10 tokens }
    - { name: c, limit: 10 tokens, window: monthly }
`);
    expect(config.cost_management.budgets.map((budget) => budget.window)).toEqual([
      "monthly",
      "daily",
      "monthly",
    ]);
  });
});
