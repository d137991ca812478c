import { createTransport } from "nodemailer";
import type { Logger } from "../../observability/logger.ts";
import { createScrubber, errorMessage, failure, SENT, type SendResult } from "./types.ts";

export interface EmailMessage {
  subject: string;
  text: string;
  /** An HTML alternative of `text`; mail clients that cannot show it show `text`. */
  html?: string;
}

export interface EmailNotifierOptions {
  /** `smtp://user:password@host:587` (STARTTLS when offered) or `smtps://...:465` (TLS). */
  smtpUrl: string;
  from: string;
  to: readonly string[];
  log: Logger;
  /** Each phase (connect, greeting, every reply) is given up after this. Default 15 s. */
  timeoutMs?: number;
}

export interface EmailNotifier {
  /** `host:port` of the SMTP server, without credentials: safe to log and show. */
  readonly server: string;
  send(message: EmailMessage): Promise<SendResult>;
  close(): void;
}

/** Error codes of a failure on the way to the server or while talking to it: worth another try. */
const NETWORK_CODES = new Set(["ECONNECTION", "ESOCKET", "ETIMEDOUT", "EDNS", "EPROXY"]);
/** System error codes nodemailer keeps as `originalCode`. */
const SYSTEM_NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

interface SmtpError {
  code?: string;
  originalCode?: string;
  responseCode?: number;
  command?: string;
}

/**
 * Whether the same message can succeed later. SMTP replies decide when there is one (RFC 5321:
 * 4yz transient, 5yz permanent, except 503, a session in the wrong state); without a reply,
 * network trouble is transient and anything else (bad credentials, no recipients, TLS refused)
 * is a configuration problem another try will not fix.
 */
export function isRetryableSmtpError(err: unknown): boolean {
  const e = (typeof err === "object" && err !== null ? err : {}) as SmtpError;
  const reply = e.responseCode;
  if (typeof reply === "number" && reply >= 400 && reply < 600) return reply < 500 || reply === 503;
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return true;
  return e.originalCode !== undefined && SYSTEM_NETWORK_CODES.has(e.originalCode);
}

/**
 * Email through one SMTP server (nodemailer), a new connection per message: escalations are rare
 * and a pooled connection would only go stale between them. The password in `smtpUrl` never
 * reaches a log line or a result: logs name the server as `host:port`, and error texts are
 * scrubbed of the credentials.
 */
export function createEmailNotifier(opts: EmailNotifierOptions): EmailNotifier {
  const url = new URL(opts.smtpUrl);
  const secure = url.protocol === "smtps:";
  const server = `${url.hostname}:${url.port || (secure ? "465" : "587")}`;
  const scrub = createScrubber([url.password, url.password ? opts.smtpUrl : undefined]);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const log = opts.log.child({ component: "email", smtp: server });
  const to = [...opts.to];

  const transport = createTransport({
    url: opts.smtpUrl,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    logger: false,
    debug: false,
  });

  return {
    server,

    async send(message) {
      if (to.length === 0) return failure(false, "no recipients: alerting.email.to is empty");
      try {
        const info = await transport.sendMail({
          from: opts.from,
          to,
          subject: message.subject,
          text: message.text,
          ...(message.html === undefined ? {} : { html: message.html }),
        });
        const rejected = (info.rejected ?? []).map(String);
        if (rejected.length > 0) {
          // Sent to the others: a retry would send them a duplicate, so this counts as sent.
          log.warn({ rejected, accepted: info.accepted.length }, "email refused for some recipients");
        } else {
          log.debug({ to: to.length }, "email sent");
        }
        return SENT;
      } catch (err) {
        const retryable = isRetryableSmtpError(err);
        const error = scrub(`SMTP ${server}: ${errorMessage(err)}`);
        const e = err as SmtpError;
        log.warn(
          { retryable, code: e.code, response_code: e.responseCode, command: e.command, error },
          "email not sent",
        );
        return failure(retryable, error);
      }
    },

    close() {
      transport.close();
    },
  };
}
