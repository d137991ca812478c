// Telegram's flood control as the Bot FAQ describes it, on an injected clock:
//  - private chats: about one message per second, tolerating short bursts. Modelled as a token
//    bucket (capacity `privateBurst`, default 3; refill `perChatPerSecond`, default 1/s);
//  - groups and supergroups: `perGroupPerMinute` (20) messages in any sliding 60 s;
//  - the bot as a whole: `globalPerSecond` (30) messages in any sliding second.
// Sends and edits count; only requests that succeed consume capacity. A refused request gets
// 429 with retry_after = whole seconds until capacity returns, and that chat stays refused until
// then, like Telegram's flood wait. Requests inside an announced wait are recorded as violations.

import type { RateLimitViolation } from "./types.ts";

export interface FloodLimits {
  perChatPerSecond: number;
  privateBurst: number;
  perGroupPerMinute: number;
  globalPerSecond: number;
  enforce: boolean;
}

export type ChatKind = "private" | "group";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class FloodControl {
  readonly limits: FloodLimits;
  private readonly buckets = new Map<number, Bucket>();
  private readonly groupWindows = new Map<number, number[]>();
  private globalWindow: number[] = [];
  private readonly waitUntil = new Map<number, number>();
  private readonly violationLog: RateLimitViolation[] = [];

  constructor(limits: FloodLimits) {
    this.limits = limits;
  }

  /** Seconds the caller must wait before this request may go, or 0. A refusal starts a flood wait. */
  check(chatId: number, kind: ChatKind, method: string, now: number): number {
    if (!this.limits.enforce) return 0;
    const announced = this.waitUntil.get(chatId);
    if (announced !== undefined && now < announced) {
      this.violationLog.push({ chatId, method, at: now, retryAfterUntil: announced });
      return Math.max(1, Math.ceil((announced - now) / SECOND));
    }
    let waitMs = 0;
    if (kind === "private") {
      const bucket = this.refill(chatId, now);
      if (bucket.tokens < 1) waitMs = ((1 - bucket.tokens) / this.limits.perChatPerSecond) * SECOND;
    } else {
      const window = this.prune(this.groupWindows.get(chatId) ?? [], now - MINUTE);
      this.groupWindows.set(chatId, window);
      if (window.length >= this.limits.perGroupPerMinute) {
        waitMs = window[window.length - this.limits.perGroupPerMinute]! + MINUTE - now;
      }
    }
    this.globalWindow = this.prune(this.globalWindow, now - SECOND);
    if (this.globalWindow.length >= this.limits.globalPerSecond) {
      waitMs = Math.max(
        waitMs,
        this.globalWindow[this.globalWindow.length - this.limits.globalPerSecond]! + SECOND - now,
      );
    }
    if (waitMs <= 0) return 0;
    const retryAfter = Math.max(1, Math.ceil(waitMs / SECOND));
    this.waitUntil.set(chatId, now + retryAfter * SECOND);
    return retryAfter;
  }

  /** Records a message that went out. */
  consume(chatId: number, kind: ChatKind, now: number): void {
    if (!this.limits.enforce) return;
    if (kind === "private") {
      this.refill(chatId, now).tokens -= 1;
    } else {
      const window = this.groupWindows.get(chatId) ?? [];
      window.push(now);
      this.groupWindows.set(chatId, window);
    }
    this.globalWindow.push(now);
  }

  violations(): RateLimitViolation[] {
    return this.violationLog.map((violation) => ({ ...violation }));
  }

  reset(): void {
    this.buckets.clear();
    this.groupWindows.clear();
    this.globalWindow = [];
    this.waitUntil.clear();
    this.violationLog.length = 0;
  }

  private refill(chatId: number, now: number): Bucket {
    let bucket = this.buckets.get(chatId);
    if (bucket === undefined) {
      bucket = { tokens: this.limits.privateBurst, updatedAt: now };
      this.buckets.set(chatId, bucket);
    }
    const elapsed = Math.max(0, now - bucket.updatedAt);
    bucket.tokens = Math.min(
      this.limits.privateBurst,
      bucket.tokens + (elapsed / SECOND) * this.limits.perChatPerSecond,
    );
    bucket.updatedAt = Math.max(bucket.updatedAt, now);
    return bucket;
  }

  private prune(window: number[], after: number): number[] {
    let first = 0;
    while (first < window.length && window[first]! <= after) first++;
    return first === 0 ? window : window.slice(first);
  }
}
