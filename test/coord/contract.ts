import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { Coordinator, LeaderCallbacks, LeaderHandle } from "../../src/coord/types.ts";
import type { LeaderChildSpec } from "./leader-child.ts";

/** Backend-specific ways to break things from outside, as an outage would. */
export interface ContractHooks {
  /** Makes `leader` lose leadership of `name` abruptly; the suite checks that it notices. */
  breakLeadership(leader: Coordinator, name: string): Promise<void>;
  /** Cuts the pub/sub connection of `c`; resolves once the server has seen it reconnect. */
  killSubscriberConnection(c: Coordinator): Promise<void>;
  /** What a separate process needs to build the same kind of coordinator. */
  childSpec(): Omit<LeaderChildSpec, "instanceId" | "name" | "ttlMs">;
}

/** Short ttls keep the suite fast; leadership gets more, since it must survive a loaded machine. */
const LEASE_TTL = 300;
const LEADER_TTL = 1_000;
/** Scheduling noise allowed on top of a promised bound (CI machines are busy). */
const SLACK = 700;

export function uniq(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `fn` until it returns a truthy value (or stops throwing); fails with the last reason. */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs: number,
  intervalMs = 10,
): Promise<NonNullable<T>> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown = new Error("condition never held");
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
      last = new Error(`condition still false after ${timeoutMs} ms`);
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) throw last;
    await sleep(intervalMs);
  }
}

function recorder(events: string[]): LeaderCallbacks {
  return {
    onElected: () => {
      events.push("elected");
    },
    onDeposed: () => {
      events.push("deposed");
    },
  };
}

class ChildLeader {
  readonly lines: string[] = [];
  private stderr = "";

