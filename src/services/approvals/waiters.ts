/**
 * Who waits for which approval: the long polls of `GET /v1/approvals/:id?wait=N`. A decision made
 * on ANY instance is published on the coordinator's `approvals` channel (ids, comma-separated);
 * every instance wakes its waiters for those ids, which then re-read the row (the message is a
 * hint: the database is the truth). Decisions made here wake local waiters at once as well.
 */
import type { Coordinator } from "../../coord/types.ts";
import type { Logger } from "../../observability/logger.ts";

export const APPROVALS_CHANNEL = "approvals";
/** Ids per published message: 16 characters and a comma each, well under the 7 999-byte limit. */
const IDS_PER_MESSAGE = 400;

export type WakeReason = "woken" | "timeout" | "closing" | "aborted";

export interface Waiters {
  /** Subscribes to the channel (once). */
  start(): Promise<void>;
  /**
   * Resolves when `id` is woken, after `ms`, when the waiters close, or when `signal` aborts —
   * whichever comes first. Register BEFORE the last read of the row, so no wake is missed.
   */
  wait(id: string, ms: number, signal?: AbortSignal): { promise: Promise<WakeReason>; cancel(): void };
  /** Wakes waiters of these ids here, and publishes them to the other instances. */
  announce(ids: readonly string[]): Promise<void>;
  /** Ends every wait now (they answer with the current state) and refuses new ones. */
  drain(): void;
  readonly closing: boolean;
  /** How many waits are open (metrics, tests). */
  readonly size: number;
  close(): Promise<void>;
}

export function createWaiters(opts: { coord: Coordinator; log: Logger }): Waiters {
  const waiting = new Map<string, Set<(reason: WakeReason) => void>>();
  let unsubscribe: (() => Promise<void>) | undefined;
  let starting: Promise<void> | undefined;
  let closing = false;
  let size = 0;

  const wake = (id: string, reason: WakeReason) => {
    const set = waiting.get(id);
    if (!set) return;
    waiting.delete(id);
    for (const resolve of set) resolve(reason);
  };

  return {
    get closing() {
      return closing;
    },
    get size() {
      return size;
    },
    start() {
      starting ??= opts.coord
        .subscribe(APPROVALS_CHANNEL, (message) => {
          for (const id of message.split(",")) if (id !== "") wake(id, "woken");
        })
        .then((stop) => {
          unsubscribe = stop;
        });
      return starting;
    },
    wait(id, ms, signal) {
      let settle: (reason: WakeReason) => void = () => undefined;
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => settle("aborted");
      const promise = new Promise<WakeReason>((resolve) => {
        if (closing) {
          resolve("closing");
          return;
        }
        let done = false;
        settle = (reason) => {
          if (done) return;
          done = true;
          size -= 1;
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const set = waiting.get(id);
          set?.delete(settle);
          if (set?.size === 0) waiting.delete(id);
          resolve(reason);
        };
        size += 1;
        let set = waiting.get(id);
        if (!set) {
          set = new Set();
          waiting.set(id, set);
        }
        set.add(settle);
        timer = setTimeout(() => settle("timeout"), Math.max(0, ms));
        if (signal?.aborted) settle("aborted");
        else signal?.addEventListener("abort", onAbort, { once: true });
      });
      return { promise, cancel: () => settle("aborted") };
    },
    async announce(ids) {
      for (const id of ids) wake(id, "woken");
      for (let from = 0; from < ids.length; from += IDS_PER_MESSAGE) {
        const chunk = ids.slice(from, from + IDS_PER_MESSAGE).join(",");
        // A lost message only delays other instances' waiters until their next re-read.
        await opts.coord.publish(APPROVALS_CHANNEL, chunk).catch((err: unknown) => {
          opts.log.warn(
            { err: { message: (err as Error)?.message } },
            "could not publish approval decisions",
          );
        });
      }
    },
    drain() {
      closing = true;
      for (const id of [...waiting.keys()]) wake(id, "closing");
    },
    async close() {
      this.drain();
      await starting?.catch(() => undefined);
      const stop = unsubscribe;
      unsubscribe = undefined;
      await stop?.().catch(() => undefined);
    },
  };
}
