// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} references as plain text on purpose
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  configSchema,
  formatIssues,
  loadConfig,
  parseConfig,
  runCheckConfig,
} from "../../src/config/index.ts";
import { knownKeysAt } from "../../src/config/issues.ts";

const EXAMPLE = join(import.meta.dirname, "../../pitwall.example.yaml");
const EXAMPLE_ENV = { PITWALL_CODER_KEY: "coder-key-0123456789abcdef" };

let dir: string;
const startDir = process.cwd();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "pitwall-config-"));
});

afterAll(async () => {
  process.chdir(startDir);
  await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  process.chdir(startDir);
});

describe("loadConfig", () => {
  it("reads the explicit file and names it as the source", async () => {
    const file = join(dir, "explicit.yaml");
    await writeFile(file, "approvals: { timeout: 2m }\n");
    const result = await loadConfig({ file, env: {} });
    expect(result.ok && result.config.approvals.timeout).toBe(120_000);
    expect(result.source).toBe(file);
  });

  it("answers a missing explicit file with an error, not a crash", async () => {
    const file = join(dir, "nope.yaml");
    const result = await loadConfig({ file, env: {} });
    expect(result).toEqual({ ok: false, errors: [{ path: file, message: "file not found" }], source: file });
  });

  it("answers a directory with an error", async () => {
    const result = await loadConfig({ file: dir, env: {} });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors[0]?.message).toBe("is a directory, not a file");
  });

  it("falls back to PITWALL_CONFIG, and says so when that file is missing", async () => {
    const file = join(dir, "from-env.yaml");
    await writeFile(file, "retention: { audit: 90d }\n");
    const found = await loadConfig({ env: { PITWALL_CONFIG: file } });
    expect(found.ok && found.config.retention.audit).toBe(90 * 24 * 3_600_000);

    const missing = await loadConfig({ env: { PITWALL_CONFIG: join(dir, "gone.yaml") } });
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.errors[0]?.message).toBe("file not found (named by PITWALL_CONFIG)");
  });

  it("prefers the explicit file over PITWALL_CONFIG", async () => {
    const explicit = join(dir, "a.yaml");
    await writeFile(explicit, "approvals: { timeout: 1m }\n");
    const result = await loadConfig({ file: explicit, env: { PITWALL_CONFIG: join(dir, "gone.yaml") } });
    expect(result.ok && result.config.approvals.timeout).toBe(60_000);
  });

  it("reads ./pitwall.yaml when nothing is named, else uses built-in defaults", async () => {
    const withFile = join(dir, "with-file");
    const without = join(dir, "without");
    await mkdir(withFile);
    await mkdir(without);
    await writeFile(join(withFile, "pitwall.yaml"), "approvals: { timeout: 3m }\n");

    process.chdir(withFile);
    const fromCwd = await loadConfig({ env: {} });
    expect(fromCwd.ok && fromCwd.config.approvals.timeout).toBe(180_000);
    expect(fromCwd.source).toBe("pitwall.yaml");

    process.chdir(without);
    const defaults = await loadConfig({ env: {} });
    expect(defaults.ok && defaults.config.approvals.timeout).toBe(300_000);
    expect(defaults.source).toBe("built-in defaults");
  });
});

describe("runCheckConfig", () => {
  it("exits 0 with config OK and the informational notes", async () => {
    const file = join(dir, "ok.yaml");
    await writeFile(file, "deployment:\n  regions: [us-east-1, eu-west-1]\nretry: { max_attempts: 5 }\n");
    const result = await runCheckConfig(file, {});
    expect(result.exitCode).toBe(0);
    expect(result.output).toBe(
      `config OK (${file})\nnote: deployment: describes infrastructure pitwall does not run; kept as information (2 region(s) listed)\n`,
    );
  });

  it("exits 1 and prints every problem as path: message", async () => {
    const file = join(dir, "bad.yaml");
    await writeFile(
      file,
      "alerting:\n  suppression:\n    escalation_delay: soon\nretry: { max_attempts: 0 }\n",
    );
    const result = await runCheckConfig(file, {});
    expect(result.exitCode).toBe(1);
    expect(result.output).toBe(
      `${file}: 2 problems\nalerting.suppression.escalation_delay: expected a duration like 15m\nretry.max_attempts: expected a count of at least 1\n`,
    );
  });

  it("exits 1 for a missing file", async () => {
    const file = join(dir, "missing.yaml");
    const result = await runCheckConfig(file, {});
    expect(result).toEqual({ exitCode: 1, output: `${file}: 1 problem\n${file}: file not found\n` });
  });

  it("exits 1 for the report's unquoted trigger and tells how to quote it", async () => {
    const file = join(dir, "unquoted.yaml");
    await writeFile(file, "degradation:\n  triggers:\n    - latency: > 5s p99\n");
    const result = await runCheckConfig(file, {});
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain(
      'degradation.triggers[0].latency: a value beginning with ">" must be quoted in YAML: write latency: "> 5s p99"',
    );
  });
});

describe("pitwall.example.yaml", () => {
  it("passes with its variables set", async () => {
    const text = await readFile(EXAMPLE, "utf8");
    const result = parseConfig(text, EXAMPLE_ENV);
    if (!result.ok) throw new Error(formatIssues(result.errors));
    expect(result.config.telegram?.operators[0]).toMatchObject({ id: 123456789, role: "admin" });
    expect(result.config.circuit_breaker.failure_threshold).toBe(3);
    expect(result.config.api.keys[0]?.key).toBe(EXAMPLE_ENV.PITWALL_CODER_KEY);
  });

  it("fails only on its required variable when the environment is empty", async () => {
    const result = parseConfig(await readFile(EXAMPLE, "utf8"), {});
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(formatIssues(result.errors)).toBe(
        "api.keys[0].key: environment variable PITWALL_CODER_KEY is not set (set it, or write ${PITWALL_CODER_KEY:-default} to give a default)",
      );
    }
  });

  it("mentions every key of pitwall's schema", async () => {
    const text = await readFile(EXAMPLE, "utf8");
    const informational = new Set([
      "caching",
      "secrets",
      "logging",
      "metrics",
      "orchestration",
      "scaling",
      "deployment",
    ]);
    const missing = new Set<string>();
    const visited: string[] = [];
    const visit = (path: Array<string | number>, depth: number) => {
      if (depth > 8) return;
      for (const key of knownKeysAt(configSchema, path)) {
        if (path.length === 0 && informational.has(key)) continue;
        visited.push([...path, key].join("."));
        if (!new RegExp(`(^|[\\s{,#-])"?${key}"?:`, "m").test(text)) missing.add([...path, key].join("."));
        visit([...path, key], depth + 1);
        visit([...path, key, 0], depth + 1);
        visit([...path, key, "name"], depth + 1);
      }
    };
    visit([], 0);
    // The walk reaches into lists and nested sections, so the check is not vacuous.
    expect(visited).toEqual(
      expect.arrayContaining([
        "alerting.email.smtp_url",
        "security.tool_approval.argument_rules.0.pattern",
        "telegram.operators.0.language",
        "cost_management.prices.name.input_per_1k",
        "checks.0.expect_status",
      ]),
    );
    expect([...missing]).toEqual([]);
  });
});
