/**
 * The digest as people read it: the full text (a Telegram message), a short headline (the chart's
 * caption) and an email. Pure: data, words and a time zone in, structured parts out; the format
 * module redacts, escapes and cuts them under Telegram's limits.
 */
import { b, code, i, type Part, renderHtml, renderPlain } from "../../bot/format/index.ts";
import { SEVERITY_ICONS } from "../../guards/alerts/severity.ts";
import type { AlertSeverity } from "../contracts.ts";
import type { BudgetLine, DigestData, NamedCount, UsageRow } from "./collect.ts";
import type { Translate } from "./texts.ts";
import { localDate, localDateTime, localParts } from "./time.ts";

/** Lines of a list before "… and N more": the text must stay readable and under 4096 characters. */
const MAX_PROVIDERS = 8;
const MAX_BUDGETS = 10;
const MAX_NAMES = 6;
const MAX_MODE_CHANGES = 6;
const MAX_KEY_LENGTH = 80;
const MAX_TITLE_LENGTH = 60;
/** An email has no 4096 limit; this only guards against something absurd. */
const EMAIL_MAX_LENGTH = 100_000;

export interface DigestMeta {
  /** Zone of every time shown (digest.timezone). */
  timeZone: string;
  /** The daily digest of this local date; absent: `/digest` on demand. */
  date?: string;
  /** Sent by the catch-up: when it was due and when it went out. */
  late?: { scheduledAt: number; sentAt: number };
}

export interface ProviderTotal {
  provider: string;
  requests: number;
  tokensSpent: number;
  tokensSaved: number;
  costUsd: number;
}

/** The figures the texts show, derived from the collected data. */
export interface DigestSummary {
  incidents: {
    fired: number;
    resolved: number;
    open: number;
    openCritical: number;
    firings: number;
    acknowledgeMedianMs: number | null;
    acknowledged: number;
    resolveMedianMs: number | null;
  };
  approvals: {
    approved: number;
    denied: number;
    expired: number;
    decisionMedianMs: number | null;
    humanDecisions: number;
  };
  /** Per provider, most tokens first. */
  providers: ProviderTotal[];
  total: ProviderTotal;
  breakerTrips: number;
  checkFailures: number;
  modeChanges: number;
}

/** The middle value (the mean of the two middle ones for an even count); null for none. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

function sumSeverities(counts: Record<AlertSeverity, number>): number {
  return counts.critical + counts.warning + counts.info;
}

/** Usage rows (per provider and model) summed per provider, most tokens first. */
export function providerTotals(rows: readonly UsageRow[]): ProviderTotal[] {
  const byProvider = new Map<string, ProviderTotal>();
  for (const row of rows) {
    const total = byProvider.get(row.provider) ?? {
      provider: row.provider,
      requests: 0,
      tokensSpent: 0,
      tokensSaved: 0,
      costUsd: 0,
    };
    total.requests += row.requests;
    total.tokensSpent += row.tokensSpent;
    total.tokensSaved += row.tokensSaved;
    total.costUsd += row.costUsd;
    byProvider.set(row.provider, total);
  }
  return [...byProvider.values()].sort(
    (x, y) => y.tokensSpent - x.tokensSpent || y.costUsd - x.costUsd || (x.provider < y.provider ? -1 : 1),
  );
}

const countOf = (list: readonly NamedCount[]) => list.reduce((sum, entry) => sum + entry.count, 0);

export function summarize(data: DigestData): DigestSummary {
  const providers = providerTotals(data.usage);
  const total: ProviderTotal = { provider: "*", requests: 0, tokensSpent: 0, tokensSaved: 0, costUsd: 0 };
  for (const provider of providers) {
    total.requests += provider.requests;
    total.tokensSpent += provider.tokensSpent;
    total.tokensSaved += provider.tokensSaved;
    total.costUsd += provider.costUsd;
  }
  const { incidents, approvals } = data;
  return {
    incidents: {
      fired: sumSeverities(incidents.fired),
      resolved: incidents.resolveMs.length,
      open: sumSeverities(incidents.open),
      openCritical: incidents.open.critical,
      firings: incidents.firings,
      acknowledgeMedianMs: median(incidents.acknowledgeMs),
      acknowledged: incidents.acknowledgeMs.length,
      resolveMedianMs: median(incidents.resolveMs),
    },
    approvals: {
      approved: approvals.approved,
      denied: approvals.denied,
      expired: approvals.expired,
      decisionMedianMs: median(approvals.humanDecisionMs),
      humanDecisions: approvals.humanDecisionMs.length,
    },
    providers,
    total,
    breakerTrips: countOf(data.breakerTrips),
    checkFailures: countOf(data.checkFailures),
    modeChanges: data.modeChanges.length,
  };
}

