// Delivers queued updates to the webhook the way Telegram does: POST JSON, the secret token in
// X-Telegram-Bot-Api-Secret-Token, in order, retrying an update until the webhook answers 2xx. A
// 2xx body with a "method" field is executed as a Bot API call (webhook reply), except get*,
// setWebhook, deleteWebhook, close and logOut. Deviation: one update at a time (Telegram may use
// up to max_connections in parallel) and a short fixed retry delay so tests stay fast.

import type { UpdateQueue } from "./updates.ts";

export interface WebhookConfig {
  url: string;
  secretToken: string | undefined;
  maxConnections: number;
  lastErrorDate?: number;
  lastErrorMessage?: string;
}

export interface WebhookDelivererDeps {
  queue: UpdateQueue;
  current: () => WebhookConfig | undefined;
  executeReply: (method: string, params: Record<string, unknown>) => Promise<void>;
  now: () => number;
  retryMs: number;
}

const DELIVERY_TIMEOUT_MS = 10_000;
const FORBIDDEN_REPLY_METHODS = new Set(["setwebhook", "deletewebhook", "close", "logout"]);

type Outcome =
  | { ok: true; reply?: { method: string; params: Record<string, unknown> } }
  | { ok: false; error: string };

export class WebhookDeliverer {
  private readonly deps: WebhookDelivererDeps;
  private running = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  private stopped = false;

  constructor(deps: WebhookDelivererDeps) {
    this.deps = deps;
  }

  /** Starts delivering if there is a webhook, something to deliver and no delivery under way. */
  kick(): void {
    if (this.stopped || this.running || this.retryTimer !== undefined) return;
    void this.run();
  }

  /** A new webhook was set: forget any pending retry of the old one. */
  reset(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.inFlight?.abort();
  }

  stop(): void {
    this.stopped = true;
    this.reset();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (;;) {
        const hook = this.deps.current();
        const update = this.deps.queue.peek();
        if (hook === undefined || update === undefined || this.stopped) return;
        const outcome = await this.deliver(hook, update);
        if (this.deps.current() !== hook || this.stopped) continue;
        if (outcome.ok) {
          this.deps.queue.remove(update.update_id);
          if (outcome.reply !== undefined) {
            await this.deps.executeReply(outcome.reply.method, outcome.reply.params);
          }
        } else {
          hook.lastErrorDate = Math.floor(this.deps.now() / 1000);
          hook.lastErrorMessage = outcome.error;
          this.retryTimer = setTimeout(() => {
            this.retryTimer = undefined;
            this.kick();
          }, this.deps.retryMs);
          return;
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async deliver(hook: WebhookConfig, update: unknown): Promise<Outcome> {
    const controller = new AbortController();
    this.inFlight = controller;
    const timer = setTimeout(() => controller.abort(), DELIVERY_TIMEOUT_MS);
    try {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (hook.secretToken !== undefined) headers["x-telegram-bot-api-secret-token"] = hook.secretToken;
      const response = await fetch(hook.url, {
        method: "POST",
        headers,
        body: JSON.stringify(update),
        signal: controller.signal,
      });
      const body = await response.text();
      if (response.status < 200 || response.status > 299) {
        return {
          ok: false,
          error: `Wrong response from the webhook: ${response.status} ${response.statusText}`,
        };
      }
      return { ok: true, reply: webhookReply(body) };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      return {
        ok: false,
        error: cause?.code === "ECONNREFUSED" ? "Connection refused" : `Connection failed: ${String(error)}`,
      };
    } finally {
      clearTimeout(timer);
      if (this.inFlight === controller) this.inFlight = undefined;
    }
  }
}

function webhookReply(body: string): { method: string; params: Record<string, unknown> } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { method, ...params } = value as Record<string, unknown>;
  if (typeof method !== "string" || method === "") return undefined;
  const lowered = method.toLowerCase();
  if (FORBIDDEN_REPLY_METHODS.has(lowered) || lowered.startsWith("get")) return undefined;
  return { method, params };
}
