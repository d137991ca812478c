/**
 * Output redaction: secrets never reach a chat message, a log line or an error.
 *
 * Two rules, applied together:
 * - by key: a value stored under a key that names a secret (`password`, `api_key`, `x-api-key`,
 *   `access_token`, `client_secret`, `Authorization`, ...) is replaced whole, in objects and in
 *   free-text assignments (`PASSWORD=...`, `api_key: ...`, `"token": "..."`, `--password ...`);
 * - by shape: well-known credential formats (provider API keys, bot tokens, JWTs, PEM private
 *   keys, URL passwords, bearer tokens) are replaced wherever they appear.
 *
 * A key names a secret when its *last word* is a sensitive word: `access_token` and `SecretId`
 * differ on purpose — an approver must still see `max_tokens: 4096`, `token_budget: 0.8` or which
 * secret an agent asks to read (`SecretId: "prod/db"`), but never the secret itself.
 */

export const REDACTED = "[REDACTED]";

/**
 * Sensitive words, written with their word breaks (`api_key` also matches `apiKey`, `API-KEY`,
 * `apikey`, `x-api-key`, `OPENAI_API_KEY`). The report's `safety.output.filter_sensitive`
 * (`[api_key, password, token, secret]`) is a subset.
 */
export const DEFAULT_SENSITIVE_KEYS: readonly string[] = [
  "api_key",
  "password",
  "passwd",
  "passphrase",
  "token",
  "secret",
  "secrets",
  "access_key",
  "secret_key",
  "private_key",
  "routing_key",
  "integration_key",
  "signing_key",
  "encryption_key",
  "master_key",
  "authorization",
  "cookie",
  "credential",
  "credentials",
];

export interface RedactorOptions {
  /**
   * Words that make a key sensitive, e.g. the config's `filter_sensitive`. They are added to the
   * defaults: a shorter list in a config must not quietly let `Authorization` or `private_key` through.
   */
  sensitiveKeys?: readonly string[];
  /** More secret shapes; each whole match becomes `[REDACTED]`. */
  extraPatterns?: readonly RegExp[];
}

export interface Redactor {
  /** Deep copy of `value` with sensitive keys' values replaced and every string scanned by shape. */
  redactValue(value: unknown): unknown;
  /** `text` with every secret replaced by `[REDACTED]` (a leading key name such as `password=` is kept). */
  redactText(text: string): string;
  /** Whether a value stored under this key is replaced whole. */
  isSensitiveKey(key: string): boolean;
}

/** `apiKey`, `api-key`, `API_KEY` -> ["api", "key"]. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

function normalizeKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

/** A case-insensitive source for one literal word (Node 20 has no inline `(?i:)`). */
function caseless(word: string): string {
  let out = "";
  for (const ch of word) {
    const lo = ch.toLowerCase();
    const up = ch.toUpperCase();
    out += lo === up ? ch.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&") : `[${lo}${up}]`;
  }
  return out;
}

// Identifier characters of a key in free text (`OPENAI_API_KEY`, `x-api-key`, `db.password`).
const ID = "A-Za-z0-9_.\\-";
// Auth schemes kept in front of the redacted credential (`Authorization: Bearer [REDACTED]`).
const SCHEME = `(?:${["Bearer", "Basic", "Token", "Bot", "Digest", "Negotiate", "ApiKey"].map(caseless).join("|")})[ \\t]+`;
// An unquoted value runs to whitespace or a quote: a secret with `&`, `,` or `)` is caught whole.
const VALUE = `(?:(?<=")(?:[^"\\\\\\r\\n]|\\\\[^"\\r\\n])+|(?<=')[^'\\\\\\r\\n]+|(?!\\[REDACTED\\])[^\\s"'\`\\\\]+)`;