// ---- words for numbers and times ------------------------------------------------------------

/** 1234567 -> "1 234 567" (as /budgets writes numbers). */
export function grouped(value: number): string {
  const rounded = Math.round(value);
  const sign = rounded < 0 ? "-" : "";
  return sign + String(Math.abs(rounded)).replace(/\B(?=(\d{3})+(?!\d))/g, " ");
}

function usd(t: Translate, amount: number): string {
  return t("digest-usd", { amount: amount.toFixed(2) });
}

/** "45 s", "4 min 30 s", "1 h 20 min", "2 d 3 h": two units at most, rounded down. */
export function formatDuration(t: Translate, ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return t("digest-duration-seconds", { s: String(seconds) });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    const s = seconds % 60;
    return s > 0 && minutes < 10
      ? t("digest-duration-minutes-seconds", { m: String(minutes), s: String(s) })
      : t("digest-duration-minutes", { m: String(minutes) });
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    const m = minutes % 60;
    return m > 0
      ? t("digest-duration-hours-minutes", { h: String(hours), m: String(m) })
      : t("digest-duration-hours", { h: String(hours) });
  }
  const days = Math.floor(hours / 24);
  const h = hours % 24;
  return h > 0
    ? t("digest-duration-days-hours", { d: String(days), h: String(h) })
    : t("digest-duration-days", { d: String(days) });
}

function clock(at: number, timeZone: string): string {
  const p = localParts(at, timeZone);
  return `${String(p.hour).padStart(2, "0")}:${String(p.minute).padStart(2, "0")}`;
}