  constructor(readonly proc: ChildProcess) {
    proc.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      this.lines.push(...chunk.split("\n").filter(Boolean));
    });
    proc.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk;
    });
  }

  static start(spec: LeaderChildSpec): ChildLeader {
    const script = fileURLToPath(new URL("./leader-child.ts", import.meta.url));
    const proc = spawn(process.execPath, ["--import", "tsx", script], {
      env: { ...process.env, PITWALL_LEADER_CHILD: JSON.stringify(spec) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new ChildLeader(proc);
  }

  async waitFor(word: string, timeoutMs: number): Promise<void> {
    await eventually(() => {
      if (this.proc.exitCode !== null) throw new Error(`leader child exited: ${this.stderr}`);
      return this.lines.includes(word);
    }, timeoutMs).catch((err: unknown) => {
      throw new Error(
        `child never said "${word}" (said ${JSON.stringify(this.lines)}): ${String(err)} ${this.stderr}`,
      );
    });
  }
}

/**
 * The contract every Coordinator implementation keeps. Each test gets two coordinators from
 * `makePair`: two pitwall instances sharing one store.
 */
export function coordinatorContract(
  name: string,
  makePair: () => Promise<[Coordinator, Coordinator]>,
  cleanup: () => Promise<void>,
  hooks: ContractHooks,
): void {
  describe(`coordinator contract: ${name}`, () => {
    const open: Coordinator[] = [];
    const children: ChildLeader[] = [];
    const pair = async () => {
      const made = await makePair();
      open.push(...made);
      return made;
    };
    const child = (leaderName: string) => {
      const started = ChildLeader.start({
        ...hooks.childSpec(),
        instanceId: uniq("child"),
        name: leaderName,
        ttlMs: LEADER_TTL,
      });
      children.push(started);
      return started;
    };

    afterEach(async () => {
      for (const c of children.splice(0)) {
        c.proc.kill("SIGCONT");
        c.proc.kill("SIGKILL");
      }
      await Promise.all(open.splice(0).map((c) => c.close()));
    });
    afterAll(cleanup);

    describe("leases", () => {
      it("are exclusive, even to the instance that holds one", async () => {
        const [a, b] = await pair();
        const name = uniq("lease");
        const lease = await a.tryAcquire(name, 5_000);
        expect(lease?.name).toBe(name);
        expect(await b.tryAcquire(name, 5_000)).toBeNull();
        expect(await a.tryAcquire(name, 5_000)).toBeNull();
        const other = await b.tryAcquire(uniq("lease"), 5_000);
        expect(other).not.toBeNull();
      });

      it("expire after their ttl and can then be taken; the old holder learns it on renew", async () => {
        const [a, b] = await pair();
        const name = uniq("lease");
        const first = await a.tryAcquire(name, LEASE_TTL);
        expect(first).not.toBeNull();
        const started = performance.now();
        const second = await eventually(() => b.tryAcquire(name, 5_000), LEASE_TTL + SLACK);
        expect(performance.now() - started).toBeGreaterThanOrEqual(LEASE_TTL - 50);
        expect(await first?.renew()).toBe(false);
        expect(await second.renew()).toBe(true);
      });

      it("last longer when renewed", async () => {
        const [a, b] = await pair();
        const name = uniq("lease");
        const lease = await a.tryAcquire(name, LEASE_TTL);
        for (let i = 0; i < 4; i++) {
          await sleep(LEASE_TTL / 2);
          expect(await lease?.renew()).toBe(true);
          expect(await b.tryAcquire(name, LEASE_TTL)).toBeNull();
        }
        // Held for twice its ttl by renewals; once they stop it frees again.
        await eventually(() => b.tryAcquire(name, LEASE_TTL), LEASE_TTL + SLACK);
      });

      it("are freed by release, and cannot be renewed afterwards", async () => {
        const [a, b] = await pair();
        const name = uniq("lease");
        const lease = await a.tryAcquire(name, 60_000);
        await lease?.release();
        expect(await lease?.renew()).toBe(false);
        expect(await b.tryAcquire(name, 60_000)).not.toBeNull();
      });

      it("cannot be released or renewed by a former holder once another instance holds them", async () => {
        const [a, b] = await pair();
        const name = uniq("lease");
        const stale = await a.tryAcquire(name, LEASE_TTL);
        const current = await eventually(() => b.tryAcquire(name, 60_000), LEASE_TTL + SLACK);
        await stale?.release();
        expect(await a.tryAcquire(name, 60_000)).toBeNull();
        expect(await stale?.renew()).toBe(false);
        expect(await current.renew()).toBe(true);
      });
    });

    describe("leadership", () => {
      async function twoCampaigners() {
        const [a, b] = await pair();
        const name = uniq("leader");
        const events = { a: [] as string[], b: [] as string[] };
        const handles = {
          a: a.campaign(name, LEADER_TTL, recorder(events.a)),
          b: b.campaign(name, LEADER_TTL, recorder(events.b)),
        };
        await eventually(() => handles.a.isLeader() || handles.b.isLeader(), LEADER_TTL * 3);
        const aLeads = handles.a.isLeader();
        return {
          name,
          leader: {
            coordinator: aLeads ? a : b,
            handle: aLeads ? handles.a : handles.b,
            events: aLeads ? events.a : events.b,
          },
          follower: {
            coordinator: aLeads ? b : a,
            handle: aLeads ? handles.b : handles.a,
            events: aLeads ? events.b : events.a,
          },
        };
      }

      /** Watches both handles for `ms`: never two leaders at once. */
      async function neverBoth(x: LeaderHandle, y: LeaderHandle, ms: number, alwaysOne = false) {
        const until = performance.now() + ms;
        while (performance.now() < until) {
          expect(x.isLeader() && y.isLeader()).toBe(false);
          if (alwaysOne) expect(x.isLeader() || y.isLeader()).toBe(true);
          await sleep(10);
        }
      }

      it("elects exactly one of two campaigners, and keeps it", async () => {
        const { leader, follower } = await twoCampaigners();
        await neverBoth(leader.handle, follower.handle, LEADER_TTL * 1.5, true);
        expect(leader.handle.isLeader()).toBe(true);
        expect(leader.events).toEqual(["elected"]);
        expect(follower.events).toEqual([]);
      });

      it("hands over within the ttl when the leader stops", async () => {
        const { name, leader, follower } = await twoCampaigners();
        const stoppedAt = performance.now();
        await leader.handle.stop();
        expect(leader.handle.isLeader()).toBe(false);
        expect(leader.events).toEqual(["elected", "deposed"]);
        await eventually(() => follower.handle.isLeader(), LEADER_TTL + SLACK);
        expect(performance.now() - stoppedAt).toBeLessThan(LEADER_TTL + SLACK);
        expect(follower.events).toEqual(["elected"]);
        // A follower that stops was never leader, so it is not told it was deposed.
        const events: string[] = [];
        const idle = leader.coordinator.campaign(name, LEADER_TTL, recorder(events));
        await sleep(LEADER_TTL / 2);
        await idle.stop();
        expect(events).toEqual([]);
        expect(follower.handle.isLeader()).toBe(true);
      });

      it("hands over within the ttl when the leader's coordinator closes", async () => {
        const { leader, follower } = await twoCampaigners();
        const closedAt = performance.now();
        await leader.coordinator.close();
        expect(leader.events).toEqual(["elected", "deposed"]);
        await eventually(() => follower.handle.isLeader(), LEADER_TTL + SLACK);
        expect(performance.now() - closedAt).toBeLessThan(LEADER_TTL + SLACK);
      });

      it("tells a leader that loses its lease abruptly, and the other instance takes over", async () => {
        const { name, leader, follower } = await twoCampaigners();
        await hooks.breakLeadership(leader.coordinator, name);
        await eventually(() => leader.events.includes("deposed"), LEADER_TTL + SLACK);
        expect(leader.handle.isLeader()).toBe(false);
        await eventually(() => follower.handle.isLeader(), LEADER_TTL + SLACK);
        // The deposed instance campaigns again, but does not take leadership back from a live leader.
        await neverBoth(leader.handle, follower.handle, LEADER_TTL * 1.5, true);
        expect(follower.handle.isLeader()).toBe(true);
        expect(leader.events).toEqual(["elected", "deposed"]);
        expect(follower.events).toEqual(["elected"]);
      });

      it("takes over within the ttl when the leader's process is killed (kill -9)", async () => {
        const [b] = await pair();
        const name = uniq("leader");
        const proc = child(name);
        await proc.waitFor("elected", 15_000);
        const events: string[] = [];
        const handle = b.campaign(name, LEADER_TTL, recorder(events));
        await sleep(LEADER_TTL / 2);
        expect(handle.isLeader()).toBe(false);
        const killedAt = performance.now();
        proc.proc.kill("SIGKILL");
        await eventually(() => handle.isLeader(), LEADER_TTL + SLACK);
        expect(performance.now() - killedAt).toBeLessThan(LEADER_TTL + SLACK);
        expect(events).toEqual(["elected"]);
      });

      it("takes over from a frozen leader, which learns it was deposed when it wakes up", async () => {
        const [b] = await pair();
        const name = uniq("leader");
        const proc = child(name);
        await proc.waitFor("elected", 15_000);
        const handle = b.campaign(name, LEADER_TTL, recorder([]));
        proc.proc.kill("SIGSTOP");
        await eventually(() => handle.isLeader(), LEADER_TTL * 2 + SLACK);
        proc.proc.kill("SIGCONT");
        await proc.waitFor("deposed", LEADER_TTL + SLACK);
        expect(proc.lines).toEqual(["ready", "elected", "deposed"]);
        await sleep(LEADER_TTL / 2);
        expect(handle.isLeader()).toBe(true);
        expect(proc.lines).toEqual(["ready", "elected", "deposed"]);
      });
    });

    describe("pub/sub", () => {
      it("delivers to every subscribed instance, the publisher included", async () => {
        const [a, b] = await pair();
        const channel = uniq("ch");
        const got = { a: [] as string[], b: [] as string[] };
        await a.subscribe(channel, (m) => got.a.push(m));
        await b.subscribe(channel, (m) => got.b.push(m));
        await a.publish(channel, "from a");
        await b.publish(channel, "from b ✓");
        await eventually(() => got.a.length === 2 && got.b.length === 2, 2_000);
        expect(got.a).toEqual(["from a", "from b ✓"]);
        expect(got.b).toEqual(["from a", "from b ✓"]);
      });

      it("keeps channels apart and stops delivering after unsubscribe", async () => {
        const [a, b] = await pair();
        const [one, two] = [uniq("ch"), uniq("ch")];
        const got = { one: [] as string[], two: [] as string[], kept: [] as string[] };
        const offOne = await b.subscribe(one, (m) => got.one.push(m));
        await b.subscribe(two, (m) => got.two.push(m));
        await b.subscribe(one, (m) => got.kept.push(m));
        await a.publish(one, "1");
        await eventually(() => got.one.length === 1 && got.kept.length === 1, 2_000);
        await offOne();
        await a.publish(one, "2");
        await a.publish(two, "3");
        await eventually(() => got.two.length === 1 && got.kept.length === 2, 2_000);
        expect(got).toEqual({ one: ["1"], two: ["3"], kept: ["1", "2"] });
      });

      it("carries messages up to the limit and refuses larger ones and unsafe channel names", async () => {
        const [a, b] = await pair();
        const channel = uniq("ch");
        const got: string[] = [];
        await b.subscribe(channel, (m) => got.push(m));
        const largest = `${"é".repeat(3_999)}x`; // 7 999 bytes
        await a.publish(channel, largest);
        await eventually(() => got.length === 1, 2_000);
        expect(got[0]).toBe(largest);
        await expect(a.publish(channel, `${largest}x`)).rejects.toThrow(/8000 bytes|7999 bytes/);
        await expect(a.publish('x"; drop table coord_leases; --', "m")).rejects.toThrow(/invalid channel/);
        await expect(a.subscribe('x"; drop table coord_leases; --', () => undefined)).rejects.toThrow(
          /invalid channel/,
        );
        expect(await a.tryAcquire(uniq("still-works"), 1_000)).not.toBeNull();
      });

      it("resubscribes by itself after its connection is cut", async () => {
        const [a, b] = await pair();
        const channel = uniq("ch");
        const got: string[] = [];
        await b.subscribe(channel, (m) => got.push(m));
        await hooks.killSubscriberConnection(b);
        let n = 0;
        await eventually(
          async () => {
            await a.publish(channel, `after-${n++}`);
            await sleep(20);
            return got.length > 0;
          },
          10_000,
          0,
        );
        expect(got[0]).toMatch(/^after-\d+$/);
      });
    });

    describe("counters", () => {
      it("are shared by instances and count from zero", async () => {
        const [a, b] = await pair();
        const key = uniq("count");
        expect(await a.count(key, 60_000)).toBe(0);
        expect(await a.increment(key, 60_000)).toBe(1);
        expect(await b.increment(key, 60_000)).toBe(2);
        expect(await b.increment(key, 60_000, 5)).toBe(7);
        expect(await a.count(key, 60_000)).toBe(7);
        expect(await b.count(key, 60_000)).toBe(7);
        expect(await b.count(uniq("count"), 60_000)).toBe(0);
      });

      it("start again in the next window", async () => {
        const [a, b] = await pair();
        const key = uniq("count");
        const window = 400;
        const first = await a.increment(key, window);
        await b.increment(key, window);
        // A new window is reached within one window length; its first increment returns 1.
        await eventually(async () => (await a.count(key, window)) === 0, window + SLACK);
        expect(first).toBe(1);
        expect(await b.increment(key, window)).toBe(1);
      });

      it("sum exactly under 20 concurrent increments from two instances", async () => {
        const [a, b] = await pair();
        const key = uniq("count");
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).increment(key, 60_000)),
        );
        expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(await a.count(key, 60_000)).toBe(20);
      });
    });

    describe("rate limits", () => {
      it("allow a burst, then refuse with a sensible retryAfterMs, shared by instances", async () => {
        const [a, b] = await pair();
        const key = uniq("rate");
        // 5 per 2.5 s: one more every 500 ms after a burst of 5.
        const limit = { limit: 5, periodMs: 2_500 };
        for (let i = 0; i < 5; i++) {
          expect(await (i % 2 ? a : b).rateLimit(key, limit)).toEqual({ allowed: true, retryAfterMs: 0 });
        }
        const refused = await a.rateLimit(key, limit);
        expect(refused.allowed).toBe(false);
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(500);
        expect((await b.rateLimit(key, limit)).allowed).toBe(false);
        expect((await b.rateLimit(uniq("rate"), limit)).allowed).toBe(true);
      });

      it("do not count refused calls", async () => {
        const [a, b] = await pair();
        const key = uniq("rate");
        const limit = { limit: 2, periodMs: 600, burst: 2 };
        expect((await a.rateLimit(key, limit)).allowed).toBe(true);
        expect((await b.rateLimit(key, limit)).allowed).toBe(true);
        let last = await a.rateLimit(key, limit);
        expect(last.allowed).toBe(false);
        for (let i = 0; i < 10; i++) {
          last = await (i % 2 ? a : b).rateLimit(key, limit);
          expect(last.allowed).toBe(false);
        }
        // Had the refusals counted, this wait would not be enough.
        await sleep(last.retryAfterMs + 5);
        expect((await b.rateLimit(key, limit)).allowed).toBe(true);
        expect((await a.rateLimit(key, limit)).allowed).toBe(false);
      });

      it("allow exactly the burst out of 50 concurrent calls from two instances", async () => {
        const [a, b] = await pair();
        const key = uniq("rate");
        const limit = { limit: 10, periodMs: 1_000, burst: 10 };
        const started = performance.now();
        const decisions = await Promise.all(
          Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).rateLimit(key, limit)),
        );
        const elapsed = performance.now() - started;
        const allowed = decisions.filter((d) => d.allowed).length;
        // Exactly the burst whenever the 50 calls finish within one emission interval (100 ms), as
        // they do (~30 ms); a slower machine legitimately earns one more per 100 ms.
        expect(allowed).toBeGreaterThanOrEqual(10);
        expect(allowed).toBeLessThanOrEqual(10 + Math.floor(elapsed / 100));
        for (const d of decisions.filter((x) => !x.allowed)) {
          expect(d.retryAfterMs).toBeGreaterThan(0);
          expect(d.retryAfterMs).toBeLessThanOrEqual(100);
        }
      });

      it("default the burst to the limit", async () => {
        const [a] = await pair();
        const key = uniq("rate");
        const decisions = [];
        for (let i = 0; i < 4; i++)
          decisions.push((await a.rateLimit(key, { limit: 3, periodMs: 60_000 })).allowed);
        expect(decisions).toEqual([true, true, true, false]);
      });
    });

    describe("setOnce", () => {
      it("is true once across instances, then false until the ttl passes", async () => {
        const [a, b] = await pair();
        const key = uniq("once");
        expect(await a.setOnce(key, 400)).toBe(true);
        expect(await b.setOnce(key, 400)).toBe(false);
        expect(await a.setOnce(key, 400)).toBe(false);
        await eventually(() => b.setOnce(key, 60_000), 400 + SLACK);
        expect(await a.setOnce(key, 60_000)).toBe(false);
      });
    });

    it("rejects nonsense arguments with a clear error", async () => {
      const [a] = await pair();
      await expect(a.tryAcquire("x", 0)).rejects.toThrow(/ttlMs must be a positive integer/);
      await expect(a.increment("x", -5)).rejects.toThrow(/windowMs must be a positive integer/);
      await expect(a.increment("x", 1_000, 1.5)).rejects.toThrow(/must be an integer/);
      await expect(a.rateLimit("x", { limit: 0, periodMs: 1_000 })).rejects.toThrow(/rate limit/);
      expect(() => a.campaign("x", 0, recorder([]))).toThrow(/ttlMs/);
    });
  });
}
