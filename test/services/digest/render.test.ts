import { describe, expect, it } from "vitest";
import {
  renderCaption,
  renderHtml,
  renderPlain,
  TELEGRAM_CAPTION_LIMIT,
  TELEGRAM_TEXT_LIMIT,
} from "../../../src/bot/format/index.ts";
import type { DigestData } from "../../../src/services/digest/collect.ts";
import {
  type DigestMeta,
  digestCaption,
  digestEmail,
  digestText,
  formatDuration,
  median,
  providerTotals,
  summarize,
} from "../../../src/services/digest/render.ts";
import { busyDay, END, en, HOUR, MINUTE, quietDay, ru } from "./fixtures.ts";

const META: DigestMeta = { timeZone: "UTC", date: "2030-01-15" };

const plain = (data: DigestData, meta: DigestMeta = META, t = en) =>
  renderPlain(digestText(data, meta, t)).text;

describe("figures", () => {
  it("takes the median of odd and even counts, and none of nothing", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([40, 10, 30, 20])).toBe(25);
    expect(median([7])).toBe(7);
    expect(median([])).toBeNull();
  });

  it("sums usage per provider over its models, most tokens first", () => {
    const totals = providerTotals(busyDay().usage);
    expect(totals).toEqual([
      { provider: "openai", requests: 1_200, tokensSpent: 400_000, tokensSaved: 20_000, costUsd: 12.945 },
      { provider: "anthropic", requests: 300, tokensSpent: 69_550, tokensSaved: 0, costUsd: 3.1 },
    ]);
    const summary = summarize(busyDay());
    expect(summary.total.tokensSpent).toBe(469_550);
    expect(summary.total.costUsd).toBeCloseTo(16.045, 6);
    expect(summary.total.requests).toBe(1_500);
  });

  it("summarises incidents, approvals and ops counts", () => {
    const s = summarize(busyDay());
    expect(s.incidents).toEqual({
      fired: 11,
      resolved: 4,
      open: 4,
      openCritical: 1,
      firings: 111,
      acknowledgeMedianMs: 270_000,
      acknowledged: 3,
      resolveMedianMs: 40 * MINUTE,
    });
    expect(s.approvals).toEqual({
      approved: 20,
      denied: 3,
      expired: 2,
      decisionMedianMs: 45_000,
      humanDecisions: 7,
    });
    expect([s.breakerTrips, s.checkFailures, s.modeChanges]).toEqual([3, 4, 2]);
  });

  it("writes durations with two units at most, rounded down", () => {
    expect(formatDuration(en, 999)).toBe("0 s");
    expect(formatDuration(en, 45_900)).toBe("45 s");
    expect(formatDuration(en, 270_000)).toBe("4 min 30 s");
    expect(formatDuration(en, 40 * MINUTE + 59_000)).toBe("40 min");
    expect(formatDuration(en, 80 * MINUTE)).toBe("1 h 20 min");
    expect(formatDuration(en, 3 * HOUR)).toBe("3 h");
    expect(formatDuration(en, 51 * HOUR)).toBe("2 d 3 h");
    expect(formatDuration(ru, 270_000)).toBe("4 мин 30 с");
  });
});

