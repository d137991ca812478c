/**
 * The report's YAML blocks, pasted the way the report prints them, must be accepted and read with
 * DESIGN.md's rules. Values that begin with ">" are quoted: YAML needs that (see errors.test.ts for
 * what check-config says about the unquoted form).
 */
import { describe, expect, it } from "vitest";
import { type Config, formatIssues, parseConfig } from "../../src/config/index.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const MB = 1024 * 1024;

function accept(yaml: string): { config: Config; notes: string[] } {
  const result = parseConfig(yaml, {});
  if (!result.ok) throw new Error(`expected the block to be accepted, got:\n${formatIssues(result.errors)}`);
  return { config: result.config, notes: result.notes };
}

describe("the report's blocks as printed", () => {
  it("circuit_breaker: 3-5 failures -> 3, 15-60 minutes -> 15 min initial / 60 min cap", () => {
    const { config } = accept(`
circuit_breaker:
  failure_threshold: 3-5 consecutive failures
  timeout: 15-60 minutes
  half_open_requests: 1
  probe_interval: every 5 minutes
`);
    expect(config.circuit_breaker).toMatchObject({
      failure_threshold: 3,
      timeout: { initialMs: 15 * MIN, maxMs: 60 * MIN },
      half_open_requests: 1,
      probe_interval: 5 * MIN,
      breakers: [],
    });
  });

  it("circuit_breaker with a services list: each service gets the section's numbers", () => {
    const { config } = accept(`
circuit_breaker:
  failure_threshold: 5 consecutive failures
  timeout: 15-60 minutes
  services:
    - name: openai
      probe_url: https://api.openai.com/v1/models
    - anthropic
`);
    expect(config.circuit_breaker.breakers).toEqual([
      {
        name: "openai",
        probe_url: "https://api.openai.com/v1/models",
        failure_threshold: 5,
        timeout: { initialMs: 15 * MIN, maxMs: 60 * MIN },
        probe_interval: 5 * MIN,
      },
      {
        name: "anthropic",
        probe_url: null,
        failure_threshold: 5,
        timeout: { initialMs: 15 * MIN, maxMs: 60 * MIN },
        probe_interval: 5 * MIN,
      },
    ]);
  });

  it("retry: 3 attempts, exponential, 1s to 60s", () => {
    const { config } = accept(`
retry:
  max_attempts: 3
  backoff: exponential
  initial_delay: 1s
  max_delay: 60s
`);
    expect(config.retry).toEqual({
      max_attempts: 3,
      backoff: "exponential",
      initial_delay: 1000,
      max_delay: 60_000,
      multiplier: 2,
      jitter: true,
    });
  });

  it("health_checks: liveness 30s/10s/3, readiness 10s/5s/3", () => {
    const { config } = accept(`
health_checks:
  liveness:
    endpoint: /health
    interval: 30s
    timeout: 10s
    failure_threshold: 3
  readiness:
    endpoint: /ready
    interval: 10s
    timeout: 5s
    failure_threshold: 3 consecutive failures
    dependencies: [database, llm_provider, vector_store]
`);
    expect(config.health_checks.liveness).toMatchObject({
      interval: 30_000,
      timeout: 10_000,
      failure_threshold: 3,
    });
    expect(config.health_checks.readiness).toMatchObject({
      interval: 10_000,
      timeout: 5000,
      failure_threshold: 3,
      dependencies: ["database", "llm_provider", "vector_store"],
    });
  });

  it("degradation: triggers as a list of one-key maps become comparisons; modes with descriptions", () => {
    const { config } = accept(`
degradation:
  triggers:
    - latency: "> 5s p99"
    - error_rate: "> 5% errors"
    - memory: "< 256MB memory"
  modes:
    - FULL: all features
    - DEGRADED: cached responses, simpler models
    - MINIMAL: essential operations only
    - MAINTENANCE: read-only
  recovery: 5 minutes
`);
    expect(config.degradation).toEqual({
      triggers: {
        latency: { op: ">", value: 5000, unit: "ms", metric: "p99" },
        error_rate: { op: ">", value: 0.05, unit: "ratio", metric: "errors" },
        memory: { op: "<", value: 256 * MB, unit: "bytes", metric: "memory" },
      },
      modes: ["FULL", "DEGRADED", "MINIMAL", "MAINTENANCE"],
      recovery: 5 * MIN,
    });
  });

  it("degradation: triggers as a plain map read the same as the list form", () => {
    const list = accept(`
degradation:
  triggers:
    - latency: "> 5s p99"
    - error_rate: "> 5% errors"
`).config.degradation.triggers;
    const map = accept(`
degradation:
  triggers: { latency: "> 5s p99", error_rate: "> 5% errors" }
`).config.degradation.triggers;
    expect(map).toEqual(list);
    // Giving triggers replaces the default set: memory is not watched here.
    expect(map.memory).toBeNull();
  });

  it("cost_management: budgets in the report's list form", () => {
    const { config } = accept(`
cost_management:
  budgets:
    - name: daily_limit
      limit: 100000 tokens
      scope: per_provider
      alert_threshold: 80%
      action: switch_provider or alert
    - name: monthly_limit
      limit: 3000000 tokens
      scope: global
      reset: 1st of month
    - { name: spend, limit: $50, scope: per_agent, alert_threshold: [50%, 80%, 95%], action: block }
  tracking:
    granularity: per_request
    local_retention: 7 days
`);
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
      {
        name: "spend",
        limit: 50,
        unit: "usd",
        scope: "per_agent",
        alert_threshold: [0.5, 0.8, 0.95],
        action: ["block"],
        window: "daily",
      },
    ]);
    expect(config.cost_management.tracking).toEqual({ granularity: "per_request", local_retention: 7 * DAY });
    expect(config.retention.usage_events).toBe(7 * DAY);
  });

  it("cost_management: DESIGN.md's flow-style budgets and prices", () => {
    const { config } = accept(`
cost_management:
  budgets:
    - { name: daily_limit, limit: 100000 tokens, scope: per_provider, alert_threshold: 80%, action: switch_provider or alert }
    - { name: monthly_limit, limit: 3000000 tokens, scope: global, reset: 1st of month }
  prices: { "gpt-4": { input_per_1k: 0.03, output_per_1k: 0.06 } }   # USD, used when cost_usd is not sent
`);
    expect(
      config.cost_management.budgets.map((budget) => [budget.name, budget.limit, budget.window]),
    ).toEqual([
      ["daily_limit", 100_000, "daily"],
      ["monthly_limit", 3_000_000, "monthly"],
    ]);
    expect(config.cost_management.prices["gpt-4"]).toEqual({ input_per_1k: 0.03, output_per_1k: 0.06 });
  });

  it("routing: providers, complexity tiers and failover", () => {
    const { config } = accept(`
routing:
  strategy: latency_aware
  providers:
    - name: openai
      models: [gpt-4, gpt-3.5-turbo]
      priority: 1
    - name: anthropic
      models: [claude-3-opus, claude-3-sonnet]
      priority: 2
    - name: local
      model: llama3
  complexity_thresholds:
    high: gpt-4
    medium: claude-3-sonnet
    low: 0.3
  failover:
    on_error: next_provider
    on_timeout: next_provider
    on_rate_limit: wait or next_provider
`);
    expect(config.routing.strategy).toBe("latency_aware");
    expect(
      config.routing.providers.map((provider) => [provider.name, provider.models, provider.priority]),
    ).toEqual([
      ["openai", ["gpt-4", "gpt-3.5-turbo"], 1],
      ["anthropic", ["claude-3-opus", "claude-3-sonnet"], 2],
      ["local", ["llama3"], 3],
    ]);
    expect(config.routing.complexity_thresholds).toEqual({
      high: { models: ["gpt-4"], min_score: null },
      medium: { models: ["claude-3-sonnet"], min_score: null },
      low: { models: [], min_score: 0.3 },
    });
    expect(config.routing.failover).toEqual({
      on_error: ["next_provider"],
      on_timeout: ["next_provider"],
      on_rate_limit: ["wait", "next_provider"],
    });
  });

  it("security: permission levels and tool approval", () => {
    const { config } = accept(`
security:
  permission_model:
    levels: [none, read_only, limited, unrestricted]
    default: limited
  tool_approval:
    auto_approve: [read_file, http_get]
    require_approval: [delete_file, exec_command, http_post]
    human_approval_channel: telegram
`);
    expect(config.security.permission_model.levels.map((level) => level.name)).toEqual([
      "none",
      "read_only",
      "limited",
      "unrestricted",
    ]);
    expect(config.security.permission_model.default).toBe("limited");
    expect(config.approvals.default_level).toBe("limited");
    expect(config.security.tool_approval).toEqual({
      auto_approve: ["read_file", "http_get"],
      require_approval: ["delete_file", "exec_command", "http_post"],
      human_approval_channel: "telegram",
      argument_rules: [],
    });
  });

  it("security: levels written as one-key maps define each level's tools", () => {
    const { config } = accept(`
security:
  permission_model:
    levels:
      - none: no tool access
      - read_only: [read_file, search]
      - limited: { tools: [read_file, write_file], description: writes need a human }
      - unrestricted: all tools
`);
    expect(config.security.permission_model.levels).toEqual([
      { name: "none", tools: [], description: "no tool access" },
      { name: "read_only", tools: ["read_file", "search"], description: null },
      { name: "limited", tools: ["read_file", "write_file"], description: "writes need a human" },
      { name: "unrestricted", tools: "*", description: null },
    ]);
  });

  it("safety: lists of one-key maps equal plain maps", () => {
    const listed = accept(`
safety:
  input:
    - max_length: 10000 tokens
    - filter_prompts: ["system:", "sudo:", "rm -rf"]
    - validate_json: true
  output:
    - filter_sensitive: [api_key, password, token, secret]
    - rate_limit_per_user: 100 requests/hour
`).config.safety;
    const mapped = accept(`
safety:
  input: { max_length: 10000 tokens, filter_prompts: ["system:", "sudo:", "rm -rf"], validate_json: true }
  output: { filter_sensitive: [api_key, password, token, secret], rate_limit_per_user: 100 requests/hour }
`).config.safety;
    expect(listed).toEqual(mapped);
    expect(listed).toEqual({
      input: { max_length: 10_000, filter_prompts: ["system:", "sudo:", "rm -rf"], validate_json: true },
      output: {
        filter_sensitive: ["api_key", "password", "token", "secret"],
        rate_limit_per_user: { count: 100, per_ms: HOUR },
      },
    });
  });

  it("alerting: the report's suppression keys, thresholds and channels", () => {
    const { config, notes } = accept(`
alerting:
  channels: [slack, pagerduty, email]
  thresholds:
    error_rate: "> 5%"
    latency_p99: "> 10s"
  suppression:
    deduplication_window: 1 hour
    escalation_delay: 15 minutes
`);
    expect(config.alerting.suppression).toEqual({ deduplication_window: HOUR, escalation_delay: 15 * MIN });
    expect(config.alerting.thresholds.error_rate).toEqual({
      op: ">",
      value: 0.05,
      unit: "ratio",
      metric: null,
    });
    expect(config.alerting.thresholds.latency_p99).toEqual({
      op: ">",
      value: 10_000,
      unit: "ms",
      metric: null,
    });
    expect(config.alerting.channels).toEqual(["pagerduty", "email"]);
    expect(notes).toContain(
      "alerting.channels: pitwall delivers to Telegram, email and PagerDuty; slack not delivered",
    );
  });

  it("infrastructure blocks are accepted and listed as information", () => {
    const { config, notes } = accept(`
caching:
  strategy: semantic
  ttl: 1 hour
  similarity_threshold: 0.95
secrets:
  provider: vault
  rotation: 30 days
logging:
  format: json
  level: INFO
  fields: [timestamp, level, trace_id, span_id, agent_id, message, metadata]
metrics:
  - latency_p50
  - latency_p99
  - token_usage
orchestration:
  queue: redis
  persistence: postgresql
  pubsub: redis
scaling:
  min_instances: 1
  max_instances: 10
  lock: redis
  agent_instances: stateless workers
deployment:
  regions: [us-east-1, eu-west-1]
  strategy: blue_green
`);
    expect(config.caching).toMatchObject({ strategy: "semantic", ttl: HOUR, similarity_threshold: 0.95 });
    expect(config.secrets).toMatchObject({ rotation: 30 * DAY });
    expect(config.scaling).toMatchObject({
      min_instances: 1,
      max_instances: 10,
      agent_instances: "stateless workers",
    });
    expect(notes.map((note) => note.split(":")[0])).toEqual([
      "caching",
      "secrets",
      "logging",
      "metrics",
      "orchestration",
      "scaling",
      "deployment",
    ]);
    expect(notes.find((note) => note.startsWith("deployment:"))).toContain("2 region(s)");
    expect(notes.find((note) => note.startsWith("scaling:"))).toContain("scaling.agent_instances");
  });

  it("the infrastructure blocks are still checked: a bad duration inside one is an error", () => {
    const result = parseConfig("caching:\n  ttl: a while\n", {});
    expect(result.ok).toBe(false);
    if (!result.ok) expect(formatIssues(result.errors)).toBe("caching.ttl: expected a duration like 15m");
  });
});
