/**
 * What alert messages say and which buttons they carry, as structured parts: the outbox renders
 * them (redaction, HTML escaping, the 4096 cut), so `<&>` in a label can never break a message.
 * Pure: incidents, group state and texts in, parts and keyboards out.
 */
import { createHash } from "node:crypto";
import type { InlineKeyboardButton, InlineKeyboardMarkup } from "grammy/types";
import { encodeAg } from "../../bot/callback-data/ag.ts";
import { encodeAl, SILENCE_CHOICE_NAMES } from "../../bot/callback-data/al.ts";
import { b, code, expandable, i, join, link, type Part } from "../../bot/format/index.ts";
import {
  alertIcon,
  GROUP_PAGE_SIZE,
  groupCounts,
  maxSeverity,
  type Page,
  pageOf,
  SEVERITY_ICONS,
  STATUS_ICONS,
} from "../../guards/alerts/index.ts";
import type { AlertTexts } from "./texts.ts";
import type { AlertGroup, Incident } from "./types.ts";

/** Longest text shown under an alert; the rest is in the API (GET /v1/alerts). */
const MAX_TEXT_SHOWN = 1500;
const MAX_LABELS_SHOWN = 24;
const MAX_LABEL_VALUE_SHOWN = 200;
/** A group member's line stays short so 20 of them fit well under 4096 characters. */
const MAX_MEMBER_LINE = 110;

export interface RenderedMessage {
  parts: Part[];
  /** undefined: no buttons. */
  keyboard: InlineKeyboardMarkup | undefined;
  /** Identifies the content: an edit with the same hash would change nothing. */
  hash: string;
}

