import { Api } from "grammy";

export interface OutboxApiOptions {
  token: string;
  /** TELEGRAM_API_ROOT / telegram.api_root; default Telegram's. */
  apiRoot?: string;
  /** grammY's own per-request timeout; the worker also aborts each call after its callTimeoutMs. */
  timeoutSeconds?: number;
}

/**
 * The Api the outbox worker sends with: no auto-retry transformer (the outbox owns retries and
 * honours 429 itself), and a request timeout far below grammY's default of 500 s.
 */
export function createOutboxApi(opts: OutboxApiOptions): Api {
  return new Api(opts.token, {
    ...(opts.apiRoot === undefined ? {} : { apiRoot: opts.apiRoot }),
    timeoutSeconds: opts.timeoutSeconds ?? 15,
  });
}
