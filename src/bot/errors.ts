import { GrammyError, HttpError } from "grammy";

/** Anything shaped like a bot token (`123456:AA...`), in case a message holds a token we were not given. */
const TOKEN_SHAPE = /\d{5,}:[A-Za-z0-9_-]{30,}/g;

/**
 * Removes the bot token from a text. grammY's network errors wrap the underlying fetch error,
 * whose message holds the request URL `https://api.telegram.org/bot<token>/method`; anything that
 * reaches a log line, a status body or a chat goes through here first.
 */
export function scrubToken(message: string, token?: string): string {
  let text = message;
  if (token) text = text.split(token).join("[token]");
  return text.replace(TOKEN_SHAPE, "[token]");
}

/** A loggable, token-free description of an error (never its payload: that may be a whole message). */
export interface ErrorDescription {
  name: string;
  message: string;
  method?: string;
  error_code?: number;
  description?: string;
  retry_after?: number;
  cause?: string;
  stack?: string;
}

export function describeError(
  err: unknown,
  token?: string,
  opts: { stack?: boolean } = {},
): ErrorDescription {
  if (err instanceof GrammyError) {
    return {
      name: err.name,
      message: scrubToken(err.message, token),
      method: err.method,
      error_code: err.error_code,
      description: scrubToken(err.description, token),
      ...(err.parameters.retry_after !== undefined ? { retry_after: err.parameters.retry_after } : {}),
    };
  }
  if (err instanceof HttpError) {
    const cause = err.error instanceof Error ? err.error.message : String(err.error);
    return { name: err.name, message: scrubToken(err.message, token), cause: scrubToken(cause, token) };
  }
  if (err instanceof Error) {
    return {
      name: err.name,
      message: scrubToken(err.message, token),
      ...(opts.stack && err.stack ? { stack: scrubToken(err.stack, token) } : {}),
    };
  }
  return { name: "Error", message: scrubToken(String(err), token) };
}

/** One line for status bodies: what went wrong talking to Telegram, without the token. */
export function shortError(err: unknown, token?: string): string {
  const d = describeError(err, token);
  if (d.error_code !== undefined)
    return `${d.method ?? "call"}: ${d.error_code} ${d.description ?? ""}`.trim();
  return d.cause ? `${d.message} (${d.cause})` : d.message;
}