function hashOf(parts: readonly Part[], keyboard: InlineKeyboardMarkup | undefined): string {
  return createHash("sha1")
    .update(JSON.stringify([parts, keyboard ?? null]))
    .digest("base64url");
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function sortedLabels(labels: Record<string, string>): Array<[string, string]> {
  return Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function severityWord(texts: AlertTexts, severity: Incident["severity"]): string {
  return texts.t(`alert-severity-${severity}`);
}

// ---- one incident -----------------------------------------------------------------------------

/** The state lines under an incident: repeats, seen times, who acknowledged, silenced, resolved. */
function incidentStateLines(incident: Incident, texts: AlertTexts): Part[] {
  const lines: Part[] = [];
  if (incident.count > 1) {
    lines.push(texts.t("alert-repeated", { count: incident.count, since: texts.clock(incident.firstSeen) }));
  }
  lines.push(
    i(
      texts.t("alert-seen", {
        first: texts.stamp(incident.firstSeen),
        last: texts.stamp(incident.lastSeen),
      }),
    ),
  );
  if (incident.acknowledgedBy && incident.acknowledgedAt) {
    lines.push(
      `${STATUS_ICONS.acknowledged} ${texts.t("alert-acknowledged-by", {
        name: incident.acknowledgedBy.name,
        at: texts.clock(incident.acknowledgedAt),
      })}`,
    );
  }
  if (incident.status === "silenced" && incident.silencedUntil) {
    lines.push(
      `${STATUS_ICONS.silenced} ${texts.t("alert-silenced-until", { until: texts.stamp(incident.silencedUntil) })}`,
    );
  }
  if (incident.status === "resolved") {
    const at = texts.clock(incident.resolvedAt ?? incident.lastSeen);
    lines.push(
      `${STATUS_ICONS.resolved} ${
        incident.resolvedBy && incident.resolvedBy.type === "operator"
          ? texts.t("alert-resolved-by", { name: incident.resolvedBy.name, at })
          : texts.t("alert-resolved-at", { at })
      }`,
    );
  }
  return lines;
}

export function incidentParts(incident: Incident, texts: AlertTexts): Part[] {
  const labels = sortedLabels(incident.labels);
  const shownLabels = labels.slice(0, MAX_LABELS_SHOWN);
  const header: Part[] = [`${alertIcon(incident.severity, incident.status)} `, b(incident.title)];
  const subtitle = join(" · ", [i(severityWord(texts, incident.severity)), incident.source ?? null]);
  const text = incident.text === null ? null : cut(incident.text.trim(), MAX_TEXT_SHOWN);
  const labelLine =
    shownLabels.length === 0
      ? null
      : [
          `${texts.t("alert-labels")} `,
          join(
            ", ",
            shownLabels.map(([name, value]) => code(`${name}=${cut(value, MAX_LABEL_VALUE_SHOWN)}`)),
          ),
          labels.length > shownLabels.length ? ` +${labels.length - shownLabels.length}` : null,
        ];
  return join("\n", [
    header,
    subtitle,
    text === null || text === "" ? null : text.length > 300 || text.includes("\n") ? expandable(text) : text,
    labelLine,
    ...incidentStateLines(incident, texts),
    incident.url ? link(incident.url, texts.t("alert-link")) : null,
    [`${texts.t("alert-key")} `, code(incident.key)],
  ]);
}

function silenceRow(make: (choice: (typeof SILENCE_CHOICE_NAMES)[number]) => string): InlineKeyboardButton[] {
  return SILENCE_CHOICE_NAMES.map((choice) => ({ text: `🔕 ${choice}`, callback_data: make(choice) }));
}

/**
 * Buttons under an incident: Acknowledge (while firing or silenced), Resolve, Silence… (while
 * not silenced); none once resolved. `picker`: the silence lengths instead of Silence….
 */
export function incidentKeyboard(
  incident: Incident,
  texts: AlertTexts,
  opts: { picker?: boolean } = {},
): InlineKeyboardMarkup | undefined {
  if (incident.status === "resolved") return undefined;
  const id = incident.id;
  const main: InlineKeyboardButton[] = [];
  if (incident.status !== "acknowledged") {
    main.push({ text: texts.t("alert-button-ack"), callback_data: encodeAl({ action: "ack", alertId: id }) });
  }
  main.push({
    text: texts.t("alert-button-resolve"),
    callback_data: encodeAl({ action: "res", alertId: id }),
  });
  if (opts.picker) {
    return {
      inline_keyboard: [
        silenceRow((choice) => encodeAl({ action: "sil", alertId: id, silenceFor: choice })),
        main,
      ],
    };
  }
  if (incident.status !== "silenced") {
    main.push({
      text: texts.t("alert-button-silence"),
      callback_data: encodeAl({ action: "sil", alertId: id }),
    });
  }
  return { inline_keyboard: [main] };
}

export function renderIncident(
  incident: Incident,
  texts: AlertTexts,
  opts: { picker?: boolean } = {},
): RenderedMessage {
  const parts = incidentParts(incident, texts);
  const keyboard = incidentKeyboard(incident, texts, opts);
  return { parts, keyboard, hash: hashOf(parts, keyboard) };
}

/** The escalation chat's message: a loud reminder with the incident and its buttons. */
export function renderEscalation(incident: Incident, step: number, texts: AlertTexts): RenderedMessage {
  const since = incident.firstNotifiedAt ?? incident.firstSeen;
  const parts: Part[] = [
    b(`⏫ ${texts.t("alert-escalation-header", { step, since: texts.clock(since) })}`),
    "\n",
    ...incidentParts(incident, texts),
  ];
  const keyboard = incidentKeyboard(incident, texts);
  return { parts, keyboard, hash: hashOf(parts, keyboard) };
}

// ---- groups -----------------------------------------------------------------------------------

/** What tells a member apart within its group: labels beyond the group's own, else its title. */
function memberLabel(member: Incident, group: AlertGroup): string {
  const own = sortedLabels(member.labels)
    .filter(([name]) => !(name in group.labels) && name !== "severity")
    .map(([name, value]) => `${name}=${value}`)
    .join(", ");
  return cut(own !== "" ? own : member.title, MAX_MEMBER_LINE);
}

/** The group's name: its members' common title, else its group_by values. */
function groupTitle(members: readonly Incident[], group: AlertGroup): string {
  const titles = new Set(members.map((m) => m.title));
  if (titles.size === 1) return [...titles][0]!;
  const values = sortedLabels(group.labels).map(([, value]) => value);
  return values.length > 0 ? values.join(" · ") : group.groupKey;
}

function countsLine(members: readonly Incident[], texts: AlertTexts): string {
  const counts = groupCounts(members);
  const pieces: string[] = [];
  for (const severity of ["critical", "warning", "info"] as const) {
    const n = members.filter((m) => m.status === "firing" && m.severity === severity).length;
    if (n > 0) pieces.push(`${SEVERITY_ICONS[severity]} ${n} ${severityWord(texts, severity)}`);
  }
  if (counts.byStatus.acknowledged > 0) {
    pieces.push(
      `${STATUS_ICONS.acknowledged} ${texts.t("group-count-acknowledged", { count: counts.byStatus.acknowledged })}`,
    );
  }
  if (counts.byStatus.silenced > 0) {
    pieces.push(
      `${STATUS_ICONS.silenced} ${texts.t("group-count-silenced", { count: counts.byStatus.silenced })}`,
    );
  }
  if (counts.byStatus.resolved > 0) {
    pieces.push(
      `${STATUS_ICONS.resolved} ${texts.t("group-count-resolved", { count: counts.byStatus.resolved })}`,
    );
  }
  return pieces.join(" · ");
}

function lastActionLine(group: AlertGroup, texts: AlertTexts): Part {
  const action = group.lastAction;
  if (!action) return null;
  const at = texts.clock(new Date(action.at));
  const vars = { name: action.by.name, count: action.count, at };
  switch (action.op) {
    case "ack":
      return `${STATUS_ICONS.acknowledged} ${texts.t("group-action-acknowledged", vars)}`;
    case "res":
      return `${STATUS_ICONS.resolved} ${texts.t("group-action-resolved", vars)}`;
    case "sil":
      return `${STATUS_ICONS.silenced} ${texts.t("group-action-silenced", {
        ...vars,
        until: action.until ? texts.stamp(new Date(action.until)) : "?",
      })}`;
  }
}

export function groupParts(
  group: AlertGroup,
  members: readonly Incident[],
  page: Page<Incident>,
  texts: AlertTexts,
): Part[] {
  const counts = groupCounts(members);
  const open = members.filter((m) => m.status !== "resolved");
  const worst = maxSeverity(open.map((m) => m.severity));
  const icon =
    worst === null
      ? STATUS_ICONS.resolved
      : open.every((m) => m.status !== "firing")
        ? alertIcon(worst, open[0]!.status)
        : SEVERITY_ICONS[worst];
  const since = new Date(Math.min(...members.map((m) => m.firstSeen.getTime())));
  const last = new Date(Math.max(...members.map((m) => m.lastSeen.getTime())));
  const rankBase = page.page * GROUP_PAGE_SIZE;
  const memberLines = page.items.map((member, index) =>
    join("", [
      `${rankBase + index + 1}. ${alertIcon(member.severity, member.status)} `,
      memberLabel(member, group),
      member.count > 1 ? ` ×${member.count}` : null,
    ]),
  );
  const shownTo = rankBase + page.items.length;
  return join("\n", [
    [`${icon} `, b(groupTitle(members, group))],
    texts.t("group-summary", {
      incidents: counts.incidents,
      alerts: counts.alerts,
      since: texts.clock(since),
      last: texts.clock(last),
    }),
    countsLine(members, texts),
    page.pages > 1 ? i(texts.t("group-page", { page: page.page + 1, pages: page.pages })) : null,
    "",
    ...memberLines,
    shownTo < page.total ? texts.t("group-more", { count: page.total - shownTo }) : null,
    lastActionLine(group, texts),
  ]);
}

export function groupKeyboard(
  group: AlertGroup,
  members: readonly Incident[],
  page: Page<Incident>,
  texts: AlertTexts,
  opts: { picker?: boolean } = {},
): InlineKeyboardMarkup | undefined {
  const open = members.filter((m) => m.status !== "resolved");
  if (open.length === 0) return undefined;
  const groupId = group.id;
  const rows: InlineKeyboardButton[][] = [];
  const main: InlineKeyboardButton[] = [];
  if (open.some((m) => m.status !== "acknowledged")) {
    main.push({ text: texts.t("group-button-ack"), callback_data: encodeAg({ action: "ack", groupId }) });
  }
  main.push({ text: texts.t("group-button-resolve"), callback_data: encodeAg({ action: "res", groupId }) });
  if (opts.picker) {
    rows.push(silenceRow((choice) => encodeAg({ action: "sil", groupId, silenceFor: choice })));
  } else {
    main.push({ text: texts.t("alert-button-silence"), callback_data: encodeAg({ action: "sil", groupId }) });
  }
  rows.push(main);
  const paging: InlineKeyboardButton[] = [];
  if (page.page > 0) {
    paging.push({
      text: texts.t("group-button-back"),
      callback_data: encodeAg({ action: "more", groupId, page: page.page - 1 }),
    });
  }
  const shownTo = page.page * GROUP_PAGE_SIZE + page.items.length;
  if (shownTo < page.total) {
    paging.push({
      text: texts.t("group-button-more", { count: page.total - shownTo }),
      callback_data: encodeAg({ action: "more", groupId, page: page.page + 1 }),
    });
  }
  if (paging.length > 0) rows.push(paging);
  return { inline_keyboard: rows };
}

/**
 * A group's message: a group of one shows that incident's own message and `al:` buttons
 * (DESIGN.md); larger ones the counts, one page of members and `ag:` buttons.
 */
export function renderGroup(
  group: AlertGroup,
  members: readonly Incident[],
  texts: AlertTexts,
  opts: { page?: number; picker?: boolean } = {},
): RenderedMessage & { page: number } {
  const [only] = members;
  if (members.length === 1 && only) return { ...renderIncident(only, texts, opts), page: 0 };
  const page = pageOf(members, opts.page ?? group.viewPage);
  const parts = groupParts(group, members, page, texts);
  const keyboard = groupKeyboard(group, members, page, texts, opts);
  return { parts, keyboard, hash: hashOf(parts, keyboard), page: page.page };
}
