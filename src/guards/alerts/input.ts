/**
 * The body of `POST /v1/alerts` (DESIGN.md): one alert `{key?, severity, title, text?, source?,
 * labels?, status?}` or an array of up to 1000. Every message names the field and says what to
 * send instead; `null` counts as absent for optional fields (clients that serialize None/nil).
 * Unknown fields are refused: a mistyped `lables` silently dropped would lose the labels.
 */
import { z } from "zod";
import { MAX_KEY_LENGTH } from "./fingerprint.ts";
import type { AlertInput, AlertInputStatus, Severity } from "./types.ts";

export const MAX_TITLE_LENGTH = 1024;
export const MAX_TEXT_BYTES = 16 * 1024;
export const MAX_SOURCE_LENGTH = 256;
export const MAX_LABELS = 64;
export const MAX_LABEL_NAME_LENGTH = 128;
export const MAX_LABEL_VALUE_LENGTH = 1024;
export const MAX_ALERTS_PER_REQUEST = 1000;
export const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Issues reported per field at most, so a body with 10 000 bad labels gets a short answer. */
const MAX_ISSUES_PER_FIELD = 5;
const SEVERITY_NAMES: readonly Severity[] = ["info", "warning", "critical"];
const STATUS_NAMES: readonly AlertInputStatus[] = ["firing", "resolved"];
const FIELDS = ["key", "severity", "title", "text", "source", "labels", "status"];
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** PostgreSQL text cannot hold U+0000; refused up front rather than failing the whole batch. */
const NUL_MESSAGE = "must not contain NUL (\\u0000) characters";

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Replaces lone UTF-16 surrogates (half an emoji, usually from a client that cut a string in
 * the wrong place) with U+FFFD: PostgreSQL's jsonb refuses them, which would fail every alert
 * committed in the same batch.
 */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD");
}

/** Records a problem; typed `never` so a reader can `return report(...)`. */
type Report = (message: string, path?: PropertyKey[]) => never;

/** A field read by a plain function that reports problems by path; zod prefixes the field name. */
function field<T>(read: (input: unknown, report: Report) => T) {
  return z.unknown().transform((input, ctx): T => {
    let failed = false;
    const value = read(input, (message, path = []) => {
      failed = true;
      ctx.addIssue({ code: "custom", message, path });
      return z.NEVER;
    });
    return failed ? z.NEVER : value;
  });
}

function describe(input: unknown): string {
  if (input === null) return "null";
  if (Array.isArray(input)) return "a list";
  return typeof input === "object" ? "an object" : `a ${typeof input}`;
}

