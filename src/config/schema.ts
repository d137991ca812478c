/**
 * The schema of pitwall.yaml: pitwall's own sections and the report's blocks, read as printed.
 * The parsed config keeps the YAML's snake_case keys; durations are milliseconds, ratios 0..1,
 * sizes bytes, rates {count, perMs}, comparisons {op, value, unit, metric}.
 */
import { z } from "zod";
import {
  isPlainObject,
  mapOrListOfMaps,
  section,
  sectionOf,
  uniqueBy,
  zBool,
  zEmailAddress,
  zEmailList,
  zEnum,
  zInt,
  zLabelValue,
  zName,
  zNumber,
  zRegex,
  zSecret,
  zStringList,
  zText,
  zUrl,
} from "./fields.ts";
import {
  type Comparison,
  parseActionChain,
  parseComparison,
  parseCount,
  parseRatio,
  UnitError,
  unitSchema,
  zActionChain,
  zBudgetLimit,
  zClockTime,
  zComparison,
  zCron,
  zDuration,
  zDurationRange,
  zMoney,
  zRate,
  zRatio,
  zTimeZone,
} from "./units.ts";

export const PERMISSION_LEVELS = ["none", "read_only", "limited", "unrestricted"] as const;
export type PermissionLevel = (typeof PERMISSION_LEVELS)[number];
export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];
export const OPERATOR_ROLES = ["viewer", "approver", "admin"] as const;
export type OperatorRole = (typeof OPERATOR_ROLES)[number];
export const API_SCOPES = ["alerts", "approvals", "usage", "breakers", "read", "admin", "all"] as const;
export type ApiScope = (typeof API_SCOPES)[number];
/** What a key from the config may do when it names no scopes: everything an agent needs, not admin. */
export const DEFAULT_KEY_SCOPES: ApiScope[] = ["alerts", "approvals", "usage", "breakers", "read"];
export const MODES = ["FULL", "DEGRADED", "MINIMAL", "MAINTENANCE"] as const;
export type Mode = (typeof MODES)[number];
export const BUDGET_ACTIONS = ["alert", "switch_provider", "block"] as const;
export type BudgetAction = (typeof BUDGET_ACTIONS)[number];
export const BUDGET_SCOPES = ["global", "per_provider", "per_agent", "per_model"] as const;
export const FAILOVER_ACTIONS = ["next_provider", "retry", "wait", "fail"] as const;
export type FailoverAction = (typeof FAILOVER_ACTIONS)[number];
export const ESCALATION_STEPS = ["chat", "email", "pagerduty"] as const;
export type EscalationStep = (typeof ESCALATION_STEPS)[number];
export const CHECK_TYPES = ["http", "tcp", "postgres", "redis", "disk", "memory", "command"] as const;
export type CheckType = (typeof CHECK_TYPES)[number];
export const INFORMATIONAL_SECTIONS = [
  "caching",
  "secrets",
  "logging",
  "metrics",
  "orchestration",
  "scaling",
  "deployment",
] as const;

export const DEFAULT_TOOL_ALIASES: Readonly<Record<string, string>> = {
  Bash: "exec_command",
  Write: "write_file",
  Edit: "write_file",
  Read: "read_file",
  WebFetch: "http_get",
};

/** Tools each permission level may request at all (`*`: any); what needs a human is tool_approval's. */
export const DEFAULT_LEVEL_TOOLS: Readonly<Record<PermissionLevel, string[] | "*">> = {
  none: [],
  read_only: ["read_file", "http_get"],
  limited: "*",
  unrestricted: "*",
};

export const DEFAULT_ALERT_THRESHOLDS: Readonly<Record<string, Comparison>> = {
  error_rate: parseComparison("> 5%"),
  latency_p99: parseComparison("> 10s"),
  memory: parseComparison("> 80%"),
  disk: parseComparison("> 90%"),
};

const DEFAULT_BUDGETS = [
  {
    name: "daily_limit",
    limit: "100000 tokens",
    scope: "per_provider",
    alert_threshold: "80%",
    action: "switch_provider or alert",
  },
  { name: "monthly_limit", limit: "3000000 tokens", scope: "global", reset: "1st of month" },
];

const zPositiveCount = unitSchema((input): number => {
  const count = parseCount(input);
  if (count < 1) throw new UnitError("expected a count of at least 1");
  return count;
}, "a count of at least 1");

const zPositiveDuration = zDuration.refine((value) => value > 0, "must be longer than 0");

// ---- telegram ---------------------------------------------------------------------------------

export interface ChatRef {
  /** A numeric chat id, or `@channelname`. */
  id: number | string;
  /** A forum topic (message_thread_id), or null. */
  thread: number | null;
}

function parseChatId(input: unknown): number | string {
  if (typeof input === "number" && Number.isSafeInteger(input)) return input;
  if (typeof input === "string") {
    const text = input.trim();
    if (/^-?\d+$/.test(text)) return Number(text);
    if (/^@[A-Za-z][A-Za-z0-9_]{3,}$/.test(text)) return text;
  }
  throw new UnitError("expected a chat id like -1001234567890 (or @channelname), or { id, thread }");
}

const zChat = unitSchema((input): ChatRef => {
  if (isPlainObject(input)) {
    const { id, thread, ...rest } = input;
    if (Object.keys(rest).length > 0) throw new UnitError("a chat is { id, thread }; nothing else");
    let threadId: number | null = null;
    if (thread !== undefined && thread !== null) {
      if (typeof thread === "string" && /^\d+$/.test(thread.trim())) threadId = Number(thread);
      else if (typeof thread === "number" && Number.isSafeInteger(thread) && thread > 0) threadId = thread;
      else throw new UnitError("thread is a forum topic id, a whole number");
    }
    return { id: parseChatId(id), thread: threadId };
  }
  return { id: parseChatId(input), thread: null };
}, "a chat id like -1001234567890");

