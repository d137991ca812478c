/**
 * The alerts service's rows as TypeScript sees them (camelCase), and the shapes its parts pass
 * around. The pure stages in `src/guards/alerts/` take these structurally.
 */
import type { IncidentStatus, Labels, Severity } from "../../guards/alerts/index.ts";
import type { Matcher } from "../../guards/alerts/silence.ts";

/** Who did something to an incident: a sender (API key, Alertmanager), an operator, pitwall itself. */
export interface ActorRef {
  type: "sender" | "operator" | "system";
  id: string;
  name: string;
}

export interface Incident {
  seq?: number;
  id: string;
  key: string;
  severity: Severity;
  title: string;
  text: string | null;
  source: string | null;
  labels: Record<string, string>;
  url: string | null;
  status: IncidentStatus;
  count: number;
  firstSeen: Date;
  lastSeen: Date;
  resolvedAt: Date | null;
  resolvedBy: ActorRef | null;
  acknowledgedBy: ActorRef | null;
  acknowledgedAt: Date | null;
  silencedUntil: Date | null;
  silenceId: string | null;
  inhibitedBy: string | null;
  groupId: string | null;
  groupEpoch: number | null;
  messageRef: string | null;
  messageGen: number;
  renderHash: string | null;
  firstNotifiedAt: Date | null;
  lastNotifiedAt: Date | null;
  escalationDueAt: Date | null;
  lastEscalatedAt: Date | null;
  escalations: number;
  pagerdutyTriggered: boolean;
  /**
   * Hash of the last alert applied (content-hash.ts): a repeat with the same hash changes
   * nothing but count and last_seen (fast-repeat.ts). Null for rows written before it existed.
   */
  contentHash: string | null;
}

export interface GroupAction {
  op: "ack" | "res" | "sil";
  by: ActorRef;
  at: string;
  count: number;
  until?: string;
}

export interface AlertGroup {
  id: string;
  groupKey: string;
  labels: Record<string, string>;
  epoch: number;
  closed: boolean;
  firstAlertAt: Date;
  lastFlushAt: Date | null;
  pendingSince: Date | null;
  pendingLoud: boolean;
  flushDueAt: Date | null;
  messageRef: string | null;
  messageGen: number;
  renderHash: string | null;
  viewPage: number;
  lastAction: GroupAction | null;
}

export interface SilenceRow {
  id: string;
  key: string | null;
  matchers: Matcher[] | null;
  startsAt: Date | null;
  endsAt: Date;
  createdAt: Date;
  createdBy: ActorRef;
  comment: string | null;
  expiredBy: ActorRef | null;
}

/** The alert row of DESIGN.md's API (`GET /v1/alerts`). */
export interface AlertView {
  id: string;
  key: string;
  severity: Severity;
  title: string;
  text: string | null;
  source: string | null;
  labels: Labels;
  status: IncidentStatus;
  count: number;
  first_seen: string;
  last_seen: string;
  acknowledged_by?: { id: string; name: string };
  acknowledged_at?: string;
  silenced_until?: string;
  resolved_at?: string;
  resolved_by?: { id: string; name: string };
  url?: string;
  inhibited_by?: string;
  group_id?: string;
}

export function toAlertView(incident: Incident): AlertView {
  const view: AlertView = {
    id: incident.id,
    key: incident.key,
    severity: incident.severity,
    title: incident.title,
    text: incident.text,
    source: incident.source,
    labels: incident.labels,
    status: incident.status,
    count: incident.count,
    first_seen: incident.firstSeen.toISOString(),
    last_seen: incident.lastSeen.toISOString(),
  };
  if (incident.acknowledgedBy) {
    view.acknowledged_by = { id: incident.acknowledgedBy.id, name: incident.acknowledgedBy.name };
  }
  if (incident.acknowledgedAt) view.acknowledged_at = incident.acknowledgedAt.toISOString();
  if (incident.silencedUntil && incident.status === "silenced") {
    view.silenced_until = incident.silencedUntil.toISOString();
  }
  if (incident.resolvedAt) view.resolved_at = incident.resolvedAt.toISOString();
  if (incident.resolvedBy) view.resolved_by = { id: incident.resolvedBy.id, name: incident.resolvedBy.name };
  if (incident.url) view.url = incident.url;
  if (incident.inhibitedBy && incident.status !== "resolved") view.inhibited_by = incident.inhibitedBy;
  if (incident.groupId) view.group_id = incident.groupId;
  return view;
}
