import { createHash } from "node:crypto";
import type { Logger } from "../../observability/logger.ts";
import { createScrubber, errorMessage, failure, SENT, type SendResult } from "./types.ts";

export const PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue";

export type PagerDutySeverity = "critical" | "error" | "warning" | "info";

export interface PagerDutyLink {
  href: string;
  text?: string;
}

/** A trigger event (Events API v2); `dedupKey` names the PagerDuty alert that later events act on. */
export interface PagerDutyIncident {
  dedupKey: string;
  /** Cut to PagerDuty's 1024 characters. */
  summary: string;
  severity: PagerDutySeverity;
  /** Where it happened (host, service); PagerDuty requires one. */
  source: string;
  timestamp?: Date;
  component?: string;
  group?: string;
  class?: string;
  customDetails?: Record<string, unknown>;
  links?: readonly PagerDutyLink[];
}

export interface PagerDutyNotifierOptions {
  /** The integration's routing key (a secret: never logged, scrubbed from errors). */
  routingKey: string;
  eventsUrl?: string;
  log: Logger;
  /** The HTTP client (tests); default global fetch. */
  fetch?: typeof fetch;
  /** Each request is aborted after this. Default 10 s. */
  timeoutMs?: number;
}

export interface PagerDutyNotifier {
  trigger(incident: PagerDutyIncident): Promise<SendResult>;
  acknowledge(dedupKey: string): Promise<SendResult>;
  resolve(dedupKey: string): Promise<SendResult>;
}

const MAX_SUMMARY = 1024;
const MAX_DEDUP_KEY = 255;

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * PagerDuty takes dedup keys of up to 255 characters. A longer key is shortened the same way
 * every time (a prefix and its hash), so the acknowledge and resolve that follow find the alert.
 */
export function shortenDedupKey(key: string): string {
  if (key.length <= MAX_DEDUP_KEY) return key;
  const hash = createHash("sha256").update(key).digest("hex");
  return `${key.slice(0, MAX_DEDUP_KEY - hash.length - 1)}#${hash}`;
}

type Action = "trigger" | "acknowledge" | "resolve";

/**
 * PagerDuty Events API v2. 202 is success; 429 (rate limited), 408, 5xx, timeouts and network
 * errors are worth another try; 400 (invalid event) and other 4xx are not, and carry PagerDuty's
 * own explanation.
 */
export function createPagerDutyNotifier(opts: PagerDutyNotifierOptions): PagerDutyNotifier {
  const eventsUrl = opts.eventsUrl ?? PAGERDUTY_EVENTS_URL;
  const doFetch = opts.fetch ?? fetch;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const scrub = createScrubber([opts.routingKey]);
  const log = opts.log.child({ component: "pagerduty", events_url: new URL(eventsUrl).origin });

  async function post(action: Action, dedupKey: string, extra: Record<string, unknown>): Promise<SendResult> {
    const body = {
      routing_key: opts.routingKey,
      event_action: action,
      dedup_key: shortenDedupKey(dedupKey),
      client: "pitwall",
      ...extra,
    };
    const ctx = { action, dedup_key: body.dedup_key };
    let response: Response;
    try {
      response = await doFetch(eventsUrl, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
      const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
      const error = scrub(
        timedOut
          ? `PagerDuty did not answer within ${timeoutMs} ms`
          : `PagerDuty unreachable: ${errorMessage(err)}${cause}`,
      );
      log.warn({ ...ctx, retryable: true, error }, "PagerDuty event not sent");
      return failure(true, error);
    }
    const text = await response.text().catch(() => "");
    if (response.ok) {
      log.debug({ ...ctx, status: response.status }, "PagerDuty event accepted");
      return SENT;
    }
    const status = response.status;
    const retryable = status === 429 || status === 408 || status >= 500;
    const error = scrub(`PagerDuty answered ${status}${explain(status, text)}`);
    log.warn({ ...ctx, status, retryable, error }, "PagerDuty event refused");
    return failure(retryable, error);
  }

  return {
    trigger(incident) {
      const payload: Record<string, unknown> = {
        summary: cut(incident.summary, MAX_SUMMARY),
        source: incident.source || "pitwall",
        severity: incident.severity,
      };
      if (incident.timestamp) payload.timestamp = incident.timestamp.toISOString();
      if (incident.component) payload.component = incident.component;
      if (incident.group) payload.group = incident.group;
      if (incident.class) payload.class = incident.class;
      if (incident.customDetails) payload.custom_details = incident.customDetails;
      const extra: Record<string, unknown> = { payload };
      if (incident.links && incident.links.length > 0) {
        extra.links = incident.links.map((l) => (l.text === undefined ? { href: l.href } : { ...l }));
      }
      return post("trigger", incident.dedupKey, extra);
    },
    acknowledge: (dedupKey) => post("acknowledge", dedupKey, {}),
    resolve: (dedupKey) => post("resolve", dedupKey, {}),
  };
}

/** PagerDuty's reason: `{status, message, errors: [...]}` on 400; a short word otherwise. */
function explain(status: number, body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown; errors?: unknown };
    const parts: string[] = [];
    if (typeof parsed.message === "string") parts.push(parsed.message);
    if (Array.isArray(parsed.errors)) parts.push(...parsed.errors.map(String));
    if (parts.length > 0) return `: ${parts.join("; ")}`;
  } catch {
    // not JSON
  }
  if (status === 429) return " (rate limited)";
  const trimmed = body.trim();
  return trimmed ? `: ${trimmed.slice(0, 200)}` : "";
}