const operatorSchema = z.strictObject({
  id: zInt(1),
  role: zEnum(OPERATOR_ROLES).default("viewer"),
  name: zText.optional(),
  language: unitSchema((input): string => {
    if (typeof input !== "string" || !/^[a-z]{2,3}([-_][A-Za-z]{2,4})?$/.test(input.trim())) {
      throw new UnitError("expected a language code like en or ru");
    }
    return input.trim();
  }, "a language code").optional(),
});

const telegramSchema = z.preprocess(
  (value) => (value === null ? {} : value),
  z
    .strictObject({
      operators: z
        .array(operatorSchema, {
          error: (issue) =>
            issue.input === undefined
              ? "required: list who may use the bot, like [{ id: 123456789, role: admin }] (or remove the telegram section to run without Telegram)"
              : "expected a list of operators, like [{ id: 123456789, role: admin }]",
        })
        .min(1, "list at least one operator, like [{ id: 123456789, role: admin }]")
        .superRefine((operators, ctx) => uniqueBy(operators, (operator) => String(operator.id), "id", ctx)),
      chats: section({
        alerts: zChat.optional(),
        approvals: zChat.optional(),
        digest: zChat.optional(),
        escalation: zChat.optional(),
      }),
      quiet_hours: z
        .strictObject({ from: zClockTime, to: zClockTime, timezone: zTimeZone.optional() })
        .refine((hours) => hours.from !== hours.to, {
          message: "from and to are the same time",
          path: ["to"],
        })
        .nullable()
        .default(null),
      api_root: zUrl(["http", "https"], "https://api.telegram.org")
        .transform((url) => url.replace(/\/+$/, ""))
        .prefault("https://api.telegram.org"),
      mode: zEnum(["polling", "webhook"]).default("polling"),
      webhook: z
        .strictObject({
          url: zUrl(["https"], "https://bot.example.com/telegram (Telegram calls HTTPS only)"),
          secret_token: unitSchema((input): string => {
            if (typeof input !== "string" || !/^[A-Za-z0-9_-]{1,256}$/.test(input)) {
              throw new UnitError("expected 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)");
            }
            return input;
          }, "a secret token"),
        })
        .nullable()
        .default(null),
    })
    .superRefine((telegram, ctx) => {
      if (telegram.mode === "webhook" && telegram.webhook === null) {
        ctx.addIssue({
          code: "custom",
          message: "required when mode is webhook: { url: https://..., secret_token: ... }",
          path: ["webhook"],
        });
      }
    }),
);

const zKeyName = unitSchema((input): string => {
  if (typeof input !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/.test(input.trim())) {
    throw new UnitError("expected a name of letters, digits, . _ @ - (at most 64 characters)");
  }
  return input.trim();
}, "a key name");

// ---- api --------------------------------------------------------------------------------------

const apiSchema = section({
  keys: z
    .preprocess(
      (value) => (value === null ? [] : value),
      z.array(
        z.strictObject({
          name: zKeyName,
          key: zSecret(16, " (make one with: openssl rand -hex 24)"),
          scopes: unitSchema(
            (input) => parseActionChain(input, API_SCOPES),
            `scopes from ${API_SCOPES.join(", ")}`,
          ).prefault(DEFAULT_KEY_SCOPES),
          /** Agent names the key may act for; absent: any agent. */
          agents: zStringList.optional(),
        }),
      ),
    )
    .superRefine((keys, ctx) => {
      uniqueBy(keys, (key) => key.name, "name", ctx);
      uniqueBy(keys, (key) => key.key, "key", ctx);
    })
    .default([]),
  key_rate_limit: zRate.nullable().default(null),
  failed_auth_limit: zRate.prefault("10/minute"),
  trust_proxy: zBool.default(false),
});

// ---- alerting ---------------------------------------------------------------------------------

const zSeverity = zEnum(SEVERITIES);

const inhibitionRule = z
  .strictObject({
    source_severity: zSeverity.optional(),
    target_severity: zSeverity.optional(),
    source_match: z.record(z.string(), zLabelValue).optional(),
    target_match: z.record(z.string(), zLabelValue).optional(),
    equal: zStringList.prefault([]),
  })
  .superRefine((rule, ctx) => {
    if (rule.source_severity === undefined && rule.source_match === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "needs source_severity or source_match",
        path: ["source_severity"],
      });
    }
    if (rule.target_severity === undefined && rule.target_match === undefined) {
      ctx.addIssue({
        code: "custom",
        message: "needs target_severity or target_match",
        path: ["target_severity"],
      });
    }
  })
  .transform((rule) => ({
    source_severity: rule.source_severity ?? null,
    target_severity: rule.target_severity ?? null,
    source_match: rule.source_match ?? {},
    target_match: rule.target_match ?? {},
    equal: rule.equal,
  }));

const zEscalationChain = unitSchema((input): EscalationStep[] => {
  const steps = parseActionChain(input, [...ESCALATION_STEPS, "telegram"] as const);
  return [...new Set(steps.map((step) => (step === "telegram" ? "chat" : step)))];
}, "steps from chat, email, pagerduty");

/** An `${SMTP_URL:-}` left empty turns the whole block off (see notes), so one file fits every deployment. */
const offWhenEmpty = (field: string) => (value: unknown) =>
  isPlainObject(value) && value[field] === "" ? null : value;

