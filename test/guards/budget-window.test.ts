import { describe, expect, it } from "vitest";
import { budgetWindow, formatTimeUntil, startOfLocalDay } from "../../src/guards/budget-window.ts";

const at = (iso: string) => Date.parse(iso);
const HOUR = 3_600_000;

function window(iso: string, kind: "daily" | "monthly", timeZone: string) {
  const result = budgetWindow(at(iso), kind, timeZone);
  return {
    start: new Date(result.start).toISOString(),
    end: new Date(result.end).toISOString(),
    hours: (result.end - result.start) / HOUR,
    key: result.key,
  };
}

describe("budgetWindow: daily", () => {
  it("runs midnight to midnight in UTC", () => {
    expect(window("2024-06-01T12:34:56Z", "daily", "UTC")).toEqual({
      start: "2024-06-01T00:00:00.000Z",
      end: "2024-06-02T00:00:00.000Z",
      hours: 24,
      key: "2024-06-01",
    });
  });

  it("is 23 hours on the spring DST day in Europe/Berlin", () => {
    expect(window("2024-03-31T10:00:00Z", "daily", "Europe/Berlin")).toEqual({
      start: "2024-03-30T23:00:00.000Z",
      end: "2024-03-31T22:00:00.000Z",
      hours: 23,
      key: "2024-03-31",
    });
  });

  it("is 25 hours on the autumn DST day in Europe/Berlin, the repeated hour included", () => {
    const day = {
      start: "2024-10-26T22:00:00.000Z",
      end: "2024-10-27T23:00:00.000Z",
      hours: 25,
      key: "2024-10-27",
    };
    expect(window("2024-10-27T10:00:00Z", "daily", "Europe/Berlin")).toEqual(day);
    // 02:30 happens twice (CEST, then CET): both belong to the same day
    expect(window("2024-10-27T00:30:00Z", "daily", "Europe/Berlin")).toEqual(day);
    expect(window("2024-10-27T01:30:00Z", "daily", "Europe/Berlin")).toEqual(day);
  });

  it("is 23 and 25 hours on the DST days in America/New_York", () => {
    expect(window("2024-03-10T12:00:00Z", "daily", "America/New_York")).toMatchObject({
      start: "2024-03-10T05:00:00.000Z",
      end: "2024-03-11T04:00:00.000Z",
      hours: 23,
    });
    expect(window("2024-11-03T12:00:00Z", "daily", "America/New_York")).toMatchObject({
      start: "2024-11-03T04:00:00.000Z",
      end: "2024-11-04T05:00:00.000Z",
      hours: 25,
    });
  });

  it("starts at the jump where a zone skips midnight (America/Santiago)", () => {
    // 2024-09-08: clocks go from 00:00 to 01:00; the day begins at 01:00 local
    expect(window("2024-09-08T12:00:00Z", "daily", "America/Santiago")).toMatchObject({
      start: "2024-09-08T04:00:00.000Z",
      end: "2024-09-09T03:00:00.000Z",
      hours: 23,
    });
    expect(window("2024-09-07T12:00:00Z", "daily", "America/Santiago").end).toBe("2024-09-08T04:00:00.000Z");
    // 2024-04-06 gets the repeated hour at its end
    expect(window("2024-04-06T12:00:00Z", "daily", "America/Santiago").hours).toBe(25);
  });

  it("handles zones with odd offsets and half-hour DST", () => {
    expect(window("2024-06-01T00:00:00Z", "daily", "Asia/Kathmandu")).toMatchObject({
      start: "2024-05-31T18:15:00.000Z",
      key: "2024-06-01",
    });
    expect(window("2024-10-06T12:00:00Z", "daily", "Australia/Lord_Howe").hours).toBe(23.5);
    // Samoa skipped 2011-12-30 entirely: the 29th ends where the 31st begins
    expect(window("2011-12-29T12:00:00Z", "daily", "Pacific/Apia").end).toBe("2011-12-30T10:00:00.000Z");
    expect(window("2011-12-30T12:00:00Z", "daily", "Pacific/Apia")).toMatchObject({
      start: "2011-12-30T10:00:00.000Z",
      key: "2011-12-31",
    });
  });

  it("includes its start and excludes its end", () => {
    const { start, end } = budgetWindow(at("2024-06-01T12:00:00Z"), "daily", "Europe/Berlin");
    expect(budgetWindow(start, "daily", "Europe/Berlin").start).toBe(start);
    expect(budgetWindow(start - 1, "daily", "Europe/Berlin").end).toBe(start);
    expect(budgetWindow(end - 1, "daily", "Europe/Berlin").end).toBe(end);
    expect(budgetWindow(end, "daily", "Europe/Berlin").start).toBe(end);
  });

  it("crosses month and leap-day ends", () => {
    expect(window("2028-02-28T12:00:00Z", "daily", "UTC").end).toBe("2028-02-29T00:00:00.000Z");
    expect(window("2028-02-29T12:00:00Z", "daily", "UTC")).toMatchObject({
      end: "2028-03-01T00:00:00.000Z",
      key: "2028-02-29",
    });
    expect(window("2027-02-28T12:00:00Z", "daily", "UTC").end).toBe("2027-03-01T00:00:00.000Z");
    expect(window("2024-12-31T23:59:59Z", "daily", "UTC").end).toBe("2025-01-01T00:00:00.000Z");
  });
});

