import { mkdirSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CHART_HEIGHT,
  CHART_WIDTH,
  compactNumber,
  digestChartPng,
  digestChartSvg,
  niceScale,
} from "../../../src/services/digest/chart.ts";
import { busyDay, en, HOUR, quietDay, ru } from "./fixtures.ts";

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  // The IHDR chunk comes first: length(4) "IHDR"(4) width(4) height(4).
  expect(String.fromCharCode(...png.slice(12, 16))).toBe("IHDR");
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

describe("axis scale", () => {
  it("goes up in round steps from zero", () => {
    expect(niceScale(40)).toEqual({ top: 40, step: 10 });
    expect(niceScale(61_000)).toEqual({ top: 80_000, step: 20_000 });
    expect(niceScale(3)).toEqual({ top: 4, step: 1 });
    expect(niceScale(7)).toEqual({ top: 8, step: 2 });
    expect(niceScale(0)).toEqual({ top: 4, step: 1 });
    expect(niceScale(9)).toEqual({ top: 10, step: 2.5 });
  });

  it("writes large numbers short", () => {
    expect(compactNumber(950)).toBe("950");
    expect(compactNumber(12_500)).toBe("12.5k");
    expect(compactNumber(80_000)).toBe("80k");
    expect(compactNumber(3_000_000)).toBe("3M");
    expect(compactNumber(2.5)).toBe("2.5");
  });
});

describe("the chart", () => {
  it("draws 24 bars per panel with axes, labels and totals", () => {
    const data = busyDay();
    const svg = digestChartSvg(data, { t: en, timeZone: "UTC", title: "Daily digest · 2030-01-15" });
    expect(svg).toContain("Alerts per hour");
    expect(svg).toContain("Tokens spent per hour");
    expect(svg).toContain("total 111");
    expect(svg).toContain('font-family="DejaVu Sans"');
    // Every hour with something in it gets a bar.
    const nonZero = [...data.hourly.alerts, ...data.hourly.tokens].filter((value) => value > 0).length;
    expect(nonZero).toBe(14 + 24);
    expect(svg.match(/<rect x=/g)?.length).toBe(nonZero);
    // Hour labels every three hours, starting at the window's first hour.
    for (const hour of ["09", "12", "15", "18", "21", "00", "03", "06"])
      expect(svg).toContain(`>${hour}</text>`);
    expect(svg).toContain("2030-01-14 09:00 – 2030-01-15 09:00 UTC");
  });

  it("escapes text and labels hours with minutes when the window starts off the hour", () => {
    const data = busyDay();
    data.window = { start: data.window.start + 30 * 60_000, end: data.window.end + 30 * 60_000 };
    const svg = digestChartSvg(data, { t: en, timeZone: "UTC", title: "a <b> & c" });
    expect(svg).toContain("a &lt;b&gt; &amp; c");
    expect(svg).toContain(">09:30</text>");
  });

  it("says none for an empty panel", () => {
    const svg = digestChartSvg(quietDay(), { t: ru, timeZone: "UTC", title: "Сводка" });
    expect(svg.match(/>нет<\/text>/g)?.length).toBe(2);
  });

  it("renders a PNG of the right size (saved to test-artifacts/digest.png)", () => {
    const data = busyDay();
    const png = digestChartPng(data, { t: en, timeZone: "UTC", title: "Daily digest · 2030-01-15" });
    expect([...png.slice(0, 8)]).toEqual(PNG_MAGIC);
    expect(pngSize(png)).toEqual({ width: CHART_WIDTH, height: CHART_HEIGHT });
    // Text and bars, not an empty canvas; far under Telegram's 10 MB photo limit.
    expect(png.byteLength).toBeGreaterThan(15_000);
    expect(png.byteLength).toBeLessThan(500_000);
    mkdirSync("test-artifacts", { recursive: true });
    writeFileSync("test-artifacts/digest.png", png);
    const empty = digestChartPng(quietDay(), { t: en, timeZone: "UTC", title: "quiet" });
    expect(pngSize(empty)).toEqual({ width: CHART_WIDTH, height: CHART_HEIGHT });
    expect(empty.byteLength).toBeLessThan(png.byteLength);
    expect(data.window.end - data.window.start).toBe(24 * HOUR);
  });
});