const alertingSchema = section({
  suppression: section({
    deduplication_window: zPositiveDuration.prefault("1h"),
    escalation_delay: zPositiveDuration.prefault("15m"),
  }),
  grouping: section({
    group_by: zStringList.prefault(["alertname"]),
    group_wait: zDuration.prefault("2s"),
    group_interval: zPositiveDuration.prefault("1m"),
  }),
  inhibition: z
    .preprocess((value) => (value === null ? [] : value), z.array(inhibitionRule))
    .prefault([{ source_severity: "critical", target_severity: "warning", equal: ["alertname"] }]),
  escalation: section({
    min_severity: zSeverity.default("critical"),
    chain: zEscalationChain.prefault(["chat", "email", "pagerduty"]),
    repeat: zPositiveDuration.prefault("30m"),
  }),
  email: z
    .preprocess(
      offWhenEmpty("smtp_url"),
      z
        .strictObject({
          smtp_url: zUrl(["smtp", "smtps"], "smtps://user:password@smtp.example.com:465"),
          from: zEmailAddress,
          to: zEmailList,
        })
        .nullable(),
    )
    .default(null),
  pagerduty: z
    .preprocess(
      offWhenEmpty("routing_key"),
      z
        .strictObject({
          routing_key: zSecret(1),
          events_url: zUrl(["http", "https"], "https://events.pagerduty.com/v2/enqueue").prefault(
            "https://events.pagerduty.com/v2/enqueue",
          ),
        })
        .nullable(),
    )
    .default(null),
  thresholds: mapOrListOfMaps(z.record(z.string(), zComparison.nullable()))
    .transform((given) => {
      const merged: Record<string, Comparison> = { ...DEFAULT_ALERT_THRESHOLDS };
      for (const [name, comparison] of Object.entries(given)) {
        if (comparison === null) delete merged[name];
        else merged[name] = comparison;
      }
      return merged;
    })
    .prefault({}),
  channels: zStringList
    .transform((names) => {
      const known = new Set<EscalationStep>();
      for (const name of names.map((entry) => entry.toLowerCase())) {
        if (name === "telegram" || name === "chat") known.add("chat");
        else if (name === "email" || name === "pagerduty") known.add(name);
      }
      return [...known];
    })
    .prefault(["chat"]),
});

// ---- approvals, agents, tool aliases, digest ----------------------------------------------------

const zLevel = zEnum(PERMISSION_LEVELS, { readonly: "read_only", "read-only": "read_only" });

const approvalsSchema = section({
  timeout: zPositiveDuration.prefault("5m"),
  /** Resolved with security.permission_model.default; see the root transform. */
  default_level: zLevel.optional(),
  always_allow_ttl: zPositiveDuration.prefault("24h"),
  group_wait: zDuration.prefault("2s"),
});

const agentsSchema = z
  .preprocess((value) => (value === null ? {} : value), z.record(z.string(), zLevel))
  .default({});

const toolAliasesSchema = z
  .preprocess((value) => (value === null ? {} : value), z.record(z.string(), zText.nullable()))
  .transform((given) => {
    const merged: Record<string, string> = { ...DEFAULT_TOOL_ALIASES };
    for (const [alias, tool] of Object.entries(given)) {
      if (tool === null) delete merged[alias];
      else merged[alias] = tool;
    }
    return merged;
  })
  .prefault({});

const digestSchema = section({
  enabled: zBool.default(true),
  schedule: zCron.prefault("0 9 * * *"),
  timezone: zTimeZone.prefault("UTC"),
  /** true: to alerting.email.to; or addresses. Needs alerting.email (SMTP). */
  email: unitSchema((input): boolean | string[] => {
    if (typeof input === "boolean") return input;
    if (input === "") return false;
    const parsed = zEmailList.safeParse(input);
    if (!parsed.success)
      throw new UnitError("expected true, false or email addresses like [ops@example.com]");
    return parsed.data;
  }, "true, false or email addresses").default(false),
});

// ---- checks -----------------------------------------------------------------------------------

const zHostPort = unitSchema((input): string => {
  const match =
    typeof input === "string" ? /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(input.trim()) : null;
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
    throw new UnitError("expected host:port like db.internal:5432");
  }
  return input as string;
}, "host:port");

const zCommand = unitSchema((input): string | string[] => {
  if (typeof input === "string" && input.trim() !== "") return input.trim();
  if (Array.isArray(input) && input.length > 0 && input.every((part) => typeof part === "string")) {
    return input as string[];
  }
  throw new UnitError("expected a command line, or a list like [pg_isready, -h, db]");
}, "a command");

