import { describe, expect, it } from "vitest";
import { createRedactor, REDACTED, redactText, redactValue } from "../../src/guards/redact.ts";

// Fake credentials of each real format (assembled so that no scanner mistakes this file for a leak).
const fake = {
  telegram: `${"123456789"}:${"AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"}`,
  openai: `sk-${"proj-"}Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z`,
  openaiLegacy: `sk-${"T3BlbkFJ"}a1b2c3d4e5f6g7h8i9j0k1l2m3n4`,
  anthropic: `sk-${"ant-api03-"}Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe`,
  github: `ghp_${"16C7e42F292c6912E7710c838347Ae178B4a"}`,
  githubFine: `github_pat_${"11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz"}`,
  slack: `xoxb-${"123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"}`,
  aws: `AKIA${"IOSFODNN7EXAMPLE"}`,
  awsSecret: `wJalrXUtnFEMI/K7MDENG/${"bPxRfiCYEXAMPLEKEY"}`,
  google: `AIza${"SyA-1234567890abcdefghijklmnopqrstu"}`,
  stripe: `sk_live_${"4eC39HqLyjWDarjtT1zdp7dc"}`,
  stripeRestricted: `rk_live_${"4eC39HqLyjWDarjtT1zdp7dc"}`,
  jwt: `eyJhbGciOiJIUzI1NiJ9.${"eyJzdWIiOiIxMjM0NTY3ODkwIn0"}.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U`,
  pem: `-----BEGIN ${"RSA PRIVATE"} KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n-----END RSA PRIVATE KEY-----`,
  pagerduty: "e93facc04764012d7bfb002500d5d1a6",
};

const r = createRedactor();

describe("redactText: secrets by shape", () => {
  const cases: [string, string, string][] = [
    ["Telegram bot token", `bot token is ${fake.telegram} ok`, fake.telegram],
    [
      "Telegram token inside an API URL",
      `GET https://api.telegram.org/bot${fake.telegram}/getMe`,
      fake.telegram,
    ],
    ["OpenAI project key", `using ${fake.openai} now`, fake.openai],
    ["OpenAI legacy key", `(${fake.openaiLegacy})`, fake.openaiLegacy],
    ["Anthropic key", `key=${fake.anthropic}`, fake.anthropic],
    ["Anthropic key alone", `use ${fake.anthropic}`, fake.anthropic],
    ["GitHub token", `push with ${fake.github}`, fake.github],
    ["GitHub fine-grained token", `${fake.githubFine} expired`, fake.githubFine],
    ["Slack token", `slack ${fake.slack}`, fake.slack],
    [
      "Slack webhook path",
      "POST https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXX",
      "T0000/B0000",
    ],
    ["AWS access key id", `id ${fake.aws}.`, fake.aws],
    ["AWS secret access key", `aws_secret_access_key = ${fake.awsSecret}`, fake.awsSecret],
    ["Google API key", `?key=${fake.google}&q=1`, fake.google],
    ["Stripe secret key", `stripe ${fake.stripe}`, fake.stripe],
    ["Stripe restricted key", `stripe ${fake.stripeRestricted}`, fake.stripeRestricted],
    ["JWT", `session ${fake.jwt} end`, fake.jwt],
    ["PEM private key", `key:\n${fake.pem}\nafter`, "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo"],
    [
      "PEM private key cut short",
      `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC`,
      "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
    ],
    ["Bearer header", "Authorization: Bearer abc.def-123_xyz", "abc.def-123_xyz"],
    ["Basic header in curl", "curl -H 'Authorization: Basic dXNlcjpwYXNz' https://x", "dXNlcjpwYXNz"],
    ["bare bearer token", "sent Bearer 0a1b2c3d4e5f6a7b8c9d", "0a1b2c3d4e5f6a7b8c9d"],
    ["URL password", "DATABASE_URL postgres://pitwall:s3cr3t-pw@db:5432/pitwall", "s3cr3t-pw"],
    ["URL password with empty user", "redis://:hunter2@cache:6379/0", "hunter2"],
    ["cookie header", "Cookie: session=abc123; csrftoken=def456\nnext", "abc123; csrftoken=def456"],
    ["PASSWORD=", "PASSWORD=hunter2 npm start", "hunter2"],
    ["--password flag", "mysql --user root --password hunter2 -h db", "hunter2"],
    ["--token= flag", "gh auth --token=abcdef0123", "abcdef0123"],
    ["api_key: yaml", "api_key: abc123xyz", "abc123xyz"],
    ['"api_key": json with spaces', '{"api_key": "correct horse battery", "n": 1}', "correct horse battery"],
    ["x-api-key header", "X-Api-Key: k-42-abc", "k-42-abc"],
    ["camelCase clientSecret", "clientSecret='s3cr3t value'", "s3cr3t value"],
    ["env var with key name", "OPENAI_API_KEY=not-shaped-at-all", "not-shaped-at-all"],
    ["escaped JSON in a log line", '{\\"password\\":\\"pw-in-escaped-json\\"}', "pw-in-escaped-json"],
    ["PagerDuty routing key next to its name", `routing_key: ${fake.pagerduty}`, fake.pagerduty],
    ["token in a query string", "GET /callback?access_token=zzz999&state=1", "zzz999"],
  ];
  it.each(cases)("%s", (_name, text, secret) => {
    const out = r.redactText(text);
    expect(out).not.toContain(secret);
    expect(out).toContain(REDACTED);
  });

  it("keeps the key name, auth scheme, URL user and host so the message still reads", () => {
    expect(r.redactText("PASSWORD=hunter2")).toBe("PASSWORD=[REDACTED]");
    expect(r.redactText("--password hunter2 --verbose")).toBe("--password [REDACTED] --verbose");
    expect(r.redactText('"api_key": "abc"')).toBe('"api_key": "[REDACTED]"');
    expect(r.redactText("Authorization: Bearer abc.def-123")).toBe("Authorization: Bearer [REDACTED]");
    expect(r.redactText("postgres://pitwall:pw@db:5432/x")).toBe("postgres://pitwall:[REDACTED]@db:5432/x");
    expect(r.redactText(`t=${fake.github} ok`)).toBe("t=[REDACTED] ok");
    expect(r.redactText(`use ${fake.github} ok`)).toBe("use [REDACTED] ok");
  });

  it("catches a secret that contains HTML-special characters whole", () => {
    const out = r.redactText("PASSWORD=p&ss<w>rd done");
    expect(out).toBe("PASSWORD=[REDACTED] done");
  });

  it("is idempotent", () => {
    const text = `PASSWORD=x ${fake.openai} postgres://u:p@h Cookie: a=b\nAuthorization: Bearer abc123456`;
    const once = r.redactText(text);
    expect(r.redactText(once)).toBe(once);
  });
});

