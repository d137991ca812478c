import { GrammyError, HttpError } from "grammy";
import { describe, expect, it } from "vitest";
import {
  classifyTelegramError,
  DEFAULT_PACING,
  DEFAULT_RETRY_POLICY,
  isGroupChat,
  transientDelayMs,
} from "../../src/delivery/policy.ts";

const tgError = (code: number, description: string, parameters: Record<string, number> = {}) =>
  new GrammyError(
    `Call to 'sendMessage' failed! (${code}: ${description})`,
    { ok: false, error_code: code, description, parameters },
    "sendMessage",
    {},
  );

describe("delivery policy", () => {
  it("classifies every failure class the Bot API answers with", () => {
    const kind = (err: unknown) => classifyTelegramError(err).kind;
    expect(
      classifyTelegramError(tgError(429, "Too Many Requests: retry after 7", { retry_after: 7 })),
    ).toMatchObject({
      kind: "rate_limited",
      retryAfterMs: 7000,
      code: "429",
    });
    expect(
      classifyTelegramError(
        tgError(400, "Bad Request: group chat was upgraded to a supergroup chat", {
          migrate_to_chat_id: -1001234,
        }),
      ),
    ).toMatchObject({ kind: "migrated", toChatId: "-1001234" });
    expect(
      kind(
        tgError(
          400,
          "Bad Request: message is not modified: specified new message content and reply markup are exactly the same",
        ),
      ),
    ).toBe("not_modified");
    expect(
      kind(tgError(400, 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 3')),
    ).toBe("entities");
    expect(kind(tgError(400, "Bad Request: message is too long"))).toBe("entities");
    expect(kind(tgError(400, "Bad Request: message caption is too long"))).toBe("entities");
    expect(kind(tgError(400, "Bad Request: message to edit not found"))).toBe("target_missing");
    expect(kind(tgError(400, "Bad Request: message can't be edited"))).toBe("target_missing");
    expect(kind(tgError(400, "Bad Request: message to delete not found"))).toBe("target_missing");
    expect(kind(tgError(403, "Forbidden: bot was blocked by the user"))).toBe("forbidden");
    expect(kind(tgError(403, "Forbidden: bot was kicked from the supergroup chat"))).toBe("forbidden");
    expect(kind(tgError(400, "Bad Request: chat not found"))).toBe("chat_unreachable");
    expect(kind(tgError(400, "Bad Request: message thread not found"))).toBe("chat_unreachable");
    expect(kind(tgError(401, "Unauthorized"))).toBe("unauthorized");
    expect(kind(tgError(404, "Not Found"))).toBe("unauthorized");
    expect(kind(tgError(500, "Internal Server Error"))).toBe("transient");
    expect(kind(tgError(502, "Bad Gateway"))).toBe("transient");
    expect(kind(new HttpError("Network request for 'sendMessage' failed!", new Error("ECONNRESET")))).toBe(
      "transient",
    );
    expect(classifyTelegramError(new HttpError("x", new Error("socket hang up"))).code).toBe("network");
    expect(kind(tgError(400, "Bad Request: BUTTON_DATA_INVALID"))).toBe("bad_request");
    expect(kind(tgError(400, "Bad Request: reply markup is too long"))).toBe("bad_request");
  });

  it("follows the report's retry policy, then every 60 s for 24 h, then every 10 minutes", () => {
    const p = { ...DEFAULT_RETRY_POLICY, report: { ...DEFAULT_RETRY_POLICY.report, jitter: false } };
    // 3 attempts (the first try and two retries at 1 s, 2 s), then the steady minute
    const delays = [1, 2, 3, 4, 5].map((n) => transientDelayMs(p, n, 10_000));
    expect(delays).toEqual([1_000, 2_000, 60_000, 60_000, 60_000]);
    expect(transientDelayMs(p, 50, 23 * 3_600_000)).toBe(60_000);
    expect(transientDelayMs(p, 50, 24 * 3_600_000)).toBe(600_000);
    // a longer report policy is capped at its max_delay (60 s)
    const long = { ...p, report: { ...p.report, max_attempts: 10 } };
    expect([1, 2, 7, 8, 9].map((n) => transientDelayMs(long, n, 0))).toEqual([
      1_000, 2_000, 60_000, 60_000, 60_000,
    ]);
    // with the report's jitter on, a delay lands in [d/2, d]
    expect(transientDelayMs(DEFAULT_RETRY_POLICY, 2, 0, () => 0)).toBe(1_000);
    expect(transientDelayMs(DEFAULT_RETRY_POLICY, 2, 0, () => 0.999)).toBeLessThanOrEqual(2_000);
  });

  it("paces under Telegram's sliding windows even with a full burst (burst + rate - 1 < limit)", () => {
    const inWindow = (l: { limit: number; burst?: number }) => (l.burst ?? l.limit) + l.limit - 1;
    expect(inWindow(DEFAULT_PACING.group)).toBeLessThan(20);
    expect(inWindow(DEFAULT_PACING.global)).toBeLessThan(30);
    expect(DEFAULT_PACING.private.burst).toBeLessThan(3); // Telegram tolerates short bursts of ~3
    expect(isGroupChat("-100123")).toBe(true);
    expect(isGroupChat("@status_channel")).toBe(true);
    expect(isGroupChat("4242")).toBe(false);
  });
});

describe("network errors never carry the bot token", () => {
  it("cuts the token out of a real grammY network error's description", async () => {
    const { Api } = await import("grammy");
    const token = "123456789:AAF-secret-token-for-the-leak-test-0000";
    const short = "42:short"; // a token of no usual shape is cut too, when it is passed
    for (const t of [token, short]) {
      const api = new Api(t, { apiRoot: "http://127.0.0.1:1" });
      const err = await api.sendMessage(1, "x").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HttpError);
      const { description } = classifyTelegramError(err, t);
      expect(description).toMatch(/sendMessage/);
      expect(description).not.toContain(t);
    }
  });
});
