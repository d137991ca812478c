/**
 * Inhibition (Alertmanager's inhibit_rules): while a source alert is open, target alerts that
 * share its `equal` labels stay quiet (the default: a critical silences the warnings of the same
 * alertname). Rules come from `alerting.inhibition`; severities compare pitwall's severity,
 * `*_match` compare labels exactly.
 *
 * Where pitwall differs from Alertmanager: an `equal` label must be present (non-empty) on the
 * target. Alertmanager counts "missing on both" as equal, so with pitwall's label-less API alerts
 * the default rule would let any critical hide every unrelated warning.
 *
 * As in Alertmanager, an alert never inhibits itself, and when the target also matches the
 * source side, sources that also match the target side are skipped, so two alerts cannot hide
 * each other.
 */
import type { IncidentStatus, Labels, Severity } from "./types.ts";

export interface InhibitRule {
  source_severity: Severity | null;
  target_severity: Severity | null;
  source_match: Readonly<Record<string, string>>;
  target_match: Readonly<Record<string, string>>;
  equal: readonly string[];
}

export interface InhibitionAlert {
  key: string;
  severity: Severity;
  labels: Labels;
  /** Resolved sources inhibit nothing; absent: open. */
  status?: IncidentStatus | undefined;
}

function sideMatches(
  alert: InhibitionAlert,
  severity: Severity | null,
  match: Readonly<Record<string, string>>,
) {
  if (severity !== null && alert.severity !== severity) return false;
  for (const [name, value] of Object.entries(match)) {
    if ((alert.labels[name] ?? "") !== value) return false;
  }
  return true;
}

const matchesSource = (alert: InhibitionAlert, rule: InhibitRule) =>
  sideMatches(alert, rule.source_severity, rule.source_match);
const matchesTarget = (alert: InhibitionAlert, rule: InhibitRule) =>
  sideMatches(alert, rule.target_severity, rule.target_match);

function equalLabelsMatch(
  target: InhibitionAlert,
  source: InhibitionAlert,
  equal: readonly string[],
): boolean {
  return equal.every((name) => {
    const value = target.labels[name];
    return value !== undefined && value !== "" && source.labels[name] === value;
  });
}

/**
 * The key of an open alert that inhibits `target` under `rules`, or null. Rules are tried in
 * order, sources in the order given; the first match wins.
 */
export function isInhibited(
  target: InhibitionAlert,
  openAlerts: readonly InhibitionAlert[],
  rules: readonly InhibitRule[],
): string | null {
  for (const rule of rules) {
    if (!matchesTarget(target, rule)) continue;
    const targetIsAlsoSource = matchesSource(target, rule);
    for (const source of openAlerts) {
      if (source.key === target.key || source.status === "resolved") continue;
      if (!matchesSource(source, rule) || !equalLabelsMatch(target, source, rule.equal)) continue;
      if (targetIsAlsoSource && matchesTarget(source, rule)) continue;
      return source.key;
    }
  }
  return null;
}
