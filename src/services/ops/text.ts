/**
 * Small formatters for the English texts ops puts into alerts and logs (chat replies are
 * localised in the bot feature).
 */

/** 1234567 -> "1 234 567" (a thin grouping that reads the same in every language). */
export function groupDigits(value: number): string {
  const rounded = Math.round(value);
  const sign = rounded < 0 ? "-" : "";
  return sign + String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

/** An amount in a budget's unit: "80 000 tokens", "$12.35". */
export function amount(value: number, unit: "tokens" | "usd"): string {
  return unit === "usd" ? `$${value.toFixed(2)}` : `${groupDigits(value)} tokens`;
}

/** "2024-04-01 00:00" in `timeZone`. */
export { localDateTime } from "../../guards/local-time.ts";

/** Epoch ms as an ISO string, or undefined for null (optional fields of API answers). */
export function isoOrUndefined(epochMs: number | null | undefined): string | undefined {
  return typeof epochMs === "number" && Number.isFinite(epochMs)
    ? new Date(epochMs).toISOString()
    : undefined;
}
