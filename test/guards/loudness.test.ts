import { describe, expect, it } from "vitest";
import { inQuietHours, isSilent, parseClock, type QuietHours } from "../../src/guards/loudness.ts";

const night: QuietHours = { from: "23:00", to: "07:00", timezone: "UTC" };
const at = (iso: string) => new Date(iso);

describe("loudness", () => {
  it("rings for critical at any hour, even inside quiet hours", () => {
    expect(isSilent({ severity: "critical", now: at("2024-03-10T03:00:00Z"), quietHours: night })).toBe(
      false,
    );
    expect(isSilent({ severity: "critical", now: at("2024-03-10T12:00:00Z"), quietHours: night })).toBe(
      false,
    );
  });

  it("rings for warning outside quiet hours and stays silent inside them", () => {
    expect(isSilent({ severity: "warning", now: at("2024-03-10T12:00:00Z"), quietHours: night })).toBe(false);
    expect(isSilent({ severity: "warning", now: at("2024-03-10T23:30:00Z"), quietHours: night })).toBe(true);
    expect(isSilent({ severity: "warning", now: at("2024-03-11T06:59:00Z"), quietHours: night })).toBe(true);
    expect(isSilent({ severity: "warning", now: at("2024-03-11T07:00:00Z"), quietHours: night })).toBe(false);
    expect(isSilent({ severity: "warning", now: at("2024-03-10T22:59:00Z"), quietHours: night })).toBe(false);
    // no quiet hours configured: a warning always rings
    expect(isSilent({ severity: "warning", now: at("2024-03-10T03:00:00Z") })).toBe(false);
  });

  it("sends info, resolved edits, approval outcomes and the digest silently", () => {
    const noon = at("2024-03-10T12:00:00Z");
    expect(isSilent({ severity: "info", now: noon })).toBe(true);
    expect(isSilent({ severity: "resolved", now: noon })).toBe(true);
    expect(isSilent({ severity: "critical", kind: "resolved", now: noon })).toBe(true);
    expect(isSilent({ severity: "warning", kind: "approval_outcome", now: noon })).toBe(true);
    expect(isSilent({ severity: "info", kind: "digest", now: noon })).toBe(true);
    expect(isSilent({ severity: "critical", kind: "digest", now: noon })).toBe(true);
  });

  it("rings for escalations, and for approval prompts like a warning", () => {
    const threeAm = at("2024-03-10T03:00:00Z");
    expect(isSilent({ severity: "warning", kind: "escalation", now: threeAm, quietHours: night })).toBe(
      false,
    );
    expect(isSilent({ severity: "warning", kind: "approval_prompt", now: threeAm, quietHours: night })).toBe(
      true,
    );
    expect(isSilent({ severity: "warning", kind: "approval_prompt", now: at("2024-03-10T10:00:00Z") })).toBe(
      false,
    );
  });

  it("reads quiet hours in their own timezone, across midnight and DST", () => {
    const berlin: QuietHours = { from: "22:00", to: "06:30", timezone: "Europe/Berlin" };
    // 21:30 UTC in winter is 22:30 in Berlin (UTC+1): quiet
    expect(inQuietHours(at("2024-01-15T21:30:00Z"), berlin)).toBe(true);
    // 05:00 UTC in winter is 06:00 Berlin: still quiet; 05:30 UTC is 06:30: loud again
    expect(inQuietHours(at("2024-01-16T05:00:00Z"), berlin)).toBe(true);
    expect(inQuietHours(at("2024-01-16T05:30:00Z"), berlin)).toBe(false);
    // summer (UTC+2): 20:30 UTC is 22:30 Berlin: quiet; 20:30 UTC in winter is 21:30: loud
    expect(inQuietHours(at("2024-07-15T20:30:00Z"), berlin)).toBe(true);
    expect(inQuietHours(at("2024-01-15T20:30:00Z"), berlin)).toBe(false);
    // a zone east of UTC whose local date differs from UTC's
    const tokyo: QuietHours = { from: "23:00", to: "07:00", timezone: "Asia/Tokyo" };
    expect(inQuietHours(at("2024-01-15T15:00:00Z"), tokyo)).toBe(true); // 00:00 JST
    expect(inQuietHours(at("2024-01-15T03:00:00Z"), tokyo)).toBe(false); // 12:00 JST
  });

  it("treats a daytime window and an empty window correctly", () => {
    const lunch: QuietHours = { from: "12:00", to: "13:00" };
    expect(inQuietHours(at("2024-01-15T12:30:00Z"), lunch)).toBe(true);
    expect(inQuietHours(at("2024-01-15T13:00:00Z"), lunch)).toBe(false);
    expect(inQuietHours(at("2024-01-15T11:59:00Z"), lunch)).toBe(false);
    expect(inQuietHours(at("2024-01-15T12:30:00Z"), { from: "08:00", to: "08:00" })).toBe(false);
    expect(inQuietHours(at("2024-01-15T23:59:00Z"), { from: "00:00", to: "24:00" })).toBe(true);
  });

  it("says what is wrong with a malformed time or zone", () => {
    expect(parseClock("7:05")).toBe(425);
    expect(() => parseClock("25:00")).toThrow(/HH:MM/);
    expect(() => parseClock("23h")).toThrow(/HH:MM/);
    expect(() => inQuietHours(new Date(), { from: "23:00", to: "07:00", timezone: "Mars/Base" })).toThrow(
      RangeError,
    );
  });
});