/** Bytes of `text` in UTF-8, without allocating it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

const keyField = field((input, report): string | undefined => {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== "string") return report(`must be text, got ${describe(input)}`);
  const key = wellFormed(input.trim());
  if (key === "")
    return report("must not be empty; leave it out and pitwall derives one from title and labels");
  if (key.length > MAX_KEY_LENGTH)
    return report(`must be at most ${MAX_KEY_LENGTH} characters, got ${key.length}`);
  if (CONTROL.test(key)) return report("must be printable text (no control characters or line breaks)");
  return key;
});

const severityField = field((input, report): Severity => {
  if (input === undefined || input === null) return report("required: one of info, warning, critical");
  const value = typeof input === "string" ? input.trim().toLowerCase() : "";
  if ((SEVERITY_NAMES as readonly string[]).includes(value)) return value as Severity;
  const got = typeof input === "string" ? JSON.stringify(input.slice(0, 40)) : describe(input);
  return report(`must be one of info, warning, critical, got ${got}`);
});

const titleField = field((input, report): string => {
  if (input === undefined || input === null) return report("required: a one-line summary of the problem");
  if (typeof input !== "string") return report(`must be text, got ${describe(input)}`);
  const title = wellFormed(input.trim());
  if (title === "") return report("must not be empty");
  if (title.includes("\u0000")) return report(NUL_MESSAGE);
  if (title.length > MAX_TITLE_LENGTH) {
    return report(`must be at most ${MAX_TITLE_LENGTH} characters, got ${title.length}; put details in text`);
  }
  return title;
});

const textField = field((input, report): string | undefined => {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== "string") return report(`must be text, got ${describe(input)}`);
  if (utf8Length(input) > MAX_TEXT_BYTES) return report(`must be at most ${MAX_TEXT_BYTES / 1024} KB`);
  if (input.includes("\u0000")) return report(NUL_MESSAGE);
  return input === "" ? undefined : wellFormed(input);
});

const sourceField = field((input, report): string | undefined => {
  if (input === undefined || input === null) return undefined;
  if (typeof input !== "string") return report(`must be text, got ${describe(input)}`);
  const source = wellFormed(input.trim());
  if (source.includes("\u0000")) return report(NUL_MESSAGE);
  if (source.length > MAX_SOURCE_LENGTH) {
    return report(`must be at most ${MAX_SOURCE_LENGTH} characters, got ${source.length}`);
  }
  return source === "" ? undefined : source;
});

const labelsField = field((input, report): Record<string, string> => {
  if (input === undefined || input === null) return {};
  if (typeof input !== "object" || Array.isArray(input)) {
    return report(`must be a map of text to text, like {"env": "prod"}, got ${describe(input)}`);
  }
  const entries = Object.entries(input);
  if (entries.length > MAX_LABELS) {
    return report(`at most ${MAX_LABELS} labels, got ${entries.length}`);
  }
  const labels: Record<string, string> = {};
  let problems = 0;
  const problem = (message: string, name: string) => {
    if (problems++ < MAX_ISSUES_PER_FIELD) report(message, [name]);
  };
  for (const [name, value] of entries) {
    if (name.length > MAX_LABEL_NAME_LENGTH) {
      problem(`label names are at most ${MAX_LABEL_NAME_LENGTH} characters`, name);
    } else if (!LABEL_NAME_PATTERN.test(name)) {
      problem("label names are letters, digits and _, not starting with a digit (like instance_id)", name);
    } else if (typeof value !== "string") {
      problem(`label values must be text, got ${describe(value)}; quote numbers and booleans`, name);
    } else if (value.length > MAX_LABEL_VALUE_LENGTH) {
      problem(`label values are at most ${MAX_LABEL_VALUE_LENGTH} characters, got ${value.length}`, name);
    } else if (value.includes("\u0000")) {
      problem(`label values ${NUL_MESSAGE}`, name);
    } else {
      labels[name] = wellFormed(value);
    }
  }
  return labels;
});

const statusField = field((input, report): AlertInputStatus => {
  if (input === undefined || input === null) return "firing";
  const value = typeof input === "string" ? input.trim().toLowerCase() : "";
  if ((STATUS_NAMES as readonly string[]).includes(value)) return value as AlertInputStatus;
  const got = typeof input === "string" ? JSON.stringify(input.slice(0, 40)) : describe(input);
  return report(`must be firing or resolved, got ${got}`);
});

/** One alert of `POST /v1/alerts`. */
export const alertInputSchema = z.strictObject(
  {
    // zod refuses an absent key whose schema yields undefined unless it is marked optional;
    // `prefault(null)` runs the defaulting reader for absent keys too.
    key: keyField.optional(),
    severity: severityField,
    title: titleField,
    text: textField.optional(),
    source: sourceField.optional(),
    labels: labelsField.prefault(null),
    status: statusField.prefault(null),
  },
  {
    error: (issue) => {
      if (issue.code === "unrecognized_keys") {
        const keys = issue.keys.map((key) => JSON.stringify(key)).join(", ");
        return `unknown field${issue.keys.length > 1 ? "s" : ""} ${keys}; an alert has ${FIELDS.join(", ")}`;
      }
      if (issue.code === "invalid_type") {
        return `expected an alert like {"severity": "critical", "title": "..."}, got ${describe(issue.input)}`;
      }
      return undefined;
    },
  },
);

export type AlertInputBody = z.output<typeof alertInputSchema>;

/** A body is one alert or a list of them; the answer mirrors it (`{results: [...]}` for a list). */
export interface AlertsBody {
  batch: boolean;
  alerts: AlertInput[];
}

/** `POST /v1/alerts` body: one alert, or an array of at most 1000 (each checked, paths `[i].field`). */
export const alertsBodySchema = z.unknown().transform((body, ctx): AlertsBody => {
  if (!Array.isArray(body)) {
    const one = alertInputSchema.safeParse(body);
    if (one.success) return { batch: false, alerts: [one.data] };
    for (const issue of one.error.issues) ctx.addIssue({ ...issue, code: "custom", input: undefined });
    return z.NEVER;
  }
  if (body.length > MAX_ALERTS_PER_REQUEST) {
    ctx.addIssue({
      code: "custom",
      message: `at most ${MAX_ALERTS_PER_REQUEST} alerts per request, got ${body.length}; split the list`,
      input: undefined,
    });
    return z.NEVER;
  }
  const alerts: AlertInput[] = [];
  let failed = false;
  body.forEach((item, index) => {
    const one = alertInputSchema.safeParse(item);
    if (one.success) alerts.push(one.data);
    else {
      failed = true;
      for (const issue of one.error.issues) {
        ctx.addIssue({ ...issue, code: "custom", path: [index, ...issue.path], input: undefined });
      }
    }
  });
  return failed ? z.NEVER : { batch: true, alerts };
});
