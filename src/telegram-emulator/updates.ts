// The bot's update queue, with Telegram's getUpdates semantics: an offset confirms (and forgets)
// every earlier update, a negative offset keeps only the last -offset updates, and allowed_updates
// is remembered between calls and filters updates as they are created.

import type { Update } from "./types.ts";

// Telegram's default when allowed_updates was never set or was set to [].
const EXCLUDED_BY_DEFAULT = new Set(["chat_member", "message_reaction", "message_reaction_count"]);

export function updateType(update: Omit<Update, "update_id">): string | undefined {
  return Object.keys(update).find((key) => key !== "update_id");
}

export class UpdateQueue {
  private queue: Update[] = [];
  private nextUpdateId: number;
  private allowed: Set<string> | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(firstUpdateId: number) {
    this.nextUpdateId = firstUpdateId;
  }

  /** Creates an update; it is queued only when its type is allowed. */
  push(body: Omit<Update, "update_id">): { update: Update; queued: boolean } {
    const update = { update_id: this.nextUpdateId++, ...body } as Update;
    const type = updateType(body);
    const queued = type !== undefined && this.isAllowed(type);
    if (queued) {
      this.queue.push(update);
      for (const listener of [...this.listeners]) listener();
    }
    return { update, queued };
  }

  /** Applies an offset (confirming earlier updates) and returns up to `limit` pending updates. */
  take(offset: number, limit: number): Update[] {
    if (offset < 0) this.queue = this.queue.slice(offset);
    else if (offset > 0) this.queue = this.queue.filter((update) => update.update_id >= offset);
    return this.queue.slice(0, limit);
  }

  peek(): Update | undefined {
    return this.queue[0];
  }

  remove(updateId: number): void {
    this.queue = this.queue.filter((update) => update.update_id !== updateId);
  }

  clear(): void {
    this.queue = [];
  }

  pending(): Update[] {
    return [...this.queue];
  }

  /** `[]` restores Telegram's default set. */
  setAllowed(types: readonly string[]): void {
    this.allowed = types.length === 0 ? undefined : new Set(types);
  }

  allowedTypes(): string[] | undefined {
    return this.allowed === undefined ? undefined : [...this.allowed];
  }

  onPush(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private isAllowed(type: string): boolean {
    return this.allowed === undefined ? !EXCLUDED_BY_DEFAULT.has(type) : this.allowed.has(type);
  }
}
