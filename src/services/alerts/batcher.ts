/**
 * Group commit: concurrent submissions are collected and written by one transaction, and each
 * caller's promise settles only after that transaction committed (or failed: then every caller in
 * it hears the error, and nothing was acknowledged). A first submission waits at most `maxWaitMs`
 * for company; while a batch is being written the next one fills up and starts as soon as the
 * previous commits, so under load batches grow by themselves and there is no added wait.
 */

export interface BatcherOptions<I, R> {
  /**
   * Writes one batch; returns one result per item, in order. An Error in place of a result fails
   * the submissions that hold that item (and only them): a batch written in parts can commit
   * some and fail others.
   */
  run(items: I[]): Promise<Array<R | Error>>;
  /** Items per batch at most (a single larger submission still goes alone). Default 1000. */
  maxBatch?: number;
  /**
   * How long a lone submission waits for others while a batch slot is free. 0: only for those
   * that arrive in the same turn of the event loop (setImmediate; a 0 ms timer would wait 1 ms).
   * Default 2 ms.
   */
  maxWaitMs?: number;
  /**
   * Items waiting (not yet in a running batch) at most; a submission that would pass it is
   * refused at once with BatcherFullError rather than queued without bound while the database
   * falls behind (memory, and answers that come too late to matter). Default: no bound.
   */
  maxQueued?: number;
  /**
   * Batches written at once. Default 1. With 2, the next batch starts (and waits in Postgres on
   * the previous one's locks, if they share keys or groups) while the previous commits, so no
   * round trip between them is spent idle; `run` must then be safe to run concurrently.
   */
  maxInFlight?: number;
}

export interface Batcher<I, R> {
  /** Resolves with the items' results after their batch committed. */
  submit(items: readonly I[]): Promise<R[]>;
  /** Items waiting for a batch (not yet being written). */
  waiting(): number;
  /** Waits for queued and running batches; later submissions are refused. */
  close(): Promise<void>;
}

/** The queue is full: nothing of the submission was taken (see `maxQueued`). */
export class BatcherFullError extends Error {
  constructor(readonly waiting: number) {
    super(`${waiting} items are already waiting to be written`);
    this.name = "BatcherFullError";
  }
}

interface Pending<I, R> {
  items: readonly I[];
  resolve(results: R[]): void;
  reject(err: unknown): void;
}

export function createBatcher<I, R>(opts: BatcherOptions<I, R>): Batcher<I, R> {
  const maxBatch = opts.maxBatch ?? 1000;
  const maxWaitMs = opts.maxWaitMs ?? 2;
  const maxInFlight = Math.max(1, opts.maxInFlight ?? 1);
  const maxQueued = opts.maxQueued ?? Number.POSITIVE_INFINITY;
  const queue: Array<Pending<I, R>> = [];
  let queued = 0;
  const running = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | null = null;
  let immediate: NodeJS.Immediate | null = null;
  let closed = false;

  function take(): Array<Pending<I, R>> {
    const batch: Array<Pending<I, R>> = [];
    let size = 0;
    while (queue.length > 0) {
      const next = queue[0]!;
      if (batch.length > 0 && size + next.items.length > maxBatch) break;
      batch.push(next);
      size += next.items.length;
      queue.shift();
    }
    queued -= size;
    return batch;
  }

  async function write(batch: Array<Pending<I, R>>): Promise<void> {
    const items = batch.flatMap((p) => p.items);
    try {
      const results = await opts.run(items);
      let offset = 0;
      for (const pending of batch) {
        const own = results.slice(offset, offset + pending.items.length);
        offset += pending.items.length;
        const failed = own.find((r): r is Error => r instanceof Error);
        if (failed) pending.reject(failed);
        else pending.resolve(own as R[]);
      }
    } catch (err) {
      for (const pending of batch) pending.reject(err);
    }
  }

  function kick(): void {
    if (running.size >= maxInFlight || queue.length === 0) return;
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (immediate !== null) {
      clearImmediate(immediate);
      immediate = null;
    }
    const batch = take();
    const written: Promise<void> = write(batch).finally(() => {
      running.delete(written);
      kick();
    });
    running.add(written);
  }

  /** Starts a batch now when one is full, else within maxWaitMs, if a slot is free. */
  function schedule(): void {
    if (running.size >= maxInFlight) return; // a running batch's end starts the next one
    if (queued >= maxBatch) kick();
    else if (maxWaitMs === 0) {
      immediate ??= setImmediate(() => {
        immediate = null;
        kick();
      });
    } else
      timer ??= setTimeout(() => {
        timer = null;
        kick();
      }, maxWaitMs);
  }

  return {
    submit(items) {
      if (closed) return Promise.reject(new Error("the alert ingest is shutting down"));
      if (items.length === 0) return Promise.resolve([]);
      if (queued + items.length > maxQueued) return Promise.reject(new BatcherFullError(queued));
      return new Promise<R[]>((resolve, reject) => {
        queue.push({ items, resolve, reject });
        queued += items.length;
        schedule();
      });
    },
    waiting: () => queued,
    async close() {
      closed = true;
      while (running.size > 0 || queue.length > 0) {
        kick();
        await Promise.race(running);
      }
    },
  };
}
