/**
 * Loading pitwall.yaml: file resolution, YAML, `${ENV}`, the schema, and the lines check-config
 * prints. Nothing here runs on import; the environment is passed in.
 */
import { readFile } from "node:fs/promises";
import { isPlainObject } from "./fields.ts";
import { interpolateEnv, type TreePath } from "./interpolate.ts";
import { type ConfigIssue, formatIssues, formatPath, humanErrorMap, treeIssues } from "./issues.ts";
import { type Config, configSchema, INFORMATIONAL_SECTIONS } from "./schema.ts";
import { lineOfPath, parseYaml, pathAtOffset, quoteBareGt, yamlErrorMessage } from "./yaml-text.ts";

export type LoadResult =
  | { ok: true; config: Config; notes: string[]; source: string }
  | { ok: false; errors: ConfigIssue[]; source: string };

export const DEFAULTS_SOURCE = "built-in defaults";

function isUnder(path: string, parent: string): boolean {
  return path === parent || path.startsWith(`${parent}.`) || path.startsWith(`${parent}[`);
}

/** Parses and checks the text of a pitwall.yaml. Pure: reads only `env` (for `${VAR}`). */
export function parseConfig(rawYamlText: string, env: NodeJS.ProcessEnv, source = "(text)"): LoadResult {
  // `key: > text` is always a YAML error, so a file that parses has none; only a file that fails
  // is searched for them (and so text inside a literal block is never mistaken for one).
  let yaml = parseYaml(rawYamlText);
  let repaired: ReturnType<typeof quoteBareGt> = { text: rawYamlText, found: [] };
  if (yaml.doc.errors.length > 0) {
    repaired = quoteBareGt(rawYamlText);
    if (repaired.found.length > 0) yaml = parseYaml(repaired.text);
  }
  const { doc } = yaml;
  const issues: ConfigIssue[] = [];
  const locate = (path: TreePath, message: string) => {
    const line = lineOfPath(yaml, path);
    issues.push({ path: formatPath(path), message, ...(line === undefined ? {} : { line }) });
  };
  const fail = (): LoadResult => {
    const seen = new Set<string>();
    const unique = issues.filter((issue) => {
      const key = `${issue.path}\u0000${issue.message}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    // Stable sort: in file order, issues without a line keep their place at the end.
    const errors = unique
      .map((issue, index) => ({ issue, index }))
      .sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || a.index - b.index)
      .map(({ issue }) => issue);
    return { ok: false, errors, source };
  };

  for (const bare of repaired.found) {
    const path = pathAtOffset(doc, bare.offset);
    issues.push({
      path: path ? formatPath(path) : `line ${bare.line}`,
      message: `a value beginning with ">" must be quoted in YAML: write ${bare.key}: ${JSON.stringify(bare.value)}`,
      line: bare.line,
    });
  }
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const position = error.linePos?.[0];
      issues.push({
        path: position ? `line ${position.line}, column ${position.col}` : "(yaml)",
        message: yamlErrorMessage(error.message),
        ...(position ? { line: position.line } : {}),
      });
    }
    return fail();
  }

  let tree: unknown;
  try {
    tree = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    issues.push({ path: "(yaml)", message: error instanceof Error ? error.message : "cannot be read" });
    return fail();
  }
  if (tree === null || tree === undefined) tree = {};
  if (!isPlainObject(tree)) {
    issues.push({
      path: "(top level)",
      message: "expected a map of sections, like telegram:, alerting:, ...",
    });
    return fail();
  }

  const interpolated = interpolateEnv(tree, env);
  const unresolved = interpolated.issues.map((issue) => formatPath(issue.path));
  for (const issue of interpolated.issues) locate(issue.path, issue.message);

  const parsed = configSchema.safeParse(interpolated.value, { error: humanErrorMap });
  if (!parsed.success) {
    for (const issue of treeIssues(parsed.error.issues, configSchema, interpolated.value)) {
      const written = formatPath(issue.path);
      // A field whose variable is missing has already been reported; its placeholder text would
      // only add a confusing second complaint.
      if (unresolved.some((path) => isUnder(written, path))) continue;
      locate(issue.path, issue.message);
    }
  }
  if (issues.length > 0 || !parsed.success) return fail();
  return {
    ok: true,
    config: parsed.data,
    notes: collectNotes(interpolated.value as Record<string, unknown>, parsed.data),
    source,
  };
}

const INFORMATIONAL_NOTES: Record<(typeof INFORMATIONAL_SECTIONS)[number], string> = {
  caching: "pitwall does not cache model responses; kept as information",
  secrets: `pitwall reads secrets from the environment through \${VAR}; kept as information`,
  logging: "pitwall writes JSON logs to stdout (level from LOG_LEVEL); kept as information",
  metrics: "pitwall serves Prometheus metrics at /metrics; kept as information",
  orchestration:
    "pitwall queues its own work in Postgres and coordinates through REDIS_URL or Postgres; kept as information",
  scaling:
    "run as many pitwall instances as you like, they elect one leader; instance counts are your orchestrator's, kept as information",
  deployment: "describes infrastructure pitwall does not run; kept as information",
};

function child(value: unknown, key: string): unknown {
  return isPlainObject(value) ? value[key] : undefined;
}

/** Informational lines for check-config: what is accepted but not acted on, and quiet defaults. */
export function collectNotes(raw: Record<string, unknown>, config: Config): string[] {
  const notes: string[] = [];
  for (const name of INFORMATIONAL_SECTIONS) {
    if (raw[name] === undefined) continue;
    let note = `${name}: ${INFORMATIONAL_NOTES[name]}`;
    const regions = child(raw[name], "regions");
    if (name === "deployment" && Array.isArray(regions)) note += ` (${regions.length} region(s) listed)`;
    if (name === "scaling" && child(raw[name], "agent_instances") !== undefined) {
      note += "; scaling.agent_instances is up to your agents' platform";
    }
    notes.push(note);
  }

  const channels = child(raw.alerting, "channels");
  const channelList = typeof channels === "string" ? [channels] : Array.isArray(channels) ? channels : [];
  const foreign = channelList.filter(
    (name) =>
      typeof name === "string" && !["chat", "telegram", "email", "pagerduty"].includes(name.toLowerCase()),
  );
  if (foreign.length > 0) {
    notes.push(
      `alerting.channels: pitwall delivers to Telegram, email and PagerDuty; ${foreign.join(", ")} not delivered`,
    );
  }
  if (child(child(raw.alerting, "email"), "smtp_url") === "") {
    notes.push("alerting.email: smtp_url is empty, so email is off");
  }
  if (child(child(raw.alerting, "pagerduty"), "routing_key") === "") {
    notes.push("alerting.pagerduty: routing_key is empty, so PagerDuty is off");
  }
  for (const step of ["email", "pagerduty"] as const) {
    if (
      config.alerting.escalation.chain.includes(step) &&
      config.alerting[step] === null &&
      raw.alerting !== undefined
    ) {
      const configured = child(child(raw.alerting, "escalation"), "chain") !== undefined;
      if (configured)
        notes.push(`alerting.escalation.chain: ${step} is listed but alerting.${step} is not set; skipped`);
    }
  }

  if (config.telegram) {
    if (child(child(raw.telegram, "chats"), "alerts") === undefined) {
      notes.push(
        `telegram.chats.alerts: not set; alerts go to operator ${config.telegram.chats.alerts.id} in a private chat with the bot`,
      );
    }
    if (config.telegram.mode === "polling" && config.telegram.webhook !== null) {
      notes.push("telegram.webhook: set, but mode is polling; it is not used");
    }
  }
  if (config.cost_management.tracking.granularity !== "per_request") {
    notes.push(
      "cost_management.tracking.granularity: pitwall records every request and keeps hourly totals; kept as information",
    );
  }
  return notes;
}

function readProblem(error: unknown, fromEnv: boolean): string {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === "ENOENT") {
    return fromEnv ? "file not found (named by PITWALL_CONFIG)" : "file not found";
  }
  if (code === "EISDIR") return "is a directory, not a file";
  if (code === "EACCES" || code === "EPERM") return "cannot be read (permission denied)";
  return `cannot be read (${code ?? "unknown error"})`;
}

/**
 * Loads the config: the explicit file, else PITWALL_CONFIG, else ./pitwall.yaml if present, else
 * built-in defaults. A missing or unreadable named file is an error result, never a throw.
 */
export async function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv } = {}): Promise<LoadResult> {
  const env = opts.env ?? process.env;
  const fromEnv = !opts.file && Boolean(env.PITWALL_CONFIG);
  const named = opts.file || env.PITWALL_CONFIG || undefined;
  if (named !== undefined) {
    let text: string;
    try {
      text = await readFile(named, "utf8");
    } catch (error) {
      return { ok: false, errors: [{ path: named, message: readProblem(error, fromEnv) }], source: named };
    }
    return parseConfig(text, env, named);
  }
  const fallback = "pitwall.yaml";
  let text: string;
  try {
    text = await readFile(fallback, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException | null)?.code === "ENOENT")
      return parseConfig("", env, DEFAULTS_SOURCE);
    return { ok: false, errors: [{ path: fallback, message: readProblem(error, false) }], source: fallback };
  }
  return parseConfig(text, env, fallback);
}

/** `pitwall check-config [file]`: what to print and the exit code. */
export async function runCheckConfig(
  file?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ exitCode: 0 | 1; output: string }> {
  const result = await loadConfig({ file, env });
  if (result.ok) {
    const lines = [`config OK (${result.source})`, ...result.notes.map((note) => `note: ${note}`)];
    return { exitCode: 0, output: `${lines.join("\n")}\n` };
  }
  const count = result.errors.length;
  return {
    exitCode: 1,
    output: `${result.source}: ${count} problem${count === 1 ? "" : "s"}\n${formatIssues(result.errors)}\n`,
  };
}