const checkSchema = z
  .strictObject({
    name: zName,
    /** Which health_checks block gives the defaults. */
    probe: zEnum(["liveness", "readiness"]).default("liveness"),
    http: zUrl(["http", "https"], "https://api.example.com/health").optional(),
    tcp: zHostPort.optional(),
    postgres: zUrl(["postgres", "postgresql"], "postgres://user@db:5432/app").optional(),
    redis: zUrl(["redis", "rediss"], "redis://cache:6379").optional(),
    disk: zText.optional(),
    memory: unitSchema((input): "system" | "process" => {
      if (input === true || input === "system") return "system";
      if (input === "process") return "process";
      throw new UnitError("expected true, system or process");
    }, "system or process").optional(),
    command: zCommand.optional(),
    interval: zPositiveDuration.optional(),
    timeout: zPositiveDuration.optional(),
    failure_threshold: zPositiveCount.optional(),
    expect_status: unitSchema((input): number[] => {
      const list = Array.isArray(input) ? input : [input];
      const codes = list.map((code) => (typeof code === "string" ? Number(code) : code));
      if (
        codes.length === 0 ||
        !codes.every((code) => Number.isInteger(code) && code >= 100 && code <= 599)
      ) {
        throw new UnitError("expected an HTTP status like 200, or a list [200, 204]");
      }
      return codes as number[];
    }, "an HTTP status").optional(),
    method: zEnum(["GET", "HEAD", "POST"]).optional(),
    headers: z.record(z.string(), zLabelValue).optional(),
    /** http: text the response body must contain. */
    expect_body: zText.optional(),
    /** disk and memory: when the check fails; defaults to alerting.thresholds.disk / .memory. */
    threshold: zComparison.optional(),
  })
  .superRefine((check, ctx) => {
    const kinds = CHECK_TYPES.filter((type) => check[type] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message:
          kinds.length === 0
            ? `say what to check: one of ${CHECK_TYPES.join(", ")} (like http: https://api.example.com/health)`
            : `give one of ${kinds.join(", ")}, not several (one check each)`,
        path: kinds.length === 0 ? [] : [kinds[1]!],
      });
      return;
    }
    const kind = kinds[0]!;
    for (const field of ["expect_status", "method", "headers", "expect_body"] as const) {
      if (check[field] !== undefined && kind !== "http") {
        ctx.addIssue({ code: "custom", message: "only applies to http checks", path: [field] });
      }
    }
    if (check.threshold !== undefined && kind !== "disk" && kind !== "memory") {
      ctx.addIssue({
        code: "custom",
        message: "only applies to disk and memory checks",
        path: ["threshold"],
      });
    }
  })
  .transform((check) => ({ ...check, type: CHECK_TYPES.find((type) => check[type] !== undefined)! }));

// ---- report: circuit breaker, retry, health checks, degradation ---------------------------------

const breakerEntry = z.preprocess(
  (value) => (typeof value === "string" ? { name: value } : value),
  z.strictObject({
    name: zName,
    probe_url: zUrl(["http", "https"], "https://api.openai.com/v1/models").optional(),
    failure_threshold: zPositiveCount.optional(),
    timeout: zDurationRange.optional(),
    probe_interval: zPositiveDuration.optional(),
  }),
);

const breakerList = z
  .preprocess((value) => (value === null ? [] : value), z.array(breakerEntry))
  .superRefine((breakers, ctx) => uniqueBy(breakers, (breaker) => breaker.name, "name", ctx));

const circuitBreakerSchema = sectionOf(
  z
    .strictObject({
      failure_threshold: zPositiveCount.prefault(3),
      timeout: zDurationRange.prefault("15-60 minutes"),
      half_open_requests: zPositiveCount.prefault(1),
      probe_interval: zPositiveDuration.prefault("5m"),
      open_severity: zEnum(["warning", "critical"]).default("warning"),
      breakers: breakerList.optional(),
      /** The report's word for the same list. */
      services: breakerList.optional(),
    })
    .superRefine((breaker, ctx) => {
      const named = new Set((breaker.breakers ?? []).map((entry) => entry.name));
      (breaker.services ?? []).forEach((entry, index) => {
        if (named.has(entry.name)) {
          ctx.addIssue({
            code: "custom",
            message: "already listed under breakers",
            path: ["services", index, "name"],
          });
        }
      });
    })
    .transform(({ breakers, services, ...defaults }) => ({
      ...defaults,
      breakers: [...(breakers ?? []), ...(services ?? [])].map((entry) => ({
        name: entry.name,
        probe_url: entry.probe_url ?? null,
        failure_threshold: entry.failure_threshold ?? defaults.failure_threshold,
        timeout: entry.timeout ?? defaults.timeout,
        probe_interval: entry.probe_interval ?? defaults.probe_interval,
      })),
    })),
);

const retrySchema = sectionOf(
  z
    .strictObject({
      max_attempts: zPositiveCount.prefault(3),
      backoff: zEnum(["exponential", "linear", "constant"], { fixed: "constant" }).default("exponential"),
      initial_delay: zDuration.prefault("1s"),
      max_delay: zDuration.prefault("60s"),
      multiplier: zNumber(1).default(2),
      jitter: zBool.default(true),
    })
    .refine((retry) => retry.max_delay >= retry.initial_delay, {
      message: "must not be shorter than initial_delay",
      path: ["max_delay"],
    }),
);

function probeSchema(interval: string, timeout: string) {
  return section({
    interval: zPositiveDuration.prefault(interval),
    timeout: zPositiveDuration.prefault(timeout),
    failure_threshold: zPositiveCount.prefault(3),
    initial_delay: zDuration.prefault("0s"),
    endpoint: zText.optional(),
    path: zText.optional(),
    dependencies: zStringList.optional(),
  });
}

const healthChecksSchema = section({
  liveness: probeSchema("30s", "10s"),
  readiness: probeSchema("10s", "5s"),
  startup: probeSchema("10s", "5s").optional(),
});

function triggerOf(unitOk: (comparison: Comparison) => boolean, example: string) {
  return zComparison.refine(unitOk, `expected a comparison like "${example}"`);
}