/** Shapes of secrets; each alternative has at most one capture group: the prefix kept in front. */
function shapeSources(keyAlternation: string): string[] {
  return [
    // PEM private key blocks (also a block cut short by truncation).
    "-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY[A-Z0-9 ]{0,20}-----[\\s\\S]*?(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY[A-Z0-9 ]{0,20}-----|$)",
    // JSON Web Tokens (header.payload.signature; the signature may be empty for alg "none").
    "eyJ(?<![A-Za-z0-9_-]eyJ)[A-Za-z0-9_-]{8,}\\.eyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]*",
    // Telegram bot tokens, also inside API URLs (`/bot123456:AA...`).
    "[0-9](?<![0-9][0-9])[0-9]{5,11}:[A-Za-z0-9_-]{30,}",
    // OpenAI (sk-, sk-proj-), Anthropic (sk-ant-); a digit is required so hyphenated words survive.
    "sk-(?<![A-Za-z0-9]sk-)(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{20,}",
    // Stripe secret and restricted keys, webhook secrets.
    "[sr]k_(?<![A-Za-z0-9][sr]k_)(?:live|test)_[A-Za-z0-9]{16,}",
    "whsec_(?<![A-Za-z0-9]whsec_)[A-Za-z0-9+/=]{20,}",
    // GitHub, GitLab, npm, Hugging Face tokens.
    "gh[pousr]_(?<![A-Za-z0-9_]gh[pousr]_)[A-Za-z0-9]{20,}",
    "github_pat_(?<![A-Za-z0-9_]github_pat_)[A-Za-z0-9_]{20,}",
    "glpat-(?<![A-Za-z0-9_]glpat-)[A-Za-z0-9_-]{20,}",
    "npm_(?<![A-Za-z0-9_]npm_)[A-Za-z0-9]{36}",
    "hf_(?<![A-Za-z0-9_]hf_)[A-Za-z0-9]{30,}",
    // Slack tokens and incoming webhooks, Discord webhooks (the path is the secret).
    "xox[abposr]-(?<![A-Za-z0-9]xox[abposr]-)[A-Za-z0-9-]{10,}",
    "(hooks\\.slack\\.com/services/)[A-Za-z0-9/_-]+",
    "(discord(?:app)?\\.com/api/webhooks/)[A-Za-z0-9/_-]+",
    // AWS access key ids.
    "A[KS]IA(?<![A-Z0-9]A[KS]IA)[0-9A-Z]{16}(?![0-9A-Z])",
    // Google API keys and OAuth access tokens.
    "AIza(?<![A-Za-z0-9_-]AIza)[0-9A-Za-z_-]{35}",
    "ya29\\.(?<![A-Za-z0-9_-]ya29\\.)[0-9A-Za-z_-]{20,}",
    // SendGrid.
    "SG\\.(?<![A-Za-z0-9]SG\\.)[A-Za-z0-9_-]{16,}\\.[A-Za-z0-9_-]{16,}",
    // Password in a URL: scheme://user:PASSWORD@host (the scheme and user stay).
    "(://[^\\s:/?#@'\"<>]*:)[^\\s/?#@'\"<>]+(?=@)",
    // Cookie headers carry several secrets separated by `;`: the whole header value goes.
    `((?:${caseless("set-")})?${caseless("cookie")}(?<![${ID}](?:${caseless("set-")})?${caseless("cookie")})[ \\t]*:[ \\t]*)[^\\r\\n"']+`,
    // Assignments to a sensitive key: `PASSWORD=x`, `api_key: x`, `"token": "x"`, `token => 'x'`,
    // `Authorization: Bearer x`, `--password x`. Plain mentions ("token budget", "100000 tokens")
    // are no assignments and stay. Anchored on the separator (rare in prose), the key is looked
    // behind; the kept prefix starts at the separator.
    // A key right after `word:` is part of a name, not a key (`arn:aws:...:secret:prod/db`).
    `((?::=|=>|[:=])(?<=(?<![${ID}])(?<![${ID}]:)[${ID}]*(?:${keyAlternation})\\\\?["']?[ \\t]*(?::=|=>|[:=]))[ \\t]*\\\\?["']?(?!(?:${SCHEME})?\\[REDACTED\\])(?:${SCHEME})?)${VALUE}`,
    `(-(?<![${ID}]-)-?[${ID}]*(?:${keyAlternation})[ \\t]+\\\\?["']?)(?!-)${VALUE}`,
    // A bearer token on its own; it must look like one (a digit, or long) so prose survives.
    `(${caseless("bearer")}(?<![${ID}]${caseless("bearer")})[ \\t]+)(?:(?=[A-Za-z0-9._~+/-]*[0-9])[A-Za-z0-9._~+/-]{8,}|[A-Za-z0-9._~+/-]{20,})=*`,
  ];
}