describe("redactText: ordinary text survives", () => {
  const survivors = [
    "token budget 80% used",
    "used 100000 tokens of 3000000 tokens",
    "max_tokens: 4096, input_tokens=1200, token_budget: 0.8, tokens: 5",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b merged",
    "run 550e8400-e29b-41d4-a716-446655440000 finished",
    `hash ${fake.pagerduty} without a key name`,
    "risk-assessment-for-the-production-database is done",
    "task-management-system-version-two",
    "Bearer authentication is enabled",
    "the password policy requires 12 characters; rotate the secret monthly",
    "secret_name: prod/db SecretId: arn:aws:secretsmanager:eu-west-1:1:secret:x",
    "https://example.com:8080/path?a=1 and mailto:ops@example.com",
    "2024-05-01T12:34:56Z p99 > 5s, errors > 5%, 1234567890",
    "alertname=DiskFull instance=db-1:9100 severity=critical",
    "AKIA is a prefix; sk-learn is a library",
  ];
  it.each(survivors)("%s", (text) => {
    expect(r.redactText(text)).toBe(text);
  });
});

describe("redactValue", () => {
  it("redacts values under sensitive keys deep inside, keeping the structure and leaving the input alone", () => {
    const input = {
      tool: "http_get",
      args: {
        url: "https://api.example.com/v1/items",
        headers: { Authorization: "Bearer x", "x-api-key": "k1", Accept: "application/json" },
        auth: { username: "bob", password: "hunter2" },
        apiKey: "k2",
        access_token: "t1",
        client_secret: "s1",
        SecretId: "prod/db",
        max_tokens: 4096,
        input_tokens: 12,
        token_budget: 0.8,
        steps: [{ cmd: `export TOKEN=abc && deploy --password p1` }, { note: `key ${fake.openai}` }],
      },
      retry: 3,
      enabled: true,
      missing: null,
    };
    const snapshot = structuredClone(input);
    expect(redactValue(input)).toEqual({
      tool: "http_get",
      args: {
        url: "https://api.example.com/v1/items",
        headers: { Authorization: REDACTED, "x-api-key": REDACTED, Accept: "application/json" },
        auth: { username: "bob", password: REDACTED },
        apiKey: REDACTED,
        access_token: REDACTED,
        client_secret: REDACTED,
        SecretId: "prod/db",
        max_tokens: 4096,
        input_tokens: 12,
        token_budget: 0.8,
        steps: [
          { cmd: "export TOKEN=[REDACTED] && deploy --password [REDACTED]" },
          { note: "key [REDACTED]" },
        ],
      },
      retry: 3,
      enabled: true,
      missing: null,
    });
    expect(input).toEqual(snapshot);
  });

  it("redacts whole containers under a sensitive key, numbers too, but keeps null and booleans", () => {
    expect(redactValue({ secrets: { a: "1" }, credentials: ["x"], pin_password: 1234, token: null })).toEqual(
      {
        secrets: REDACTED,
        credentials: REDACTED,
        pin_password: REDACTED,
        token: null,
      },
    );
    expect(redactValue({ require_password: true })).toEqual({ require_password: true });
  });

  it("handles cycles, Maps, Sets, Dates and Errors", () => {
    const cyclic: Record<string, unknown> = { name: "a" };
    cyclic.self = cyclic;
    expect(redactValue(cyclic)).toEqual({ name: "a", self: "[Circular]" });

    const shared = { v: 1 };
    expect(redactValue({ a: shared, b: shared })).toEqual({ a: { v: 1 }, b: { v: 1 } });

    const map = redactValue(
      new Map<string, unknown>([
        ["password", "x"],
        ["user", `id ${fake.github}`],
      ]),
    );
    expect(map).toEqual(
      new Map([
        ["password", REDACTED],
        ["user", "id [REDACTED]"],
      ]),
    );
    expect(redactValue(new Set([`PASSWORD=x`]))).toEqual(new Set(["PASSWORD=[REDACTED]"]));

    const date = new Date(0);
    const copy = redactValue({ at: date }) as { at: Date };
    expect(copy.at).toEqual(date);
    expect(copy.at).not.toBe(date);

    expect(redactValue(new Error(`connect postgres://u:pw@db failed`))).toMatchObject({
      name: "Error",
      message: "connect postgres://u:[REDACTED]@db failed",
    });
  });
});