const degradationSchema = section({
  triggers: mapOrListOfMaps(
    z.strictObject({
      latency: triggerOf((c) => c.unit === "ms", "> 5s p99").optional(),
      error_rate: triggerOf(
        (c) => c.unit === "ratio" || (c.unit === "number" && c.value <= 1),
        "> 5% errors",
      ).optional(),
      memory: triggerOf((c) => c.unit === "bytes" || c.unit === "ratio", "< 256MB memory").optional(),
    }),
  )
    .transform((triggers) => ({
      latency: triggers.latency ?? null,
      error_rate: triggers.error_rate ?? null,
      memory: triggers.memory ?? null,
    }))
    .prefault({ latency: "> 5s p99", error_rate: "> 5% errors", memory: "< 256MB memory" }),
  modes: unitSchema((input): Mode[] => {
    const hint = `expected modes from ${MODES.join(", ")}`;
    const names: unknown[] = Array.isArray(input)
      ? input.flatMap((item) => (isPlainObject(item) ? Object.keys(item) : [item]))
      : isPlainObject(input)
        ? Object.keys(input)
        : [];
    if (names.length === 0) throw new UnitError(hint);
    return names.map((name) => {
      const mode = MODES.find((known) => typeof name === "string" && known === name.trim().toUpperCase());
      if (!mode) throw new UnitError(hint);
      return mode;
    });
  }, "a list of modes").prefault([...MODES]),
  recovery: zPositiveDuration.prefault("5m"),
});

// ---- report: cost management ----------------------------------------------------------------

const zReset = unitSchema((input): "daily" | "monthly" => {
  if (typeof input === "string") {
    const text = input.trim().toLowerCase().replace(/\s+/g, " ");
    if (/^(1st|first|start) of (the )?month$|^monthly$|^every month$/.test(text)) return "monthly";
    if (/^(daily|midnight|every day|each day|00:00)$/.test(text)) return "daily";
  }
  throw new UnitError('expected "1st of month" (a monthly budget) or "daily"');
}, '"1st of month" or "daily"');

const zThresholdList = unitSchema((input): number[] => {
  const list = Array.isArray(input) ? input : [input];
  if (list.length === 0) throw new UnitError("expected a ratio like 80% or a list like [50%, 80%, 95%]");
  const ratios = list.map((item) => parseRatio(item));
  if (ratios.some((ratio) => ratio <= 0)) throw new UnitError("each threshold must be above 0%");
  return [...new Set(ratios)].sort((a, b) => a - b);
}, "a ratio like 80%");

const budgetSchema = z
  .strictObject({
    name: zName,
    limit: zBudgetLimit,
    scope: zEnum(BUDGET_SCOPES).default("global"),
    alert_threshold: zThresholdList.prefault("80%"),
    action: zActionChain(BUDGET_ACTIONS).prefault("alert"),
    reset: zReset.optional(),
    window: zEnum(["daily", "monthly"]).optional(),
  })
  .superRefine((budget, ctx) => {
    if (budget.reset !== undefined && budget.window !== undefined && budget.reset !== budget.window) {
      ctx.addIssue({
        code: "custom",
        message: `disagrees with reset (which means ${budget.reset})`,
        path: ["window"],
      });
    }
  })
  .transform((budget) => ({
    name: budget.name,
    limit: budget.limit.amount,
    unit: budget.limit.unit,
    scope: budget.scope,
    alert_threshold: budget.alert_threshold,
    action: budget.action,
    window: budget.window ?? budget.reset ?? "daily",
  }));

const costManagementSchema = section({
  budgets: z
    .preprocess((value) => (value === null ? [] : value), z.array(budgetSchema))
    .superRefine((budgets, ctx) => uniqueBy(budgets, (budget) => budget.name, "name", ctx))
    .prefault(DEFAULT_BUDGETS),
  tracking: section({
    granularity: zText.default("per_request"),
    /** The report's name for retention.usage_events; see the root transform. */
    local_retention: zPositiveDuration.optional(),
  }),
  /** USD per 1000 tokens, by model; used when a usage report carries no cost_usd. */
  prices: z
    .preprocess(
      (value) => (value === null ? {} : value),
      z.record(z.string(), z.strictObject({ input_per_1k: zMoney, output_per_1k: zMoney })),
    )
    .default({}),
  spike: section({
    enabled: zBool.default(true),
    window: zPositiveDuration.prefault("5m"),
    factor: unitSchema((input): number => {
      const text = typeof input === "string" ? input.trim().replace(/x$/i, "") : input;
      const factor = typeof text === "string" && /^\d+(\.\d+)?$/.test(text) ? Number(text) : text;
      if (typeof factor !== "number" || !(factor > 1))
        throw new UnitError("expected a factor above 1, like 10 or 10x");
      return factor;
    }, "a factor like 10").prefault(10),
  }),
});

// ---- report: routing --------------------------------------------------------------------------

const providerEntry = z
  .strictObject({
    name: zName,
    models: zStringList.optional(),
    model: zText.optional(),
    /** Lower goes first; defaults to the position in the list (1, 2, ...). */
    priority: zInt(0).optional(),
    cost_per_1k: zMoney.optional(),
    quality: unitSchema((input): number => {
      if (typeof input === "string" && input.trim().endsWith("%")) return parseRatio(input);
      const value = typeof input === "string" && /^\d+(\.\d+)?$/.test(input.trim()) ? Number(input) : input;
      if (typeof value !== "number" || value < 0) throw new UnitError("expected a score like 0.9 or 90%");
      return value;
    }, "a score").optional(),
    timeout: zPositiveDuration.optional(),
  })
  .refine((provider) => provider.model === undefined || provider.models === undefined, {
    message: "give model or models, not both",
    path: ["model"],
  });

