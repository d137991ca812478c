import type { ApiResponse, ResponseParameters } from "./types.ts";

/**
 * An error answer of the Bot API. `description` is the full string Telegram sends
 * ("Bad Request: message is too long"); the HTTP status equals `error_code`.
 */
export class BotApiError extends Error {
  readonly status: number;
  readonly description: string;
  readonly parameters: (ResponseParameters & Record<string, unknown>) | undefined;

  constructor(
    status: number,
    description: string,
    parameters?: ResponseParameters & Record<string, unknown>,
  ) {
    super(description);
    this.name = "BotApiError";
    this.status = status;
    this.description = description;
    this.parameters = parameters;
  }

  toResponse(): ApiResponse {
    return this.parameters === undefined
      ? { ok: false, error_code: this.status, description: this.description }
      : { ok: false, error_code: this.status, description: this.description, parameters: this.parameters };
  }
}

/** 400 with Telegram's prefix; `reason` is written the way the Bot API writes it (lower-case first letter). */
export function badRequest(reason: string): BotApiError {
  return new BotApiError(400, `Bad Request: ${reason}`);
}

export function forbidden(reason: string): BotApiError {
  return new BotApiError(403, `Forbidden: ${reason}`);
}

export function conflict(reason: string): BotApiError {
  return new BotApiError(409, `Conflict: ${reason}`);
}

export function tooManyRequests(retryAfterSeconds: number): BotApiError {
  return new BotApiError(429, `Too Many Requests: retry after ${retryAfterSeconds}`, {
    retry_after: retryAfterSeconds,
  });
}

export const unauthorized = (): BotApiError => new BotApiError(401, "Unauthorized");
export const notFound = (): BotApiError => new BotApiError(404, "Not Found");
