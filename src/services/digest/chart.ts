/**
 * The digest's chart: alerts per hour above tokens per hour, 24 bars each, with axes and labels.
 * The SVG is written here by hand (pure, testable); resvg renders it to PNG in-process (no browser,
 * no native build at install time). Text uses DejaVu Sans: resvg falls back to a serif otherwise.
 */
import { Resvg } from "@resvg/resvg-js";
import { DIGEST_HOURS, type DigestData, HOUR_MS } from "./collect.ts";
import type { Translate } from "./texts.ts";
import { localDateTime, localParts } from "./time.ts";

export const CHART_WIDTH = 1200;
export const CHART_HEIGHT = 760;
const FONT = "DejaVu Sans";

const COLORS = {
  background: "#ffffff",
  text: "#212529",
  muted: "#6c757d",
  grid: "#e9ecef",
  axis: "#adb5bd",
  alerts: "#e8590c",
  tokens: "#1c7ed6",
} as const;

export interface ChartOptions {
  t: Translate;
  timeZone: string;
  /** The chart's title (the digest's title, without emoji: DejaVu has none in colour). */
  title: string;
}

/** Escapes text for SVG (XML) content and attributes. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) =>
    ch === "&" ? "&amp;" : ch === "<" ? "&lt;" : ch === ">" ? "&gt;" : ch === '"' ? "&quot;" : "&apos;",
  );
}

/** 950 -> "950", 12_500 -> "12.5k", 3_000_000 -> "3M": axis labels that fit beside a chart. */
export function compactNumber(value: number): string {
  const units: Array<[number, string]> = [
    [1e12, "T"],
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [size, suffix] of units) {
    if (Math.abs(value) >= size) {
      const scaled = value / size;
      const text = scaled >= 100 ? scaled.toFixed(0) : scaled.toFixed(1).replace(/\.0$/, "");
      return `${text}${suffix}`;
    }
  }
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** A y axis from 0 in round steps (1, 2, 2.5, 5 × 10^n; whole numbers), at least `ticks` of them. */
export function niceScale(max: number, ticks = 4): { top: number; step: number } {
  if (!(max > 0)) return { top: ticks, step: 1 };
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  const factor =
    normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 2.5 ? 2.5 : normalized <= 5 ? 5 : 10;
  const step = Math.max(1, factor * magnitude);
  // Small counts still get a few grid lines: one alert shows as a short bar, not a full one.
  return { top: Math.max(ticks * step, Math.ceil(max / step - 1e-9) * step), step };
}

interface Panel {
  title: string;
  values: readonly number[];
  color: string;
  top: number;
}

const PLOT_LEFT = 96;
const PLOT_RIGHT = CHART_WIDTH - 32;
const PANEL_HEIGHT = 310;

function text(
  x: number,
  y: number,
  content: string,
  attrs: { size?: number; anchor?: "start" | "middle" | "end"; weight?: "bold"; fill?: string } = {},
): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-family="${FONT}" font-size="${attrs.size ?? 14}" text-anchor="${attrs.anchor ?? "start"}"${attrs.weight ? ` font-weight="${attrs.weight}"` : ""} fill="${attrs.fill ?? COLORS.text}">${escapeXml(content)}</text>`;
}

/** Label of bar `index`: its local hour, with minutes when the window does not start on the hour. */
function hourLabel(start: number, index: number, timeZone: string): string {
  const p = localParts(start + index * HOUR_MS, timeZone);
  const hour = String(p.hour).padStart(2, "0");
  return p.minute === 0 ? hour : `${hour}:${String(p.minute).padStart(2, "0")}`;
}

function panel(svg: string[], spec: Panel, data: DigestData, opts: ChartOptions): void {
  const { t } = opts;
  const plotTop = spec.top + 48;
  const plotBottom = spec.top + PANEL_HEIGHT - 44;
  const plotHeight = plotBottom - plotTop;
  const plotWidth = PLOT_RIGHT - PLOT_LEFT;
  const total = spec.values.reduce((sum, value) => sum + value, 0);
  const max = Math.max(0, ...spec.values);
  const { top, step } = niceScale(max);

  svg.push(text(PLOT_LEFT, spec.top + 24, spec.title, { size: 20, weight: "bold" }));
  svg.push(
    text(PLOT_RIGHT, spec.top + 24, t("digest-chart-total", { total: compactNumber(total) }), {
      size: 16,
      anchor: "end",
      fill: COLORS.muted,
    }),
  );

  // Grid lines and y labels (an empty panel keeps only its base line).
  for (let value = 0; value <= (max > 0 ? top : 0) + 1e-9; value += step) {
    const y = plotBottom - (value / top) * plotHeight;
    svg.push(
      `<line x1="${PLOT_LEFT}" y1="${y.toFixed(1)}" x2="${PLOT_RIGHT}" y2="${y.toFixed(1)}" stroke="${value === 0 ? COLORS.axis : COLORS.grid}" stroke-width="${value === 0 ? 1.5 : 1}"/>`,
    );
    svg.push(
      text(PLOT_LEFT - 10, y + 5, compactNumber(value), { size: 13, anchor: "end", fill: COLORS.muted }),
    );
  }
  svg.push(
    `<line x1="${PLOT_LEFT}" y1="${plotTop - 6}" x2="${PLOT_LEFT}" y2="${plotBottom}" stroke="${COLORS.axis}" stroke-width="1.5"/>`,
  );

  // Bars, with the peak's value above it.
  const slot = plotWidth / DIGEST_HOURS;
  const barWidth = slot * 0.72;
  const peak = max > 0 ? spec.values.indexOf(max) : -1;
  spec.values.forEach((value, index) => {
    const x = PLOT_LEFT + index * slot + (slot - barWidth) / 2;
    if (value > 0) {
      const height = Math.max(2, (value / top) * plotHeight);
      svg.push(
        `<rect x="${x.toFixed(1)}" y="${(plotBottom - height).toFixed(1)}" width="${barWidth.toFixed(1)}" height="${height.toFixed(1)}" rx="3" fill="${spec.color}"/>`,
      );
      if (index === peak) {
        svg.push(
          text(x + barWidth / 2, plotBottom - height - 6, compactNumber(value), {
            size: 13,
            anchor: "middle",
            weight: "bold",
            fill: spec.color,
          }),
        );
      }
    }
    if (index % 3 === 0) {
      svg.push(
        `<line x1="${(x + barWidth / 2).toFixed(1)}" y1="${plotBottom}" x2="${(x + barWidth / 2).toFixed(1)}" y2="${plotBottom + 5}" stroke="${COLORS.axis}"/>`,
      );
      svg.push(
        text(x + barWidth / 2, plotBottom + 22, hourLabel(data.window.start, index, opts.timeZone), {
          size: 13,
          anchor: "middle",
          fill: COLORS.muted,
        }),
      );
    }
  });
  if (max === 0) {
    svg.push(
      text((PLOT_LEFT + PLOT_RIGHT) / 2, (plotTop + plotBottom) / 2, t("digest-chart-empty"), {
        size: 18,
        anchor: "middle",
        fill: COLORS.muted,
      }),
    );
  }
  svg.push(
    text(PLOT_RIGHT, plotBottom + 40, t("digest-chart-hour", { zone: opts.timeZone }), {
      size: 12,
      anchor: "end",
      fill: COLORS.muted,
    }),
  );
}

function windowLabel(data: DigestData, timeZone: string): string {
  return `${localDateTime(data.window.start, timeZone)} – ${localDateTime(data.window.end, timeZone)} ${timeZone}`;
}

/** The chart as SVG text. */
export function digestChartSvg(data: DigestData, opts: ChartOptions): string {
  const svg: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${CHART_HEIGHT}" viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}">`,
    `<rect width="100%" height="100%" fill="${COLORS.background}"/>`,
    text(PLOT_LEFT, 44, opts.title, { size: 26, weight: "bold" }),
    text(PLOT_RIGHT, 44, windowLabel(data, opts.timeZone), { size: 16, anchor: "end", fill: COLORS.muted }),
  ];
  panel(
    svg,
    { title: opts.t("digest-chart-alerts"), values: data.hourly.alerts, color: COLORS.alerts, top: 80 },
    data,
    opts,
  );
  panel(
    svg,
    {
      title: opts.t("digest-chart-tokens"),
      values: data.hourly.tokens,
      color: COLORS.tokens,
      top: 80 + PANEL_HEIGHT + 40,
    },
    data,
    opts,
  );
  svg.push("</svg>");
  return svg.join("\n");
}

/** Renders SVG to PNG in-process. */
export function renderPng(svg: string): Uint8Array {
  const resvg = new Resvg(svg, {
    font: { defaultFontFamily: FONT, loadSystemFonts: true },
    background: COLORS.background,
  });
  return resvg.render().asPng();
}

/** The chart as PNG bytes. */
export function digestChartPng(data: DigestData, opts: ChartOptions): Uint8Array {
  return renderPng(digestChartSvg(data, opts));
}