const providersSchema = z
  .preprocess((value) => {
    if (value === null) return [];
    // Map form: `providers: { openai: { models: [...] } }`.
    if (isPlainObject(value)) {
      return Object.entries(value).map(([name, body]) => ({ name, ...(isPlainObject(body) ? body : {}) }));
    }
    if (Array.isArray(value)) return value.map((item) => (typeof item === "string" ? { name: item } : item));
    return value;
  }, z.array(providerEntry))
  .superRefine((providers, ctx) => uniqueBy(providers, (provider) => provider.name, "name", ctx))
  .transform((providers) =>
    providers.map((provider, index) => ({
      name: provider.name,
      models: provider.models ?? (provider.model === undefined ? [] : [provider.model]),
      priority: provider.priority ?? index + 1,
      cost_per_1k: provider.cost_per_1k ?? null,
      quality: provider.quality ?? null,
      timeout: provider.timeout ?? null,
    })),
  );

export interface ComplexityTier {
  /** Models for this complexity, best first. */
  models: string[];
  /** A score threshold when the report gives one (`high: 0.8`), else null. */
  min_score: number | null;
}

const zComplexityTier = unitSchema((input): ComplexityTier => {
  const hint = "expected a model (or list of models) or a score like 0.7";
  if (typeof input === "number") {
    if (input < 0) throw new UnitError(hint);
    return { models: [], min_score: input };
  }
  if (typeof input === "string") {
    const text = input.trim();
    if (/^[<>=≥≤]/.test(text)) return { models: [], min_score: parseComparison(text).value };
    if (/^\d+(\.\d+)?%?$/.test(text)) {
      return { models: [], min_score: text.endsWith("%") ? parseRatio(text) : Number(text) };
    }
    if (text !== "") return { models: [text], min_score: null };
  }
  if (Array.isArray(input) && input.length > 0 && input.every((model) => typeof model === "string")) {
    return { models: input as string[], min_score: null };
  }
  throw new UnitError(hint);
}, "a model or a score");

const routingSchema = section({
  strategy: zEnum(["priority", "latency_aware", "cost_aware", "quality_aware"]).default("priority"),
  providers: providersSchema.prefault([]),
  complexity_thresholds: z
    .preprocess((value) => (value === null ? {} : value), z.record(z.string(), zComplexityTier))
    .default({}),
  failover: section({
    on_error: zActionChain(FAILOVER_ACTIONS).prefault("next_provider"),
    on_timeout: zActionChain(FAILOVER_ACTIONS).prefault("next_provider"),
    on_rate_limit: zActionChain(FAILOVER_ACTIONS).prefault("next_provider"),
  }),
});

// ---- report: security, safety -----------------------------------------------------------------

export interface PermissionLevelDefinition {
  name: PermissionLevel;
  /** Tools this level may request at all; "*" for any. tool_approval decides who approves. */
  tools: string[] | "*";
  description: string | null;
}

function levelBody(name: PermissionLevel, body: unknown): Omit<PermissionLevelDefinition, "name"> {
  const defaults = { tools: DEFAULT_LEVEL_TOOLS[name], description: null };
  if (body === undefined || body === null) return defaults;
  if (typeof body === "string") {
    const text = body.trim().toLowerCase();
    if (["*", "all", "any", "all tools", "any tool", "everything"].includes(text))
      return { ...defaults, tools: "*" };
    if (["none", "no tools", "nothing"].includes(text)) return { ...defaults, tools: [] };
    return { ...defaults, description: body.trim() };
  }
  if (Array.isArray(body) && body.every((tool) => typeof tool === "string")) {
    return { ...defaults, tools: body.includes("*") ? "*" : (body as string[]) };
  }
  if (isPlainObject(body)) {
    const { tools, description, ...rest } = body;
    if (Object.keys(rest).length === 0) {
      const parsedTools = tools === undefined ? defaults.tools : levelBody(name, tools).tools;
      if (description === undefined || typeof description === "string") {
        return { tools: parsedTools, description: description?.trim() ?? null };
      }
    }
  }
  throw new UnitError('expected a list of tools, "all", or { tools, description }');
}

const levelsSchema = z.unknown().transform((input, ctx): PermissionLevelDefinition[] => {
  const entries: Array<{ name: unknown; body: unknown; path: Array<string | number> }> = [];
  if (Array.isArray(input)) {
    input.forEach((item, index) => {
      if (isPlainObject(item)) {
        for (const [name, body] of Object.entries(item)) entries.push({ name, body, path: [index, name] });
      } else entries.push({ name: item, body: undefined, path: [index] });
    });
  } else if (isPlainObject(input)) {
    for (const [name, body] of Object.entries(input)) entries.push({ name, body, path: [name] });
  } else {
    ctx.addIssue({
      code: "custom",
      message: "expected a list of levels like [none, read_only, limited, unrestricted]",
    });
    return z.NEVER;
  }
  const levels: PermissionLevelDefinition[] = [];
  for (const { name, body, path } of entries) {
    const level = PERMISSION_LEVELS.find(
      (known) => typeof name === "string" && known === name.trim().toLowerCase(),
    );
    if (!level) {
      ctx.addIssue({
        code: "custom",
        message: `unknown level; pitwall's levels are ${PERMISSION_LEVELS.join(", ")}`,
        path,
      });
      continue;
    }
    if (levels.some((existing) => existing.name === level)) {
      ctx.addIssue({ code: "custom", message: "level listed twice", path });
      continue;
    }
    try {
      levels.push({ name: level, ...levelBody(level, body) });
    } catch (error) {
      if (!(error instanceof UnitError)) throw error;
      ctx.addIssue({ code: "custom", message: error.message, path });
    }
  }
  if (levels.length === 0 && entries.length === 0) {
    ctx.addIssue({ code: "custom", message: "list at least one level" });
  }
  return levels;
});

