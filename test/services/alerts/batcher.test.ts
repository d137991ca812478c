import { describe, expect, it } from "vitest";
import { BatcherFullError, createBatcher } from "../../../src/services/alerts/batcher.ts";

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe("group commit batcher", () => {
  it("writes concurrent submissions in one batch and answers each in order after it", async () => {
    const batches: number[][] = [];
    const batcher = createBatcher<number, string>({
      run: async (items) => {
        batches.push(items);
        return items.map((n) => `r${n}`);
      },
      maxWaitMs: 1,
    });
    const answers = await Promise.all([batcher.submit([1]), batcher.submit([2, 3]), batcher.submit([4])]);
    expect(answers).toEqual([["r1"], ["r2", "r3"], ["r4"]]);
    expect(batches).toEqual([[1, 2, 3, 4]]);
  });

  it("collects what arrives during a write into the next batch; nobody hears before their commit", async () => {
    const gate = deferred<void>();
    const batches: number[][] = [];
    const batcher = createBatcher<number, number>({
      run: async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate.promise;
        return items;
      },
      maxWaitMs: 1,
    });
    let firstDone = false;
    const first = batcher.submit([1]).then((r) => {
      firstDone = true;
      return r;
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = batcher.submit([2]);
    const third = batcher.submit([3]);
    await Promise.resolve();
    expect(firstDone).toBe(false);
    gate.resolve();
    expect(await Promise.all([first, second, third])).toEqual([[1], [2], [3]]);
    expect(batches).toEqual([[1], [2, 3]]);
  });

  it("fails every caller of a failed batch, and keeps serving afterwards", async () => {
    let fail = true;
    const batcher = createBatcher<number, number>({
      run: async (items) => {
        if (fail) throw new Error("database unavailable");
        return items;
      },
      maxWaitMs: 1,
    });
    const results = await Promise.allSettled([batcher.submit([1]), batcher.submit([2])]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    expect(await batcher.submit([3])).toEqual([3]);
    await batcher.close();
    await expect(batcher.submit([4])).rejects.toThrow("shutting down");
  });

  it("starts at once when a batch is full", async () => {
    const batches: number[][] = [];
    const batcher = createBatcher<number, number>({
      run: async (items) => {
        batches.push(items);
        return items;
      },
      maxBatch: 3,
      maxWaitMs: 10_000,
    });
    await Promise.all([batcher.submit([1, 2]), batcher.submit([3])]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it("fails only the submissions whose items failed when a batch commits in parts", async () => {
    const batcher = createBatcher<number, number>({
      // Odd items were committed, even ones were not (a batch split into two transactions).
      run: async (items) => items.map((n) => (n % 2 === 1 ? n * 10 : new Error(`item ${n} not stored`))),
      maxWaitMs: 1,
    });
    const [alone, mixed, other] = await Promise.allSettled([
      batcher.submit([1]),
      batcher.submit([3, 4]),
      batcher.submit([5, 7]),
    ]);
    expect(alone).toEqual({ status: "fulfilled", value: [10] });
    expect(mixed.status).toBe("rejected");
    expect((mixed as PromiseRejectedResult).reason.message).toBe("item 4 not stored");
    expect(other).toEqual({ status: "fulfilled", value: [50, 70] });
  });

  it("with maxWaitMs 0 takes what arrived in the same turn of the event loop, without a timer's wait", async () => {
    const batches: number[][] = [];
    const batcher = createBatcher<number, number>({
      run: async (items) => {
        batches.push(items);
        return items;
      },
      maxWaitMs: 0,
    });
    const same = [batcher.submit([1]), batcher.submit([2])];
    await new Promise((resolve) => setImmediate(resolve));
    // The first batch started in the check phase this test just waited for.
    expect(batches).toEqual([[1, 2]]);
    await Promise.all(same);
    await batcher.submit([3]);
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it("refuses at once what would pass maxQueued, taking nothing of it, and takes more once the queue drains", async () => {
    const gate = deferred<void>();
    const batcher = createBatcher<number, number>({
      run: async (items) => {
        await gate.promise;
        return items;
      },
      maxWaitMs: 0,
      maxQueued: 3,
    });
    const running = batcher.submit([1]); // taken by the first batch at once
    await new Promise((resolve) => setImmediate(resolve));
    const queued = batcher.submit([2, 3]);
    await expect(batcher.submit([4, 5])).rejects.toBeInstanceOf(BatcherFullError);
    const last = batcher.submit([6]); // still fits: 3 waiting
    await expect(batcher.submit([7])).rejects.toThrow("3 items are already waiting");
    gate.resolve();
    expect(await Promise.all([running, queued, last])).toEqual([[1], [2, 3], [6]]);
    expect(await batcher.submit([8, 9, 10])).toEqual([8, 9, 10]);
  });
});