export function createRedactor(opts: RedactorOptions = {}): Redactor {
  const keyWords = [...new Set([...DEFAULT_SENSITIVE_KEYS, ...(opts.sensitiveKeys ?? [])])]
    .map(words)
    .filter((w) => w.length > 0);
  const normalizedKeys = keyWords.map((w) => w.join(""));
  // Longest first, so `secrets` is tried before `secret`.
  const keyAlternation = keyWords
    .map((w) => w.map(caseless).join("[_.\\-]?"))
    .sort((a, b) => b.length - a.length)
    .join("|");
  const combined = new RegExp(
    shapeSources(keyAlternation)
      .map((s) => `(?:${s})`)
      .join("|"),
    "g",
  );
  const extras = (opts.extraPatterns ?? []).map(
    (p) => new RegExp(p.source, `${p.flags.replace(/[gy]/g, "")}g`),
  );

  const replaceMatch = (...args: unknown[]): string => {
    // args: match, ...captures, offset, input — the first defined capture is the kept prefix.
    for (let k = 1; k < args.length - 2; k++) {
      const prefix = args[k];
      if (typeof prefix === "string") return prefix + REDACTED;
    }
    return REDACTED;
  };

  function redactText(text: string): string {
    let out = text.replace(combined, replaceMatch);
    for (const re of extras) out = out.replace(re, REDACTED);
    return out;
  }

  function isSensitiveKey(key: string): boolean {
    const k = normalizeKey(key);
    return k.length > 0 && normalizedKeys.some((w) => k.endsWith(w));
  }

  function keyed(key: unknown, value: unknown, ancestors: WeakSet<object>): unknown {
    if (
      typeof key === "string" &&
      value !== null &&
      value !== undefined &&
      typeof value !== "boolean" &&
      isSensitiveKey(key)
    ) {
      return REDACTED;
    }
    return walk(value, ancestors);
  }

  function walk(value: unknown, ancestors: WeakSet<object>): unknown {
    if (typeof value === "string") return redactText(value);
    if (typeof value !== "object" || value === null) return value;
    if (ancestors.has(value)) return "[Circular]";
    if (value instanceof Date) return new Date(value.getTime());
    if (value instanceof RegExp) return new RegExp(value.source, value.flags);
    if (ArrayBuffer.isView(value)) return "[binary]";
    ancestors.add(value);
    try {
      if (Array.isArray(value)) return value.map((item) => walk(item, ancestors));
      if (value instanceof Map) {
        const copy = new Map<unknown, unknown>();
        for (const [k, v] of value) copy.set(k, keyed(k, v, ancestors));
        return copy;
      }
      if (value instanceof Set) {
        const copy = new Set<unknown>();
        for (const v of value) copy.add(walk(v, ancestors));
        return copy;
      }
      const copy: Record<string, unknown> = {};
      if (value instanceof Error) {
        // name and message are not enumerable; an error's message often quotes a secret.
        copy.name = value.name;
        copy.message = redactText(value.message);
      }
      // defineProperty, not assignment: a JSON "__proto__" key must survive as an own key, or a
      // prompt built from the copy would silently hide part of what the agent sent.
      for (const [k, v] of Object.entries(value)) {
        Object.defineProperty(copy, k, {
          value: keyed(k, v, ancestors),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return copy;
    } finally {
      ancestors.delete(value);
    }
  }

  return {
    redactText,
    redactValue: (value) => walk(value, new WeakSet()),
    isSensitiveKey,
  };
}

let defaultRedactor: Redactor | undefined;

function getDefault(): Redactor {
  defaultRedactor ??= createRedactor();
  return defaultRedactor;
}

/** `redactText` of the default redactor. */
export function redactText(text: string): string {
  return getDefault().redactText(text);
}

/** `redactValue` of the default redactor. */
export function redactValue(value: unknown): unknown {
  return getDefault().redactValue(value);
}