const argumentRuleSchema = z
  .strictObject({
    /** A tool name (after tool_aliases), or "*" for every tool. */
    tool: zText,
    /** Dotted path into the arguments (`command`, `headers.host`); the whole arguments as JSON if absent. */
    arg: zText.optional(),
    pattern: zRegex.optional(),
    contains: zText.optional(),
    action: zEnum(["deny", "require_approval", "auto_approve"]).default("require_approval"),
    reason: zText.optional(),
  })
  .refine((rule) => rule.pattern !== undefined || rule.contains !== undefined, {
    message: "needs pattern (a regular expression) or contains (plain text)",
    path: ["pattern"],
  })
  .transform((rule) => ({
    tool: rule.tool,
    arg: rule.arg ?? null,
    pattern: rule.pattern ?? null,
    contains: rule.contains ?? null,
    action: rule.action,
    reason: rule.reason ?? null,
  }));

const securitySchema = section({
  permission_model: section({
    levels: levelsSchema.prefault([...PERMISSION_LEVELS]),
    /** Resolved with approvals.default_level; see the root transform. */
    default: zLevel.optional(),
  }),
  tool_approval: sectionOf(
    z
      .strictObject({
        auto_approve: zStringList.prefault(["read_file", "http_get"]),
        require_approval: zStringList.prefault(["delete_file", "exec_command", "http_post"]),
        human_approval_channel: zEnum(["telegram", "console"]).default("telegram"),
        argument_rules: z
          .preprocess((value) => (value === null ? [] : value), z.array(argumentRuleSchema))
          .default([]),
      })
      .superRefine((approval, ctx) => {
        approval.require_approval.forEach((tool, index) => {
          if (approval.auto_approve.includes(tool)) {
            ctx.addIssue({
              code: "custom",
              message: "this tool is also in auto_approve; keep it in one list",
              path: ["require_approval", index],
            });
          }
        });
      }),
  ),
});

const safetySchema = section({
  input: mapOrListOfMaps(
    z.strictObject({
      max_length: zPositiveCount.prefault("10000 tokens"),
      filter_prompts: zStringList.prefault(["system:", "sudo:", "rm -rf"]),
      validate_json: zBool.default(true),
    }),
  ).prefault({}),
  output: mapOrListOfMaps(
    z.strictObject({
      filter_sensitive: zStringList.prefault(["api_key", "password", "token", "secret"]),
      rate_limit_per_user: zRate.prefault("100 requests/hour"),
      max_length: zPositiveCount.optional(),
    }),
  ).prefault({}),
});

// ---- console, server, retention ----------------------------------------------------------------

const consoleSchema = sectionOf(
  z
    .strictObject({
      enabled: unitSchema((input): "auto" | boolean => {
        if (input === "auto") return "auto";
        const parsed = zBool.safeParse(input);
        if (!parsed.success) throw new UnitError("expected auto, true or false");
        return parsed.data;
      }, "auto, true or false").default("auto"),
      allow_remote: zBool.default(false),
      password: zSecret(8).nullable().default(null),
    })
    .refine((console) => !console.allow_remote || console.password !== null, {
      message: "required when allow_remote is true (anyone who reaches the port would act as an admin)",
      path: ["password"],
    }),
);

const serverSchema = section({
  port: zInt(0, 65535).optional(),
  host: zText.optional(),
});

const retentionSchema = section({
  /** Resolved with cost_management.tracking.local_retention; see the root transform. */
  usage_events: zPositiveDuration.optional(),
  hourly_usage: zPositiveDuration.prefault("400d"),
  resolved_alerts: zPositiveDuration.prefault("30d"),
  audit: zPositiveDuration.prefault("365d"),
});

// ---- informational sections --------------------------------------------------------------------

/** Infrastructure pitwall does not run: a map or a list, known keys type-checked, the rest kept. */
function informational<T extends z.core.$ZodLooseShape>(shape: T) {
  return z
    .preprocess(
      (value) => (value === null ? {} : value),
      z.union([z.looseObject(shape), z.array(z.unknown())]),
    )
    .optional()
    .transform((value) => value ?? null);
}

const zAny = z.unknown().optional();

const informationalSchemas = {
  caching: informational({
    enabled: zBool.optional(),
    ttl: zDuration.optional(),
    similarity_threshold: zRatio.optional(),
    backend: zText.optional(),
    strategy: zText.optional(),
    max_size: zAny,
  }),
  secrets: informational({
    provider: zText.optional(),
    rotation: zDuration.optional(),
    rotation_interval: zDuration.optional(),
  }),
  logging: informational({
    level: zEnum(["trace", "debug", "info", "warn", "error", "fatal"], { warning: "warn" }).optional(),
    format: zText.optional(),
    fields: zStringList.optional(),
    retention: zDuration.optional(),
  }),
  metrics: informational({
    enabled: zBool.optional(),
    path: zText.optional(),
    interval: zDuration.optional(),
    scrape_interval: zDuration.optional(),
  }),
  orchestration: informational({ queue: zAny, persistence: zAny, pubsub: zAny }),
  scaling: informational({
    min_instances: zInt(0).optional(),
    max_instances: zInt(1).optional(),
    lock: zAny,
    agent_instances: zAny,
  }),
  deployment: informational({
    regions: z.array(z.union([zText, z.looseObject({})])).optional(),
    strategy: zText.optional(),
  }),
};

