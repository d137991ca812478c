import type { DigestData } from "../../../src/services/digest/collect.ts";
import { digestTranslator, type Translate } from "../../../src/services/digest/texts.ts";

export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** 2030-01-15 09:00 UTC: the default schedule's time on a Tuesday. */
export const END = Date.parse("2030-01-15T09:00:00Z");

export const en: Translate = digestTranslator("en");
export const ru: Translate = digestTranslator("ru");

/** A busy day, with figures a test can check by hand. */
export function busyDay(): DigestData {
  const alerts = [0, 0, 1, 0, 2, 0, 0, 3, 5, 12, 40, 22, 9, 4, 2, 1, 0, 0, 0, 1, 0, 0, 3, 6];
  const tokens = [
    1_200, 800, 400, 300, 250, 300, 900, 4_500, 18_000, 42_000, 61_000, 58_000, 49_500, 52_000, 47_000,
    39_000, 30_000, 22_000, 15_000, 9_000, 6_000, 4_000, 2_500, 1_900,
  ];
  return {
    window: { start: END - 24 * HOUR, end: END },
    incidents: {
      fired: { critical: 2, warning: 5, info: 4 },
      open: { critical: 1, warning: 2, info: 1 },
      firings: alerts.reduce((sum, n) => sum + n, 0),
      noisiest: [
        {
          key: "disk:<db-1>&co",
          title: "Disk <almost> full & climbing",
          severity: "critical",
          firings: 57,
          incidents: 2,
        },
        { key: "latency:api", title: "p99 above 5 s", severity: "warning", firings: 21, incidents: 1 },
        {
          key: "check:search",
          title: "Health check search is down",
          severity: "warning",
          firings: 4,
          incidents: 4,
        },
      ],
      // 3 acknowledged: median 4 min 30 s
      acknowledgeMs: [270_000, 60_000, 1_800_000],
      // 4 resolved: median (30 min + 50 min) / 2 = 40 min
      resolveMs: [20 * MINUTE, 30 * MINUTE, 50 * MINUTE, 3 * HOUR],
    },
    approvals: {
      approved: 20,
      approvedByPolicy: 15,
      denied: 3,
      deniedByPolicy: 1,
      expired: 2,
      // 7 by a person: median 45 s
      humanDecisionMs: [12_000, 30_000, 45_000, 45_500, 90_000, 44_000, 300_000],
    },
    usage: [
      {
        provider: "openai",
        model: "gpt-4",
        requests: 700,
        cachedRequests: 50,
        inputTokens: 200_000,
        outputTokens: 100_000,
        tokensSpent: 280_000,
        tokensSaved: 20_000,
        costUsd: 12.345,
      },
      {
        provider: "openai",
        model: "gpt-4o-mini",
        requests: 500,
        cachedRequests: 0,
        inputTokens: 90_000,
        outputTokens: 30_000,
        tokensSpent: 120_000,
        tokensSaved: 0,
        costUsd: 0.6,
      },
      {
        provider: "anthropic",
        model: "claude",
        requests: 300,
        cachedRequests: 0,
        inputTokens: 50_000,
        outputTokens: 19_550,
        tokensSpent: 69_550,
        tokensSaved: 0,
        costUsd: 3.1,
      },
    ],
    budgets: [
      {
        name: "daily_limit",
        scope: "per_provider",
        key: "openai",
        unit: "tokens",
        used: 45_000,
        limit: 100_000,
        pct: 45,
        exhausted: false,
        window: "daily",
      },
      {
        name: "daily_limit",
        scope: "per_provider",
        key: "anthropic",
        unit: "tokens",
        used: 100_500,
        limit: 100_000,
        pct: 100,
        exhausted: true,
        window: "daily",
      },
      {
        name: "spend",
        scope: "global",
        key: "*",
        unit: "usd",
        used: 12.5,
        limit: 50,
        pct: 25,
        exhausted: false,
        window: "monthly",
      },
    ],
    breakerTrips: [
      { name: "openai", count: 2 },
      { name: "search", count: 1 },
    ],
    checkFailures: [{ name: "search", count: 4 }],
    checksDown: ["search"],
    modeChanges: [
      {
        at: END - 14 * HOUR,
        mode: "DEGRADED",
        previous: "FULL",
        reasons: ["p99 > 5s (7.2 s)"],
        changedBy: "auto",
      },
      { at: END - 13 * HOUR, mode: "FULL", previous: "DEGRADED", reasons: [], changedBy: "auto" },
    ],
    modeAtEnd: "FULL",
    hourly: { alerts, tokens },
  };
}

/** Nothing happened. */
export function quietDay(): DigestData {
  return {
    window: { start: END - 24 * HOUR, end: END },
    incidents: {
      fired: { critical: 0, warning: 0, info: 0 },
      open: { critical: 0, warning: 0, info: 0 },
      firings: 0,
      noisiest: [],
      acknowledgeMs: [],
      resolveMs: [],
    },
    approvals: {
      approved: 0,
      approvedByPolicy: 0,
      denied: 0,
      deniedByPolicy: 0,
      expired: 0,
      humanDecisionMs: [],
    },
    usage: [],
    budgets: [],
    breakerTrips: [],
    checkFailures: [],
    checksDown: [],
    modeChanges: [],
    modeAtEnd: "FULL",
    hourly: { alerts: new Array(24).fill(0), tokens: new Array(24).fill(0) },
  };
}
