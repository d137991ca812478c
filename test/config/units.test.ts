import { describe, expect, it } from "vitest";
import {
  parseActionChain,
  parseBudgetLimit,
  parseBytes,
  parseComparison,
  parseCount,
  parseCron,
  parseDuration,
  parseDurationRange,
  parseRate,
  parseRatio,
  parseTimeZone,
  UnitError,
  zDuration,
} from "../../src/config/units.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

describe("parseDuration", () => {
  it.each([
    ["30s", 30_000],
    ["15m", 15 * MIN],
    ["1h", HOUR],
    ["7d", 7 * DAY],
    ["1 hour", HOUR],
    ["24 hours", 24 * HOUR],
    ["every 5 minutes", 5 * MIN],
    ["5 minutes", 5 * MIN],
    ["1h30m", 90 * MIN],
    ["1 hour 30 minutes", 90 * MIN],
    ["1.5h", 90 * MIN],
    ["250ms", 250],
    ["2 weeks", 14 * DAY],
    ["400d", 400 * DAY],
    ["0", 0],
    [0, 0],
  ])("reads %j", (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each(["soon", "15", "15 parsecs", "m15", "", "1h and change", "-5m"])(
    "refuses %j with the duration hint",
    (input) => {
      expect(() => parseDuration(input)).toThrowError(/^expected a duration like 15m/);
    },
  );

  it("refuses a bare number and says it needs a unit", () => {
    expect(() => parseDuration(30)).toThrowError(
      "expected a duration like 15m (a bare number needs a unit: 30s, 5m, 1h)",
    );
  });

  it("throws UnitError, so callers can tell bad input from bugs", () => {
    expect(() => parseDuration({})).toThrow(UnitError);
  });
});

describe("parseDurationRange", () => {
  it("reads the report's cooldown: 15-60 minutes is 15 min initial, 60 min cap", () => {
    expect(parseDurationRange("15-60 minutes")).toEqual({ initialMs: 15 * MIN, maxMs: 60 * MIN });
  });

  it.each([
    ["15m-1h", { initialMs: 15 * MIN, maxMs: HOUR }],
    ["15 to 60 minutes", { initialMs: 15 * MIN, maxMs: HOUR }],
    ["30s..5m", { initialMs: 30_000, maxMs: 5 * MIN }],
    ["30m", { initialMs: 30 * MIN, maxMs: 30 * MIN }],
  ])("reads %j", (input, expected) => {
    expect(parseDurationRange(input)).toEqual(expected);
  });

  it("refuses an upside-down range", () => {
    expect(() => parseDurationRange("60-15 minutes")).toThrowError(
      "the upper bound of the range is below the lower bound",
    );
  });

  it("refuses words", () => {
    expect(() => parseDurationRange("a while")).toThrowError(
      "expected a duration or a range like 15-60 minutes",
    );
  });
});

describe("parseCount", () => {
  it.each([
    ["3-5 consecutive failures", 3],
    ["100000 tokens", 100_000],
    ["10000 tokens", 10_000],
    ["100k tokens", 100_000],
    ["3M tokens", 3_000_000],
    ["1,000,000", 1_000_000],
    ["3", 3],
    [3, 3],
    ["3 consecutive failures", 3],
  ])("reads %j", (input, expected) => {
    expect(parseCount(input)).toBe(expected);
  });

  it.each(["many", "1.5", -1, 2.5, "5-3 failures", "3h"])("refuses %j", (input) => {
    expect(() => parseCount(input)).toThrow(UnitError);
  });
});

describe("parseRatio", () => {
  it.each([
    ["80%", 0.8],
    ["5%", 0.05],
    ["0.8", 0.8],
    [0.8, 0.8],
    ["100%", 1],
    ["33.3%", 0.333],
  ])("reads %j", (input, expected) => {
    expect(parseRatio(input)).toBe(expected);
  });

  it("refuses 80 as a ratio and says how to write a percentage", () => {
    expect(() => parseRatio(80)).toThrowError(
      "expected a ratio like 80% or 0.8 (at most 100%; for 80 percent write 80%)",
    );
  });

  it.each(["eighty", "-5%", "150%"])("refuses %j", (input) => {
    expect(() => parseRatio(input)).toThrow(UnitError);
  });
});

describe("parseBytes", () => {
  it.each([
    ["256MB", 256 * 1024 * 1024],
    ["256 MB", 256 * 1024 * 1024],
    ["512MiB", 512 * 1024 * 1024],
    ["1.5GB", 1.5 * 1024 ** 3],
    ["64K", 64 * 1024],
    ["1024", 1024],
    [2048, 2048],
  ])("reads %j", (input, expected) => {
    expect(parseBytes(input)).toBe(expected);
  });

  it.each(["256 parsecs", "lots", "5m"])("refuses %j", (input) => {
    expect(() => parseBytes(input)).toThrowError("expected a size like 256MB");
  });
});

describe("parseRate", () => {
  it.each([
    ["100 requests/hour", { count: 100, per_ms: HOUR }],
    ["10/minute", { count: 10, per_ms: MIN }],
    ["100 per hour", { count: 100, per_ms: HOUR }],
    ["100 requests per hour", { count: 100, per_ms: HOUR }],
    ["5/30s", { count: 5, per_ms: 30_000 }],
    ["600 req/min", { count: 600, per_ms: MIN }],
  ])("reads %j", (input, expected) => {
    expect(parseRate(input)).toEqual(expected);
  });

  it.each(["100", "fast", "0/minute", "10/forever", 100])("refuses %j", (input) => {
    expect(() => parseRate(input)).toThrowError("expected a rate like 100 requests/hour or 10/minute");
  });
});

describe("parseComparison", () => {
  it("reads the report's latency trigger", () => {
    expect(parseComparison("> 5s p99")).toEqual({ op: ">", value: 5000, unit: "ms", metric: "p99" });
  });

  it("reads the report's error trigger as a ratio", () => {
    expect(parseComparison("> 5% errors")).toEqual({ op: ">", value: 0.05, unit: "ratio", metric: "errors" });
  });

  it("reads the report's memory trigger in bytes", () => {
    expect(parseComparison("< 256MB memory")).toEqual({
      op: "<",
      value: 268_435_456,
      unit: "bytes",
      metric: "memory",
    });
  });

  it.each([
    [">= 0.7", { op: ">=", value: 0.7, unit: "number", metric: null }],
    ["> 10s", { op: ">", value: 10_000, unit: "ms", metric: null }],
    ["p99 > 5s", { op: ">", value: 5000, unit: "ms", metric: "p99" }],
    ["> 5 errors", { op: ">", value: 5, unit: "number", metric: "errors" }],
    ["≤ 90%", { op: "<=", value: 0.9, unit: "ratio", metric: null }],
    ["<256M free memory", { op: "<", value: 268_435_456, unit: "bytes", metric: "free memory" }],
  ])("reads %j", (input, expected) => {
    expect(parseComparison(input)).toEqual(expected);
  });

  it.each(["5s p99", "high", ">", "", 5])("refuses %j", (input) => {
    expect(() => parseComparison(input)).toThrowError('expected a comparison like "> 5s p99"');
  });
});

describe("parseActionChain", () => {
  const actions = ["alert", "switch_provider", "block"] as const;

  it("reads `switch_provider or alert` as try the first, then the second", () => {
    expect(parseActionChain("switch_provider or alert", actions)).toEqual(["switch_provider", "alert"]);
  });

  it.each([
    ["alert", ["alert"]],
    ["block, alert", ["block", "alert"]],
    ["switch_provider then block", ["switch_provider", "block"]],
    ["switch_provider -> alert", ["switch_provider", "alert"]],
    [
      ["block", "alert"],
      ["block", "alert"],
    ],
  ])("reads %j", (input, expected) => {
    expect(parseActionChain(input, actions)).toEqual(expected);
  });

  it("refuses an action outside the allowed set and lists the allowed ones", () => {
    expect(() => parseActionChain("switch_provider or panic", actions)).toThrowError(
      /expected one of alert, switch_provider, block/,
    );
  });
});

describe("parseBudgetLimit", () => {
  it.each([
    ["100000 tokens", { amount: 100_000, unit: "tokens" }],
    ["3000000 tokens", { amount: 3_000_000, unit: "tokens" }],
    [50000, { amount: 50_000, unit: "tokens" }],
    ["$50", { amount: 50, unit: "usd" }],
    ["50 USD", { amount: 50, unit: "usd" }],
    ["12.5 dollars", { amount: 12.5, unit: "usd" }],
  ])("reads %j", (input, expected) => {
    expect(parseBudgetLimit(input)).toEqual(expected);
  });

  it.each(["lots", "0 tokens", "$0", "50 EUR"])("refuses %j", (input) => {
    expect(() => parseBudgetLimit(input)).toThrow(UnitError);
  });
});

describe("parseCron and parseTimeZone", () => {
  it.each(["0 9 * * *", "*/15 * * * *", "0 9 * * mon-fri", "30 0 9 1,15 * *"])("accepts %j", (input) => {
    expect(parseCron(input)).toBe(input);
  });

  it.each(["0 9 * *", "61 9 * * *", "0 25 * * *", "every morning", "0 9 * * * * *"])(
    "refuses %j",
    (input) => {
      expect(() => parseCron(input)).toThrow(/^expected a cron schedule of 5 fields/);
    },
  );

  it("names the field that is wrong", () => {
    expect(() => parseCron("0 25 * * *")).toThrowError(/the hour field is not valid/);
  });

  it("accepts zones Intl knows and refuses others", () => {
    expect(parseTimeZone("Europe/Berlin")).toBe("Europe/Berlin");
    expect(() => parseTimeZone("Mars/Olympus")).toThrowError(
      "expected a time zone like UTC or Europe/Berlin",
    );
  });
});

describe("unit schemas", () => {
  it("turn a parser's error into a zod issue with the friendly message", () => {
    const result = zDuration.safeParse("soon");
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe("expected a duration like 15m");
  });

  it("pass the parsed value through", () => {
    expect(zDuration.parse("every 5 minutes")).toBe(5 * MIN);
  });
});
