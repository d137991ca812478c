import { type DestinationStream, type Logger, pino } from "pino";
import { currentTrace } from "./trace.ts";

export type { Logger } from "pino";

/** Keys whose values never reach a log line, wherever they appear in logged objects. */
const REDACT_PATHS = [
  "token",
  "*.token",
  "key",
  "*.key",
  "api_key",
  "*.api_key",
  "password",
  "*.password",
  "secret",
  "*.secret",
  "secret_token",
  "*.secret_token",
  "authorization",
  "*.authorization",
  "req.headers.authorization",
  'req.headers["x-telegram-bot-api-secret-token"]',
  "headers.authorization",
];

export interface LoggerOptions {
  level?: string;
  service?: string;
  destination?: DestinationStream;
}

/**
 * JSON logs with ISO time, level as a word, service, and the trace/span of the async context.
 * Secrets are censored by key; free text is the caller's job (the redactor).
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  return pino(
    {
      level: opts.level ?? "info",
      base: { service: opts.service ?? "pitwall" },
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: "[REDACTED]" },
      mixin() {
        const trace = currentTrace();
        return trace ? { trace_id: trace.traceId, span_id: trace.spanId } : {};
      },
    },
    opts.destination,
  );
}

/** A logger that drops everything (unit tests). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
