import { GrammyError } from "grammy";

/** How long Telegram asked us to wait (429 `retry_after`), in ms; undefined for other errors. */
export function retryAfterMs(err: unknown): number | undefined {
  if (
    err instanceof GrammyError &&
    err.error_code === 429 &&
    typeof err.parameters.retry_after === "number"
  ) {
    return err.parameters.retry_after * 1000;
  }
  return undefined;
}

/**
 * The part of an abort signal `sleep` needs. grammY types signals with the `abort-controller`
 * polyfill, Node with its own AbortSignal; both fit.
 */
interface AbortLike {
  readonly aborted: boolean;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** Waits `ms`, or rejects with "stopped" as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortLike): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error("stopped"));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error("stopped"));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** True when every promise settled within `ms`. */
export async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<boolean> {
  if (promises.length === 0) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const settled = Promise.allSettled(promises).then(() => true as const);
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