describe("budgetWindow: monthly", () => {
  it("resets at 00:00 on the 1st in UTC, February 2028 having 29 days", () => {
    expect(window("2028-02-29T23:59:59Z", "monthly", "UTC")).toEqual({
      start: "2028-02-01T00:00:00.000Z",
      end: "2028-03-01T00:00:00.000Z",
      hours: 29 * 24,
      key: "2028-02",
    });
    expect(window("2028-03-01T00:00:00Z", "monthly", "UTC").key).toBe("2028-03");
    expect(window("2027-02-15T00:00:00Z", "monthly", "UTC").hours).toBe(28 * 24);
  });

  it("resets at local midnight on the 1st, across DST within the month", () => {
    // 23:30 UTC on Feb 29 is already March 1st in Berlin
    expect(window("2028-02-29T23:30:00Z", "monthly", "Europe/Berlin")).toEqual({
      start: "2028-02-29T23:00:00.000Z",
      end: "2028-03-31T22:00:00.000Z",
      hours: 31 * 24 - 1,
      key: "2028-03",
    });
    expect(window("2024-10-15T12:00:00Z", "monthly", "Europe/Berlin")).toMatchObject({
      start: "2024-09-30T22:00:00.000Z",
      end: "2024-10-31T23:00:00.000Z",
      hours: 31 * 24 + 1,
    });
  });

  it("rolls over the year in the zone, not in UTC", () => {
    // 03:00 UTC on Jan 1st is still December 31st in New York
    expect(window("2025-01-01T03:00:00Z", "monthly", "America/New_York")).toMatchObject({
      start: "2024-12-01T05:00:00.000Z",
      end: "2025-01-01T05:00:00.000Z",
      key: "2024-12",
    });
    expect(window("2024-12-31T23:59:59Z", "monthly", "UTC").end).toBe("2025-01-01T00:00:00.000Z");
  });

  it("defaults to UTC and throws for an unknown zone", () => {
    expect(budgetWindow(at("2024-06-15T00:00:00Z"), "monthly").start).toBe(at("2024-06-01T00:00:00Z"));
    expect(() => budgetWindow(at("2024-06-15T00:00:00Z"), "daily", "Mars/Olympus")).toThrow(RangeError);
  });

  it("startOfLocalDay rolls overflowing days into the next month", () => {
    expect(startOfLocalDay(2028, 2, 30, "UTC")).toBe(at("2028-03-01T00:00:00Z"));
    expect(startOfLocalDay(2024, 13, 1, "UTC")).toBe(at("2025-01-01T00:00:00Z"));
  });
});

describe("formatTimeUntil", () => {
  const MIN = 60_000;
  it("says how long, in at most two units, rounding down", () => {
    expect(formatTimeUntil(3 * HOUR + 12 * MIN)).toBe("3 h 12 min");
    expect(formatTimeUntil(3 * HOUR + 12 * MIN + 59_999)).toBe("3 h 12 min");
    expect(formatTimeUntil(2 * 24 * HOUR + 4 * HOUR + 59 * MIN)).toBe("2 d 4 h");
    expect(formatTimeUntil(2 * 24 * HOUR + 30 * MIN)).toBe("2 d");
    expect(formatTimeUntil(3 * HOUR + 30_000)).toBe("3 h");
    expect(formatTimeUntil(45 * MIN)).toBe("45 min");
    expect(formatTimeUntil(MIN)).toBe("1 min");
    expect(formatTimeUntil(59_999)).toBe("< 1 min");
    expect(formatTimeUntil(0)).toBe("now");
    expect(formatTimeUntil(-5_000)).toBe("now");
  });
});