// ---- root -------------------------------------------------------------------------------------

const rootObject = z.strictObject({
  telegram: telegramSchema.optional(),
  api: apiSchema,
  alerting: alertingSchema,
  approvals: approvalsSchema,
  agents: agentsSchema,
  tool_aliases: toolAliasesSchema,
  digest: digestSchema,
  checks: z
    .preprocess((value) => (value === null ? [] : value), z.array(checkSchema))
    .superRefine((checks, ctx) => uniqueBy(checks, (check) => check.name, "name", ctx))
    .default([]),
  retention: retentionSchema,
  console: consoleSchema,
  server: serverSchema,
  circuit_breaker: circuitBreakerSchema,
  retry: retrySchema,
  health_checks: healthChecksSchema,
  degradation: degradationSchema,
  cost_management: costManagementSchema,
  routing: routingSchema,
  security: securitySchema,
  safety: safetySchema,
  ...informationalSchemas,
});

type Parsed = z.output<typeof rootObject>;

/** Cross-section defaults and checks: fields that name or fall back on another section. */
function resolve(parsed: Parsed, ctx: z.core.$RefinementCtx) {
  const problem = (path: Array<string | number>, message: string) =>
    ctx.addIssue({ code: "custom", message, path });

  const levelNames = parsed.security.permission_model.levels.map((level) => level.name);
  const fromApprovals = parsed.approvals.default_level;
  const fromSecurity = parsed.security.permission_model.default;
  if (fromApprovals !== undefined && fromSecurity !== undefined && fromApprovals !== fromSecurity) {
    problem(
      ["approvals", "default_level"],
      "disagrees with security.permission_model.default; set one of them",
    );
  }
  const defaultLevel = fromApprovals ?? fromSecurity ?? "limited";
  if (!levelNames.includes(defaultLevel)) {
    problem(
      fromApprovals !== undefined
        ? ["approvals", "default_level"]
        : ["security", "permission_model", "default"],
      "is not one of security.permission_model.levels",
    );
  }
  for (const [agent, level] of Object.entries(parsed.agents)) {
    if (!levelNames.includes(level))
      problem(["agents", agent], "is not one of security.permission_model.levels");
  }

  const tracked = parsed.cost_management.tracking.local_retention;
  const kept = parsed.retention.usage_events;
  if (tracked !== undefined && kept !== undefined && tracked !== kept) {
    problem(
      ["retention", "usage_events"],
      "disagrees with cost_management.tracking.local_retention; set one of them",
    );
  }
  const usageEvents = kept ?? tracked ?? 7 * 24 * 3_600_000;

  const digestEmail = parsed.digest.email;
  const digestTo =
    digestEmail === true ? (parsed.alerting.email?.to ?? []) : digestEmail === false ? [] : digestEmail;
  if (digestEmail !== false && parsed.alerting.email === null) {
    problem(["digest", "email"], "needs alerting.email (smtp_url, from) to send mail");
  }

  let telegram = null;
  if (parsed.telegram !== undefined) {
    const { chats, quiet_hours, ...rest } = parsed.telegram;
    const firstAdmin = rest.operators.find((operator) => operator.role === "admin") ?? rest.operators[0]!;
    // Unset: alerts go to an admin's private chat with the bot (the user id is that chat's id).
    const alerts = chats.alerts ?? { id: firstAdmin.id, thread: null };
    telegram = {
      ...rest,
      chats: {
        alerts,
        approvals: chats.approvals ?? alerts,
        digest: chats.digest ?? alerts,
        escalation: chats.escalation ?? alerts,
      },
      quiet_hours:
        quiet_hours === null
          ? null
          : { ...quiet_hours, timezone: quiet_hours.timezone ?? parsed.digest.timezone },
    };
  }

  const checks = parsed.checks.map(({ probe, interval, timeout, failure_threshold, threshold, ...check }) => {
    const defaults = parsed.health_checks[probe];
    const thresholdDefault =
      check.type === "disk"
        ? parsed.alerting.thresholds.disk
        : check.type === "memory"
          ? parsed.alerting.thresholds.memory
          : undefined;
    return {
      ...check,
      probe,
      interval: interval ?? defaults.interval,
      timeout: timeout ?? defaults.timeout,
      failure_threshold: failure_threshold ?? defaults.failure_threshold,
      threshold: threshold ?? thresholdDefault ?? null,
    };
  });

  return {
    ...parsed,
    telegram,
    approvals: { ...parsed.approvals, default_level: defaultLevel },
    security: {
      ...parsed.security,
      permission_model: { ...parsed.security.permission_model, default: defaultLevel },
    },
    retention: { ...parsed.retention, usage_events: usageEvents },
    cost_management: {
      ...parsed.cost_management,
      tracking: { ...parsed.cost_management.tracking, local_retention: usageEvents },
    },
    digest: { ...parsed.digest, email: digestTo },
    checks,
  };
}

export const configSchema = z.preprocess(
  (value) => (value === null ? {} : value),
  rootObject.transform(resolve),
);

/** The parsed, normalized pitwall.yaml. */
export type Config = z.output<typeof configSchema>;
export type TelegramConfig = NonNullable<Config["telegram"]>;
export type Budget = Config["cost_management"]["budgets"][number];
export type Provider = Config["routing"]["providers"][number];
export type Check = Config["checks"][number];
export type Breaker = Config["circuit_breaker"]["breakers"][number];
export type ApiKeyConfig = Config["api"]["keys"][number];
export type ArgumentRule = Config["security"]["tool_approval"]["argument_rules"][number];
