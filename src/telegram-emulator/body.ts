// Request bodies the Bot API accepts: query string, JSON, application/x-www-form-urlencoded and
// multipart/form-data (files either under their own field name or referenced as attach://<name>).
// Form values arrive as strings; normalizeParams gives them the types the methods expect.

import { badRequest } from "./errors.ts";
import type { UploadedFile } from "./types.ts";

export interface RawRequest {
  fields: Record<string, unknown>;
  files: Map<string, UploadedFile>;
}

export function parseBody(contentType: string | undefined, body: Buffer): RawRequest {
  const files = new Map<string, UploadedFile>();
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (body.length === 0) return { fields: {}, files };
  if (type === "application/json") {
    let value: unknown;
    try {
      value = JSON.parse(body.toString("utf8"));
    } catch {
      throw badRequest("can't parse JSON encoded request body");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw badRequest("JSON object expected as request body");
    }
    return { fields: value as Record<string, unknown>, files };
  }
  if (type === "multipart/form-data") return parseMultipart(contentType ?? "", body);
  // Telegram treats anything else as a form.
  return { fields: Object.fromEntries(new URLSearchParams(body.toString("utf8"))), files };
}

function parseMultipart(contentType: string, body: Buffer): RawRequest {
  const boundaryMatch = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = boundaryMatch?.[1] ?? boundaryMatch?.[2];
  if (boundary === undefined) throw badRequest("multipart boundary is not specified");
  const fields: Record<string, unknown> = {};
  const files = new Map<string, UploadedFile>();
  const delimiter = Buffer.from(`--${boundary}`);
  const nextDelimiter = Buffer.from(`\r\n--${boundary}`);

  let position = body.indexOf(delimiter);
  if (position === -1) throw badRequest("can't parse multipart/form-data request body");
  position += delimiter.length;
  for (;;) {
    if (body[position] === 0x2d && body[position + 1] === 0x2d) break; // closing "--"
    if (body[position] === 0x0d && body[position + 1] === 0x0a) position += 2;
    const end = body.indexOf(nextDelimiter, position);
    if (end === -1) throw badRequest("can't parse multipart/form-data request body");
    const part = body.subarray(position, end);
    const headerEnd = part.indexOf("\r\n\r\n");
    if (headerEnd === -1) throw badRequest("can't parse multipart/form-data request body");
    const headers = parseHeaders(part.subarray(0, headerEnd).toString("utf8"));
    const content = part.subarray(headerEnd + 4);
    const disposition = headers.get("content-disposition") ?? "";
    const name = dispositionParam(disposition, "name");
    if (name !== undefined) {
      const filename = dispositionParam(disposition, "filename");
      if (filename !== undefined) {
        files.set(name, {
          filename,
          size: content.length,
          contentType: headers.get("content-type") ?? "application/octet-stream",
          content: Buffer.from(content),
        });
      } else {
        fields[name] = content.toString("utf8");
      }
    }
    position = end + nextDelimiter.length;
  }
  return { fields, files };
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** Reads name="x", name=x and filename=... (grammY writes filenames unquoted). */
function dispositionParam(disposition: string, param: string): string | undefined {
  const quoted = new RegExp(`(?:^|;)\\s*${param}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(disposition);
  if (quoted !== null) return quoted[1]!.replace(/\\(.)/g, "$1");
  const bare = new RegExp(`(?:^|;)\\s*${param}=([^;]*)`, "i").exec(disposition);
  return bare === null ? undefined : bare[1]!.trim();
}

const JSON_PARAMS = new Set([
  "reply_markup",
  "entities",
  "caption_entities",
  "reply_parameters",
  "link_preview_options",
  "allowed_updates",
  "commands",
  "scope",
]);

const INTEGER_PARAMS = new Set([
  "offset",
  "limit",
  "timeout",
  "message_id",
  "message_thread_id",
  "reply_to_message_id",
  "cache_time",
  "max_connections",
]);

const BOOLEAN_PARAMS = new Set([
  "disable_notification",
  "protect_content",
  "show_alert",
  "drop_pending_updates",
  "allow_sending_without_reply",
  "disable_web_page_preview",
  "disable_content_type_detection",
  "has_spoiler",
  "show_caption_above_media",
  "allow_paid_broadcast",
]);

/**
 * Gives form values the types a JSON body would have and replaces attach:// references (and file
 * parts named after a parameter) with the uploaded files. Values that cannot be converted stay
 * strings, so each method can refuse them with its own error.
 */
export function normalizeParams(raw: RawRequest): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw.fields)) {
    params[key] = normalizeValue(key, value, raw.files);
  }
  for (const [name, file] of raw.files) {
    if (!(name in params) && !isAttachedElsewhere(raw.fields, name)) params[name] = file;
  }
  return params;
}

function isAttachedElsewhere(fields: Record<string, unknown>, name: string): boolean {
  return Object.values(fields).some((value) => value === `attach://${name}`);
}

function normalizeValue(key: string, value: unknown, files: Map<string, UploadedFile>): unknown {
  if (typeof value !== "string") return value;
  if (value.startsWith("attach://")) return files.get(value.slice("attach://".length)) ?? value;
  if (JSON_PARAMS.has(key)) {
    try {
      return JSON.parse(value);
    } catch {
      return value;
    }
  }
  if ((INTEGER_PARAMS.has(key) || key === "chat_id") && /^-?\d+$/.test(value.trim())) {
    return Number(value.trim());
  }
  if (BOOLEAN_PARAMS.has(key)) {
    const lowered = value.trim().toLowerCase();
    if (lowered === "true" || lowered === "1") return true;
    if (lowered === "false" || lowered === "0" || lowered === "") return false;
  }
  return value;
}