describe("the digest text", () => {
  it("shows every section with the right numbers", () => {
    const text = plain(busyDay());
    expect(text).toContain("📊 Daily digest · 2030-01-15\n2030-01-14 09:00 – 2030-01-15 09:00 UTC");
    expect(text).toContain("fired 11 · resolved 4 · still open 4\n2 critical, 5 warning, 4 info");
    expect(text).toContain("alerts received: 111");
    expect(text).toContain("time to acknowledge: median 4 min 30 s (3 acknowledged)");
    expect(text).toContain("time to resolve: median 40 min (4 resolved)");
    expect(text).toContain("approved 20 (15 by policy) · denied 3 (1 by policy) · expired 2");
    expect(text).toContain("decision time: median 45 s (7 decided by a person)");
    expect(text).toContain(
      "openai: 400 000 tokens · $12.95 · 1 200 requests · 20 000 tokens saved by cache · daily_limit 45.0 %",
    );
    expect(text).toContain("anthropic: 69 550 tokens · $3.10 · 300 requests · daily_limit 100.0 %");
    expect(text).toContain("total: 469 550 tokens · $16.05 · 1 500 requests");
    // Fullest budget first, exhausted ones flagged.
    expect(text).toContain(
      "Budgets:\n⚠️ daily_limit · anthropic: 100.0 % (100 500 tokens of 100 000 tokens, today) exhausted\n• daily_limit · openai",
    );
    expect(text).toContain("• spend · all usage: 25.0 % ($12.50 of $50.00, this month)");
    expect(text).toContain("Circuit breakers: opened 3 times: openai ×2, search ×1");
    expect(text).toContain("Health checks: went down 4 times: search ×4; still down: search");
    expect(text).toContain(
      "Mode: 2 changes, now FULL\n  19:00 FULL → DEGRADED (p99 > 5s (7.2 s))\n  20:00 DEGRADED → FULL",
    );
    expect(text).not.toContain("Late");
  });

  it("lists the noisiest keys in code, escaped", () => {
    const html = renderHtml(digestText(busyDay(), META, en)).html;
    expect(html).toContain(
      "1. 🔴 <code>disk:&lt;db-1&gt;&amp;co</code> ×57 — Disk &lt;almost&gt; full &amp; climbing",
    );
    expect(html).toContain("2. 🟠 <code>latency:api</code> ×21 — p99 above 5 s");
    expect(html).not.toMatch(/<db-1>|&co|<almost>/);
    expect(plain(busyDay())).toContain("1. 🔴 disk:<db-1>&co ×57 — Disk <almost> full & climbing");
  });

  it("says when it is late, and when it was due", () => {
    const meta: DigestMeta = { ...META, late: { scheduledAt: END, sentAt: END + 2.5 * HOUR } };
    expect(plain(busyDay(), meta)).toContain(
      "⏰ Late: scheduled for 09:00, sent at 11:30 (pitwall was not running at the scheduled time).",
    );
    expect(renderPlain(digestCaption(busyDay(), meta, en)).text.split("\n")[0]).toBe(
      "📊 Daily digest · 2030-01-15 · ⏰ late",
    );
  });

  it("says so when nothing happened", () => {
    const text = plain(quietDay());
    expect(text).toContain("🚨 Incidents\nNo alerts.");
    expect(text).toContain("✋ Approvals\nNo approval requests.");
    expect(text).toContain("🪙 Tokens and cost\nNo usage reported.");
    expect(text).toContain("Circuit breakers: no trips");
    expect(text).toContain("Health checks: no failures");
    expect(text).toContain("Mode: no changes, FULL all day");
  });

  it("speaks Russian with the same figures, in the digest's time zone", () => {
    const text = plain(busyDay(), { timeZone: "Europe/Moscow", date: "2030-01-15" }, ru);
    expect(text).toContain(
      "📊 Сводка за день · 2030-01-15\n2030-01-14 12:00 – 2030-01-15 12:00 Europe/Moscow",
    );
    expect(text).toContain("время до подтверждения: медиана 4 мин 30 с (подтверждено 3)");
    expect(text).toContain("Предохранители: размыкались 3 раза: openai ×2, search ×1");
    expect(text).not.toMatch(/digest-[a-z-]+/);
  });

  it("stays under Telegram's limits however much there is", () => {
    const huge = busyDay();
    huge.incidents.noisiest = Array.from({ length: 5 }, (_, n) => ({
      key: `${"k".repeat(500)}<&>${n}`,
      title: "t".repeat(500),
      severity: "critical" as const,
      firings: 1_000_000,
      incidents: 1,
    }));
    huge.usage = Array.from({ length: 100 }, (_, n) => ({
      provider: `provider-${n}-${"p".repeat(60)}`,
      model: "m",
      requests: 1e9,
      cachedRequests: 0,
      inputTokens: 1e12,
      outputTokens: 1e12,
      tokensSpent: 2e12,
      tokensSaved: 1e9,
      costUsd: 1e7,
    }));
    huge.budgets = Array.from({ length: 200 }, (_, n) => ({
      name: `budget_${n}_${"b".repeat(40)}`,
      scope: "per_agent" as const,
      key: `agent-${"a".repeat(60)}`,
      unit: "tokens" as const,
      used: 1e12,
      limit: 1e9,
      pct: 100,
      exhausted: true,
      window: "monthly" as const,
    }));
    huge.breakerTrips = Array.from({ length: 50 }, (_, n) => ({
      name: `breaker-${"x".repeat(60)}-${n}`,
      count: n,
    }));
    huge.modeChanges = Array.from({ length: 300 }, (_, n) => ({
      at: END - HOUR + n,
      mode: "MINIMAL",
      previous: "DEGRADED",
      reasons: ["r".repeat(400)],
      changedBy: "auto",
    }));
    const meta: DigestMeta = { ...META, late: { scheduledAt: END, sentAt: END + HOUR } };
    const text = renderHtml(digestText(huge, meta, en));
    expect(text.visibleLength).toBeLessThanOrEqual(TELEGRAM_TEXT_LIMIT);
    const caption = renderCaption(digestCaption(huge, meta, en));
    expect(caption.visibleLength).toBeLessThanOrEqual(TELEGRAM_CAPTION_LIMIT);
    expect(caption.truncated).toBe(false);
    // Lists are capped with a count of the rest, before any cut.
    expect(renderPlain(digestText(huge, meta, en), { maxLength: 100_000 }).text).toContain(
      "… and 92 more providers",
    );
  });
});

describe("the headline (caption)", () => {
  it("is a few lines of figures, far under 1024 characters", () => {
    const caption = renderCaption(digestCaption(busyDay(), META, en));
    expect(renderPlain(digestCaption(busyDay(), META, en)).text).toBe(
      [
        "📊 Daily digest · 2030-01-15",
        "🚨 incidents: fired 11 · resolved 4 · open 4",
        "✋ approvals: approved 20 · denied 3 · expired 2",
        "🪙 usage: 469 550 tokens · $16.05",
        "⚡ breaker trips 3 · check failures 4 · mode changes 2",
      ].join("\n"),
    );
    expect(caption.visibleLength).toBeLessThan(300);
  });

  it("names the last 24 hours when asked for on demand", () => {
    expect(renderPlain(digestCaption(busyDay(), { timeZone: "UTC" }, en)).text.split("\n")[0]).toBe(
      "📊 Digest of the last 24 hours",
    );
  });
});

describe("the email", () => {
  it("carries the full text as plain text and as HTML", () => {
    const email = digestEmail(busyDay(), META, en);
    expect(email.subject).toBe("pitwall digest 2030-01-15");
    expect(email.text).toContain("time to resolve: median 40 min (4 resolved)");
    expect(email.text).toContain("disk:<db-1>&co");
    expect(email.html).toContain("<code>disk:&lt;db-1&gt;&amp;co</code>");
    expect(email.html).toMatch(/^<!doctype html>/);
    const late = digestEmail(busyDay(), { ...META, late: { scheduledAt: END, sentAt: END + HOUR } }, en);
    expect(late.subject).toBe("pitwall digest 2030-01-15 (late)");
  });
});
