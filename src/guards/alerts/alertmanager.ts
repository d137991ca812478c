/**
 * Alertmanager's webhook (version 4) read into pitwall alerts, per DESIGN.md:
 * key = the alert's fingerprint (recomputed from its labels exactly as Alertmanager does when a
 * sender omits it), title = annotations.summary ?? labels.alertname, text = annotations.description
 * (or the older `message`), severity from labels.severity (critical/page -> critical, warning/warn
 * -> warning, else info), status as sent, labels kept, source `alertmanager/<receiver>`.
 *
 * Alertmanager does not retry a 4xx, so a 400 loses alerts for good: only a body that is not a
 * webhook at all is refused (no `alerts` list, an alert without labels or status, wrong types).
 * Extra fields, unknown versions and severities, over-long titles and texts are accepted (long
 * ones are cut to pitwall's limits rather than refused).
 */
import { z } from "zod";
import { alertmanagerFingerprint, MAX_KEY_LENGTH } from "./fingerprint.ts";
import { MAX_TEXT_BYTES, MAX_TITLE_LENGTH, utf8Length, wellFormed } from "./input.ts";
import { severityFromLabel } from "./severity.ts";
import type { AlertInput } from "./types.ts";

const stringMap = z.record(z.string(), z.string());

const webhookAlertSchema = z.looseObject({
  status: z.enum(["firing", "resolved"]),
  labels: stringMap,
  annotations: stringMap.nullish(),
  startsAt: z.string().nullish(),
  endsAt: z.string().nullish(),
  generatorURL: z.string().nullish(),
  fingerprint: z.string().nullish(),
});

export const alertmanagerWebhookSchema = z.looseObject({
  version: z.string().nullish(),
  groupKey: z.string().nullish(),
  truncatedAlerts: z.number().nullish(),
  status: z.string().nullish(),
  receiver: z.string().nullish(),
  groupLabels: stringMap.nullish(),
  commonLabels: stringMap.nullish(),
  commonAnnotations: stringMap.nullish(),
  externalURL: z.string().nullish(),
  alerts: z.array(webhookAlertSchema),
});

export type AlertmanagerWebhook = z.output<typeof alertmanagerWebhookSchema>;

export type WebhookMapping =
  | {
      ok: true;
      alerts: AlertInput[];
      /** Alerts Alertmanager left out of this message (`max_alerts`); worth a log line. */
      truncated: number;
    }
  | { ok: false; reason: string };

export const ALERTMANAGER_SOURCE = "alertmanager";

export function mapAlertmanagerWebhook(body: unknown): WebhookMapping {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return {
      ok: false,
      reason: `expected an Alertmanager webhook (an object with "alerts", version 4), got ${describeBody(body)}`,
    };
  }
  const parsed = alertmanagerWebhookSchema.safeParse(storable(body));
  if (!parsed.success) return { ok: false, reason: describeIssue(body, parsed.error.issues[0]) };
  const webhook = parsed.data;
  const receiver = webhook.receiver?.trim() ?? "";
  const source = receiver === "" ? ALERTMANAGER_SOURCE : `${ALERTMANAGER_SOURCE}/${receiver}`;
  return {
    ok: true,
    alerts: webhook.alerts.map((alert) => mapAlert(alert, source)),
    truncated: webhook.truncatedAlerts ?? 0,
  };
}

/**
 * PostgreSQL text cannot hold U+0000 nor lone surrogates. Alertmanager never retries a 4xx, so
 * instead of refusing the webhook, both become U+FFFD (what approvals do with arguments, too).
 */
function storable(value: unknown): unknown {
  if (typeof value === "string")
    return wellFormed(value.includes("\u0000") ? value.replaceAll("\u0000", "\ufffd") : value);
  if (Array.isArray(value)) return value.map(storable);
  if (value && typeof value === "object") {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(copy, storable(k) as string, {
        value: storable(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return copy;
  }
  return value;
}

function describeBody(body: unknown): string {
  if (body === undefined) return "no JSON body";
  if (body === null) return "null";
  return Array.isArray(body) ? "a list" : `a ${typeof body}`;
}

function mapAlert(alert: z.output<typeof webhookAlertSchema>, source: string): AlertInput {
  const labels = { ...alert.labels };
  const annotations = alert.annotations ?? {};
  const fingerprint = alert.fingerprint?.trim() ?? "";
  const key =
    fingerprint !== "" && fingerprint.length <= MAX_KEY_LENGTH
      ? fingerprint
      : alertmanagerFingerprint(labels);
  const title = nonEmpty(annotations.summary) ?? nonEmpty(labels.alertname) ?? `Alertmanager alert ${key}`;
  const text = nonEmpty(annotations.description) ?? nonEmpty(annotations.message);
  const mapped: AlertInput = {
    key,
    severity: severityFromLabel(labels.severity),
    title: cut(title.trim(), MAX_TITLE_LENGTH),
    text: text === undefined ? undefined : cutBytes(text, MAX_TEXT_BYTES),
    source,
    labels,
    status: alert.status,
  };
  const startsAt = parseTime(alert.startsAt);
  if (startsAt) mapped.startsAt = startsAt;
  const endsAt = alert.status === "resolved" ? parseTime(alert.endsAt) : undefined;
  if (endsAt) mapped.endsAt = endsAt;
  const url = nonEmpty(alert.generatorURL);
  if (url) mapped.url = url;
  return mapped;
}

function nonEmpty(value: string | null | undefined): string | undefined {
  return value === undefined || value === null || value.trim() === "" ? undefined : value;
}

/**
 * RFC 3339 as Alertmanager writes it (nanoseconds allowed); Go's zero time `0001-01-01T00:00:00Z`
 * (endsAt of a firing alert) and anything unreadable count as absent.
 */
function parseTime(value: string | null | undefined): Date | undefined {
  if (!value || value.startsWith("0001-01-01")) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never end on the first half of a surrogate pair (half an emoji).
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 2)) ? max - 2 : max - 1;
  return `${text.slice(0, end)}…`;
}

function cutBytes(text: string, maxBytes: number): string {
  if (utf8Length(text) <= maxBytes) return text;
  let bytes = 3; // the ellipsis
  let end = 0;
  while (end < text.length) {
    const width = text.codePointAt(end)! > 0xffff ? 2 : 1;
    const size = utf8Length(text.slice(end, end + width));
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += width;
  }
  return `${text.slice(0, end)}…`;
}

function describeIssue(body: object, issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return "not an Alertmanager webhook";
  let path = "";
  let value: unknown = body;
  for (const segment of issue.path) {
    path +=
      typeof segment === "number" ? `[${segment}]` : path === "" ? String(segment) : `.${String(segment)}`;
    value =
      typeof value === "object" && value !== null
        ? (value as Record<PropertyKey, unknown>)[segment]
        : undefined;
  }
  // zod does not echo inputs back (they may be large), so look the value up to tell "missing".
  const what = value === undefined ? "missing" : issue.message.replace(/^Invalid (input|option): /, "");
  return `not an Alertmanager webhook: ${path || "body"}: ${what}`;
}
