/**
 * Severity order (info < warning < critical), parsing, and the icons every alert message and
 * list leads with. The icon shows the state an operator acts on: a resolved, acknowledged or
 * silenced incident shows that state instead of its severity (its severity stays in the text).
 */
import type { IncidentStatus, Severity } from "./types.ts";

export const SEVERITY_ORDER: readonly Severity[] = ["info", "warning", "critical"];

export const SEVERITY_ICONS: Readonly<Record<Severity, string>> = {
  critical: "🔴",
  warning: "🟠",
  info: "🔵",
};

export const STATUS_ICONS: Readonly<Record<Exclude<IncidentStatus, "firing">, string>> = {
  resolved: "✅",
  acknowledged: "👀",
  silenced: "🔕",
};

/** 0 for info, 1 for warning, 2 for critical. */
export function severityRank(severity: Severity): number {
  return SEVERITY_ORDER.indexOf(severity);
}

/** Negative when `a` is less severe than `b`; sorts ascending by severity. */
export function compareSeverity(a: Severity, b: Severity): number {
  return severityRank(a) - severityRank(b);
}

export function isAtLeast(severity: Severity, min: Severity): boolean {
  return severityRank(severity) >= severityRank(min);
}

/** The worst of `severities`, or null for none. */
export function maxSeverity(severities: Iterable<Severity>): Severity | null {
  let worst: Severity | null = null;
  for (const severity of severities) {
    if (worst === null || severityRank(severity) > severityRank(worst)) worst = severity;
  }
  return worst;
}

/** The icon of an incident: its state when resolved, acknowledged or silenced, else its severity. */
export function alertIcon(severity: Severity, status: IncidentStatus = "firing"): string {
  return status === "firing" ? SEVERITY_ICONS[severity] : STATUS_ICONS[status];
}

/** A severity typed by a person (CLI flag, chat), any case; null when it is not one of the three. */
export function parseSeverity(text: string): Severity | null {
  const value = text.trim().toLowerCase();
  return (SEVERITY_ORDER as readonly string[]).includes(value) ? (value as Severity) : null;
}

/**
 * Alertmanager's free-form `severity` label read per DESIGN.md: critical/page -> critical,
 * warning/warn -> warning, anything else (or none) -> info. Case and spaces are ignored.
 */
export function severityFromLabel(value: string | undefined): Severity {
  switch (value?.trim().toLowerCase()) {
    case "critical":
    case "page":
      return "critical";
    case "warning":
    case "warn":
      return "warning";
    default:
      return "info";
  }
}
