import { afterEach, describe, expect, it } from "vitest";
import { type DigestSchedule, digestSchedule } from "../../../src/services/digest/schedule.ts";
import { addDays, localDate } from "../../../src/services/digest/time.ts";

const schedules: DigestSchedule[] = [];
function schedule(expression: string, timeZone = "UTC"): DigestSchedule {
  const made = digestSchedule(expression, timeZone);
  schedules.push(made);
  return made;
}
afterEach(() => {
  for (const made of schedules.splice(0)) made.close();
});

const at = (iso: string) => Date.parse(iso);

describe("digest schedule", () => {
  it("finds the default 09:00 UTC run of a day", () => {
    expect(schedule("0 9 * * *").firstRunOn("2030-01-15")).toBe(at("2030-01-15T09:00:00Z"));
  });

  it("reads the time in digest.timezone, across DST changes", () => {
    const berlin = schedule("30 8 * * *", "Europe/Berlin");
    expect(berlin.firstRunOn("2030-01-15")).toBe(at("2030-01-15T07:30:00Z"));
    expect(berlin.firstRunOn("2030-07-15")).toBe(at("2030-07-15T06:30:00Z"));
    // 2030-03-31: clocks spring forward at 02:00; 08:30 is summer time already.
    expect(berlin.firstRunOn("2030-03-31")).toBe(at("2030-03-31T06:30:00Z"));
    expect(schedule("0 9 * * *", "Asia/Kolkata").firstRunOn("2030-01-15")).toBe(at("2030-01-15T03:30:00Z"));
  });

  it("takes the first run of a schedule that fires several times a day; none on days it skips", () => {
    const twice = schedule("0 9,17 * * *");
    expect(twice.firstRunOn("2030-01-15")).toBe(at("2030-01-15T09:00:00Z"));
    const weekdays = schedule("0 9 * * 1-5");
    expect(weekdays.firstRunOn("2030-01-19")).toBeNull(); // a Saturday
    expect(schedule("15 30 7 * * *").firstRunOn("2030-01-15")).toBe(at("2030-01-15T07:30:15Z"));
  });

  it("gives the latest scheduled run at or before now", () => {
    const daily = schedule("0 9 * * *");
    expect(daily.latestSlot(at("2030-01-15T09:00:00Z"))).toEqual({
      date: "2030-01-15",
      at: at("2030-01-15T09:00:00Z"),
    });
    expect(daily.latestSlot(at("2030-01-15T08:59:59Z"))).toEqual({
      date: "2030-01-14",
      at: at("2030-01-14T09:00:00Z"),
    });
    const weekdays = schedule("0 9 * * 1-5");
    // Monday 08:00: the last run was Friday's.
    expect(weekdays.latestSlot(at("2030-01-21T08:00:00Z"))).toEqual({
      date: "2030-01-18",
      at: at("2030-01-18T09:00:00Z"),
    });
  });

  it("names local dates", () => {
    expect(localDate(at("2030-01-15T23:30:00Z"), "Asia/Tokyo")).toBe("2030-01-16");
    expect(addDays("2030-03-01", -1)).toBe("2030-02-28");
    expect(addDays("2030-12-31", 1)).toBe("2031-01-01");
  });
});