/** "11:30" on the same local day as `reference`, else "2030-01-14 23:50". */
function timeNear(at: number, reference: number, timeZone: string): string {
  return localDate(at, timeZone) === localDate(reference, timeZone)
    ? clock(at, timeZone)
    : localDateTime(at, timeZone);
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function names(list: readonly NamedCount[]): string {
  const shown = list.slice(0, MAX_NAMES).map((entry) => `${entry.name} ×${entry.count}`);
  if (list.length > MAX_NAMES) shown.push(`+${list.length - MAX_NAMES}`);
  return shown.join(", ");
}

// ---- the full text --------------------------------------------------------------------------

function header(data: DigestData, meta: DigestMeta, t: Translate): Part[] {
  const title =
    meta.date === undefined ? t("digest-title-on-demand") : t("digest-title", { date: meta.date });
  return [
    b(`📊 ${title}`),
    meta.late
      ? [
          "\n",
          i(
            `⏰ ${t("digest-late", {
              scheduled: timeNear(meta.late.scheduledAt, meta.late.sentAt, meta.timeZone),
              sent: clock(meta.late.sentAt, meta.timeZone),
            })}`,
          ),
        ]
      : null,
    "\n",
    t("digest-window", {
      from: localDateTime(data.window.start, meta.timeZone),
      to: localDateTime(data.window.end, meta.timeZone),
      zone: meta.timeZone,
    }),
  ];
}

function incidentsSection(data: DigestData, summary: DigestSummary, t: Translate): Part[] {
  const s = summary.incidents;
  const heading = b(`🚨 ${t("digest-incidents")}`);
  if (s.fired === 0 && s.open === 0 && s.resolved === 0 && s.firings === 0) {
    return [heading, "\n", t("digest-incidents-quiet")];
  }
  const fired = data.incidents.fired;
  const out: Part[] = [
    heading,
    "\n",
    t("digest-incidents-line", {
      fired: grouped(s.fired),
      resolved: grouped(s.resolved),
      open: grouped(s.open),
    }),
  ];
  if (s.fired > 0) {
    out.push(
      "\n",
      t("digest-severity-split", {
        critical: grouped(fired.critical),
        warning: grouped(fired.warning),
        info: grouped(fired.info),
      }),
    );
  }
  out.push("\n", t("digest-firings", { count: grouped(s.firings) }));
  out.push(
    "\n",
    s.acknowledgeMedianMs === null
      ? t("digest-ack-none")
      : t("digest-ack", { median: formatDuration(t, s.acknowledgeMedianMs), count: grouped(s.acknowledged) }),
  );
  out.push(
    "\n",
    s.resolveMedianMs === null
      ? t("digest-resolve-none")
      : t("digest-resolve", { median: formatDuration(t, s.resolveMedianMs), count: grouped(s.resolved) }),
  );
  if (data.incidents.noisiest.length > 0) {
    out.push("\n", t("digest-noisiest"));
    data.incidents.noisiest.forEach((noisy, index) => {
      const icon = SEVERITY_ICONS[noisy.severity] ?? "";
      out.push(
        "\n",
        `${index + 1}. ${icon} `,
        code(cut(noisy.key, MAX_KEY_LENGTH)),
        ` ×${grouped(noisy.firings)}`,
        noisy.title && noisy.title !== noisy.key ? ` — ${cut(noisy.title, MAX_TITLE_LENGTH)}` : null,
      );
    });
  }
  return out;
}

function approvalsSection(data: DigestData, summary: DigestSummary, t: Translate): Part[] {
  const a = data.approvals;
  const s = summary.approvals;
  const heading = b(`✋ ${t("digest-approvals")}`);
  if (a.approved + a.denied + a.expired === 0) return [heading, "\n", t("digest-approvals-none")];
  return [
    heading,
    "\n",
    t("digest-approvals-line", {
      approved: grouped(a.approved),
      approvedByPolicy: grouped(a.approvedByPolicy),
      denied: grouped(a.denied),
      deniedByPolicy: grouped(a.deniedByPolicy),
      expired: grouped(a.expired),
    }),
    "\n",
    s.decisionMedianMs === null
      ? t("digest-decision-none")
      : t("digest-decision", {
          median: formatDuration(t, s.decisionMedianMs),
          count: grouped(s.humanDecisions),
        }),
  ];
}

function budgetAmount(t: Translate, line: BudgetLine, value: number): string {
  return line.unit === "usd" ? usd(t, value) : t("digest-tokens", { amount: grouped(value) });
}

function usageSection(data: DigestData, summary: DigestSummary, t: Translate): Part[] {
  const out: Part[] = [b(`🪙 ${t("digest-usage")}`)];
  if (summary.providers.length === 0) out.push("\n", t("digest-usage-none"));
  const budgetsOf = (provider: string) =>
    data.budgets.filter((line) => line.scope === "per_provider" && line.key === provider);
  for (const provider of summary.providers.slice(0, MAX_PROVIDERS)) {
    const pcts = budgetsOf(provider.provider).map((line) => `${line.name} ${line.pct.toFixed(1)} %`);
    out.push(
      "\n",
      t("digest-usage-provider", {
        provider: provider.provider,
        tokens: grouped(provider.tokensSpent),
        cost: usd(t, provider.costUsd),
        requests: grouped(provider.requests),
      }),
      provider.tokensSaved > 0
        ? ` · ${t("digest-usage-saved", { tokens: grouped(provider.tokensSaved) })}`
        : null,
      pcts.length > 0 ? ` · ${pcts.join(", ")}` : null,
    );
  }
  if (summary.providers.length > MAX_PROVIDERS) {
    out.push("\n", t("digest-usage-more", { count: String(summary.providers.length - MAX_PROVIDERS) }));
  }
  if (summary.providers.length > 1) {
    out.push(
      "\n",
      t("digest-usage-total", {
        tokens: grouped(summary.total.tokensSpent),
        cost: usd(t, summary.total.costUsd),
        requests: grouped(summary.total.requests),
      }),
    );
  }
  if (data.budgets.length > 0) {
    // Fullest first: the budgets about to run out are the ones worth reading.
    const lines = [...data.budgets].sort((x, y) => y.pct - x.pct || (x.name < y.name ? -1 : 1));
    out.push("\n", t("digest-budgets"));
    for (const line of lines.slice(0, MAX_BUDGETS)) {
      out.push(
        "\n",
        line.exhausted ? "⚠️ " : "• ",
        t("digest-budget-line", {
          name: line.name,
          key: line.key === "*" ? t("digest-budget-global") : line.key,
          pct: line.pct.toFixed(1),
          used: budgetAmount(t, line, line.used),
          limit: budgetAmount(t, line, line.limit),
          window: t(line.window === "daily" ? "digest-budget-daily" : "digest-budget-monthly"),
        }),
        line.exhausted ? ` ${t("digest-budget-exhausted")}` : null,
      );
    }
    if (lines.length > MAX_BUDGETS) {
      out.push("\n", t("digest-budgets-more", { count: String(lines.length - MAX_BUDGETS) }));
    }
  }
  return out;
}

function opsSection(data: DigestData, summary: DigestSummary, meta: DigestMeta, t: Translate): Part[] {
  const breakers =
    summary.breakerTrips === 0
      ? t("digest-breakers-none")
      : t("digest-breakers-line", {
          n: summary.breakerTrips,
          count: grouped(summary.breakerTrips),
          names: names(data.breakerTrips),
        });
  const checks: Part[] = [
    summary.checkFailures === 0
      ? t("digest-checks-none")
      : t("digest-checks-line", {
          n: summary.checkFailures,
          count: grouped(summary.checkFailures),
          names: names(data.checkFailures),
        }),
    data.checksDown.length > 0
      ? `; ${t("digest-checks-down", { names: data.checksDown.slice(0, MAX_NAMES).join(", ") })}`
      : null,
  ];
  const modes: Part[] = [
    summary.modeChanges === 0
      ? t("digest-mode-none", { mode: data.modeAtEnd })
      : t("digest-mode-line", {
          n: summary.modeChanges,
          count: grouped(summary.modeChanges),
          mode: data.modeAtEnd,
        }),
  ];
  // The latest changes matter most when there were many.
  const changes = data.modeChanges.slice(-MAX_MODE_CHANGES);
  for (const change of changes) {
    modes.push(
      "\n  ",
      t("digest-mode-change", {
        time: clock(change.at, meta.timeZone),
        previous: change.previous,
        mode: change.mode,
      }),
      change.reasons.length > 0 ? ` (${cut(change.reasons.join("; "), 80)})` : null,
    );
  }
  return [
    b(`⚡ ${t("digest-breakers")}`),
    ": ",
    breakers,
    "\n",
    b(`🩺 ${t("digest-checks")}`),
    ": ",
    checks,
    "\n",
    b(`🔀 ${t("digest-mode")}`),
    ": ",
    modes,
  ];
}

/** The full digest: a Telegram message (the format module keeps it under 4096 characters). */
export function digestText(data: DigestData, meta: DigestMeta, t: Translate): Part[] {
  const summary = summarize(data);
  return [
    header(data, meta, t),
    "\n\n",
    incidentsSection(data, summary, t),
    "\n\n",
    approvalsSection(data, summary, t),
    "\n\n",
    usageSection(data, summary, t),
    "\n\n",
    opsSection(data, summary, meta, t),
  ];
}

/** The headline under the chart: a few lines of figures, far below the 1024 caption limit. */
export function digestCaption(data: DigestData, meta: DigestMeta, t: Translate): Part[] {
  const s = summarize(data);
  const title =
    meta.date === undefined ? t("digest-title-on-demand") : t("digest-title", { date: meta.date });
  return [
    b(`📊 ${title}`),
    meta.late ? ` · ⏰ ${t("digest-late-short")}` : null,
    "\n🚨 ",
    t("digest-caption-incidents", {
      fired: grouped(s.incidents.fired),
      resolved: grouped(s.incidents.resolved),
      open: grouped(s.incidents.open),
    }),
    "\n✋ ",
    t("digest-caption-approvals", {
      approved: grouped(s.approvals.approved),
      denied: grouped(s.approvals.denied),
      expired: grouped(s.approvals.expired),
    }),
    "\n🪙 ",
    t("digest-caption-usage", { tokens: grouped(s.total.tokensSpent), cost: usd(t, s.total.costUsd) }),
    "\n⚡ ",
    t("digest-caption-ops", {
      trips: grouped(s.breakerTrips),
      checks: grouped(s.checkFailures),
      modes: grouped(s.modeChanges),
    }),
  ];
}

export interface DigestEmail {
  subject: string;
  text: string;
  html: string;
}

/** The same digest by email: the full text as plain text, and as simple HTML. */
export function digestEmail(data: DigestData, meta: DigestMeta, t: Translate): DigestEmail {
  const parts = digestText(data, meta, t);
  const subject =
    meta.date === undefined
      ? t("digest-email-subject-on-demand")
      : t(meta.late ? "digest-email-subject-late" : "digest-email-subject", { date: meta.date });
  const body = renderHtml(parts, { maxLength: EMAIL_MAX_LENGTH }).html;
  return {
    subject,
    text: renderPlain(parts, { maxLength: EMAIL_MAX_LENGTH }).text,
    html: `<!doctype html><html><body><div style="font-family: 'DejaVu Sans', Arial, sans-serif; font-size: 14px; white-space: pre-wrap; line-height: 1.45">${body}</div></body></html>`,
  };
}
