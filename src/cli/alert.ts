/**
 * `pitwall alert`: raises (or resolves) an alert on a running pitwall through `POST /v1/alerts`,
 * for scripts, cron jobs and people at a shell. Prints what pitwall answered; exits 0 on success,
 * 1 when pitwall refused or could not be reached, 2 on a usage mistake. Never prints the key.
 */
import { parseArgs } from "node:util";

export const ALERT_USAGE = `Usage: pitwall alert --severity info|warning|critical --title TEXT [options]

Options:
  --severity LEVEL      info, warning or critical (default info with --resolve)
  --title TEXT          one-line summary (default: the key, with --resolve)
  --key KEY             dedup key; repeats with the same key count as one incident
  --label NAME=VALUE    a label; repeat for more
  --text TEXT           details
  --source NAME         who raises it (default: pitwall-cli)
  --resolve             resolve the open incident with this key (or source, title and labels)
  --url URL             pitwall's address (default: $PITWALL_URL or http://127.0.0.1:8080)
  --api-key KEY         API key with the alerts scope (default: $PITWALL_API_KEY)
  --key-env NAME        read the API key from environment variable NAME instead
  --json                print pitwall's JSON answer as is

Example:
  pitwall alert --severity critical --title "Disk full on db1" --key disk:db1 --label host=db1
`;

export interface AlertCliIo {
  env?: NodeJS.ProcessEnv;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  fetch?: typeof fetch;
  /** Give up waiting for pitwall after this. Default 15 s. */
  timeoutMs?: number;
}

const DEFAULT_URL = "http://127.0.0.1:8080";

class UsageError extends Error {}

interface Parsed {
  body: Record<string, unknown>;
  url: string;
  apiKey: string;
  json: boolean;
}

function parse(argv: readonly string[], env: NodeJS.ProcessEnv): Parsed {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        severity: { type: "string", short: "s" },
        title: { type: "string", short: "t" },
        key: { type: "string", short: "k" },
        label: { type: "string", short: "l", multiple: true },
        text: { type: "string" },
        source: { type: "string" },
        resolve: { type: "boolean" },
        url: { type: "string" },
        "api-key": { type: "string" },
        "key-env": { type: "string" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) throw new UsageError("");
  const resolve = values.resolve === true;
  const key = values.key as string | undefined;
  const labels: Record<string, string> = {};
  for (const pair of (values.label as string[] | undefined) ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new UsageError(`--label takes NAME=VALUE, got "${pair}"`);
    labels[pair.slice(0, at).trim()] = pair.slice(at + 1);
  }
  const severity = (values.severity as string | undefined) ?? (resolve ? "info" : undefined);
  const title = (values.title as string | undefined) ?? (resolve && key ? key : undefined);
  if (severity === undefined) throw new UsageError("--severity is required (info, warning or critical)");
  if (title === undefined) {
    throw new UsageError(resolve ? "--resolve needs --key or --title" : "--title is required");
  }
  const keyEnv = values["key-env"] as string | undefined;
  const apiKey = (values["api-key"] as string | undefined) ?? (keyEnv ? env[keyEnv] : env.PITWALL_API_KEY);
  if (!apiKey) {
    throw new UsageError(
      keyEnv
        ? `environment variable ${keyEnv} (from --key-env) is not set`
        : "no API key: pass --api-key or set PITWALL_API_KEY",
    );
  }
  const url = ((values.url as string | undefined) ?? env.PITWALL_URL ?? DEFAULT_URL).replace(/\/+$/, "");
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--url "${url}" is not a URL like http://127.0.0.1:8080`);
  }
  const body: Record<string, unknown> = {
    severity,
    title,
    source: (values.source as string | undefined) ?? "pitwall-cli",
    status: resolve ? "resolved" : "firing",
  };
  if (key !== undefined) body.key = key;
  if (values.text !== undefined) body.text = values.text;
  if (Object.keys(labels).length > 0) body.labels = labels;
  return { body, url, apiKey, json: values.json === true };
}

function describeAnswer(answer: {
  id?: string | null;
  key?: string;
  status?: string;
  count?: number;
}): string {
  const id = answer.id ?? "-";
  switch (answer.status) {
    case "new":
      return `new incident ${id} (key ${answer.key})`;
    case "deduplicated":
      return `repeat of incident ${id} (key ${answer.key}), seen ${answer.count} times`;
    case "silenced":
      return `incident ${id} (key ${answer.key}) is silenced, seen ${answer.count} times; nobody is notified`;
    case "resolved":
      return answer.id
        ? `resolved incident ${id} (key ${answer.key})`
        : `nothing open under key ${answer.key}`;
    default:
      return JSON.stringify(answer);
  }
}

export async function runAlert(argv: readonly string[], io: AlertCliIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const out = io.stdout ?? ((text: string) => process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => process.stderr.write(text));
  let parsed: Parsed;
  try {
    parsed = parse(argv, env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    if (e.message === "") {
      out(ALERT_USAGE);
      return 0;
    }
    err(`pitwall alert: ${e.message}\n\n${ALERT_USAGE}`);
    return 2;
  }
  const doFetch = io.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(`${parsed.url}/v1/alerts`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${parsed.apiKey}` },
      body: JSON.stringify(parsed.body),
      signal: AbortSignal.timeout(io.timeoutMs ?? 15_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e));
    err(
      `pitwall alert: could not reach pitwall at ${parsed.url} (${why}); is it running? Set --url or PITWALL_URL\n`,
    );
    return 1;
  }
  const raw = await response.text();
  let answer: Record<string, unknown> = {};
  try {
    answer = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    // not JSON: shown below as text
  }
  if (response.status !== 202) {
    const message =
      typeof answer.message === "string" ? answer.message : raw.slice(0, 500) || response.statusText;
    const hint =
      response.status === 401
        ? " (check --api-key / PITWALL_API_KEY)"
        : response.status === 503
          ? " (the alert was NOT recorded; try again)"
          : "";
    err(`pitwall alert: pitwall answered ${response.status}: ${message}${hint}\n`);
    return 1;
  }
  out(parsed.json ? `${raw}\n` : `${describeAnswer(answer)}\n`);
  return 0;
}
