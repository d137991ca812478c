// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests write ${VAR} references as plain text on purpose
import { describe, expect, it } from "vitest";
import { formatIssues, parseConfig } from "../../src/config/index.ts";

const SECRETS = {
  PD_KEY: "pd-routing-key-0123456789abcdef",
  DB_PASSWORD: "hunter2-correct-horse",
  SHORT_KEY: "tiny-secret",
  BAD_PORT: "port-hunter2",
};

describe("${ENV} interpolation", () => {
  it("substitutes variables in values and reads typed fields from the text", () => {
    const result = parseConfig(
      `
server: { port: "\${PITWALL_PORT}", host: "\${PITWALL_HOST}" }
api:
  trust_proxy: \${TRUST_PROXY}
  keys: [{ name: ci, key: "\${CI_KEY}" }]
alerting:
  pagerduty: { routing_key: "\${PD_KEY}" }
`,
      {
        ...SECRETS,
        PITWALL_PORT: "9090",
        PITWALL_HOST: "0.0.0.0",
        TRUST_PROXY: "true",
        CI_KEY: "k".repeat(32),
      },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.server).toEqual({ port: 9090, host: "0.0.0.0" });
    expect(result.config.api.trust_proxy).toBe(true);
    expect(result.config.api.keys[0]?.key).toBe("k".repeat(32));
    expect(result.config.alerting.pagerduty?.routing_key).toBe(SECRETS.PD_KEY);
  });

  it("uses the default after :- when the variable is unset or empty, and the variable when set", () => {
    const yaml = 'digest: { timezone: "${TZ_NAME:-Europe/Berlin}" }\n';
    const unset = parseConfig(yaml, {});
    const empty = parseConfig(yaml, { TZ_NAME: "" });
    const set = parseConfig(yaml, { TZ_NAME: "Asia/Tokyo" });
    expect(unset.ok && unset.config.digest.timezone).toBe("Europe/Berlin");
    expect(empty.ok && empty.config.digest.timezone).toBe("Europe/Berlin");
    expect(set.ok && set.config.digest.timezone).toBe("Asia/Tokyo");
  });

  it("substitutes inside a longer value and keeps characters YAML would otherwise read", () => {
    const result = parseConfig(
      `
alerting:
  email:
    smtp_url: "smtps://pitwall:\${SMTP_PASSWORD}@smtp.example.com:465"
    from: \${MAIL_FROM}
    to: [ops@example.com]
`,
      { SMTP_PASSWORD: "s3cret", MAIL_FROM: "Ops: #1 <ops@example.com>" },
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.alerting.email?.smtp_url).toBe("smtps://pitwall:s3cret@smtp.example.com:465");
    expect(result.config.alerting.email?.from).toBe("Ops: #1 <ops@example.com>");
  });

  it("names the path and the variable when it is missing, and says how to give a default", () => {
    const result = parseConfig(
      'telegram:\n  operators: [{ id: 1, role: admin }]\n  mode: webhook\n  webhook: { url: https://bot.example.com/hook, secret_token: "${TG_SECRET}" }\n',
      SECRETS,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatIssues(result.errors)).toBe(
      "telegram.webhook.secret_token: environment variable TG_SECRET is not set (set it, or write ${TG_SECRET:-default} to give a default)",
    );
  });

  it("reports a missing variable once, not again as a malformed value", () => {
    const result = parseConfig('checks: [{ name: api, http: "${API_HEALTH_URL}" }]\n', {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((issue) => issue.path)).toEqual(["checks[0].http"]);
  });

  it("never prints a variable's value, whatever goes wrong", () => {
    const result = parseConfig(
      `
server: { port: "\${BAD_PORT}" }
api:
  keys: [{ name: short, key: "\${SHORT_KEY}" }, { name: dup, key: "\${SHORT_KEY}" }]
alerting:
  email: { smtp_url: "\${DB_PASSWORD}", from: "\${PD_KEY}", to: "\${MISSING_TO}" }
`,
      SECRETS,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const output = formatIssues(result.errors);
    for (const value of Object.values(SECRETS)) expect(output).not.toContain(value);
    expect(output).toContain("server.port: expected a whole number from 0 to 65535");
    expect(output).toContain("api.keys[0].key: too short: at least 16 characters");
    expect(output).toContain("alerting.email.to: environment variable MISSING_TO is not set");
  });

  it("writes a literal ${ for $${ and ignores references in comments and keys", () => {
    const result = parseConfig(
      `
# \${NOT_SET_ANYWHERE} in a comment is not read
security:
  tool_approval:
    argument_rules:
      - { tool: exec_command, contains: "$\${HOME}", action: deny }
agents:
  "\${literal_key}": read_only
`,
      {},
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.security.tool_approval.argument_rules[0]?.contains).toBe("${HOME}");
    expect(result.config.agents).toEqual({ "${literal_key}": "read_only" });
  });

  it("refuses a malformed reference", () => {
    const result = parseConfig('server: { host: "${1HOST}" }\nconsole: { password: "${UNCLOSED" }\n', {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(formatIssues(result.errors).split("\n")).toEqual([
      "server.host: has a malformed ${...}; write ${NAME} or ${NAME:-default} (letters, digits and _)",
      "console.password: has a ${ without its closing }; write ${NAME} or ${NAME:-default}",
    ]);
  });

  it("turns email off when its smtp_url variable is empty, and says so", () => {
    const result = parseConfig(
      'alerting:\n  email: { smtp_url: "${SMTP_URL:-}", from: a@example.com, to: [b@example.com] }\n',
      {},
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.alerting.email).toBeNull();
    expect(result.notes).toContain("alerting.email: smtp_url is empty, so email is off");
  });
});