describe("createRedactor options", () => {
  it("adds the configured filter_sensitive words to the defaults", () => {
    const configured = createRedactor({ sensitiveKeys: ["api_key", "password", "token", "secret", "pin"] });
    expect(configured.redactText("PIN: 1234 user: bob")).toBe("PIN: [REDACTED] user: bob");
    expect(configured.redactValue({ pin: 1234, private_key: "k", user: "bob" })).toEqual({
      pin: REDACTED,
      private_key: REDACTED,
      user: "bob",
    });
    expect(configured.isSensitiveKey("X-API-KEY")).toBe(true);
    expect(configured.isSensitiveKey("tokens")).toBe(false);
    expect(r.isSensitiveKey("pin")).toBe(false);
  });

  it("adds extra patterns", () => {
    const custom = createRedactor({ extraPatterns: [/INTERNAL-\d{6}/] });
    expect(custom.redactText("ids INTERNAL-123456 and INTERNAL-654321")).toBe(
      "ids [REDACTED] and [REDACTED]",
    );
    expect(custom.redactValue(["INTERNAL-123456"])).toEqual([REDACTED]);
  });

  it("the module-level helpers use the default redactor", () => {
    expect(redactText("password: x")).toBe("password: [REDACTED]");
  });
});

describe("pathological input", () => {
  // No timing assertions (benchmarks live under bench/); these finish at once with a linear
  // regex and would hit the test timeout with catastrophic backtracking.
  it.each([
    ["long identifiers with separators", "abc_def-ghi.".repeat(9000)],
    ["digit runs with colons", "1234567890:".repeat(9000)],
    ["URL schemes without @", "://a:".repeat(20000)],
    ["assignments without values", "token=".repeat(16000)],
    ["unterminated PEM headers", "-----BEGIN RSA PRIVATE KEY-----".repeat(3000)],
    ["flags without values", "--password ".repeat(9000)],
    ["100 KB of prose", "The quick brown fox token budget 80% jumps over <b>&amp; x=1, y: 2\n".repeat(1500)],
  ])("%s", (_name, text) => {
    const out = r.redactText(text);
    expect(typeof out).toBe("string");
  });
});

describe("redactValue keeps every key an agent sent", () => {
  it("keeps a JSON __proto__ key as an own property", () => {
    const args = JSON.parse('{"cmd":"ls","__proto__":{"cmd":"rm -rf /"}}');
    const copy = createRedactor().redactValue(args) as Record<string, unknown>;
    expect(JSON.stringify(copy)).toBe('{"cmd":"ls","__proto__":{"cmd":"rm -rf /"}}');
  });
});
