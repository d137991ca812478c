/**
 * Group state kept in `alert_groups`, moved by the grouping guard's pure functions. A group lives
 * in epochs: its message shows the incidents of the current epoch; once all of them are resolved
 * the epoch closes, and the next firing opens a new one with a new message, so an old storm's
 * resolved incidents never crowd a new one.
 */
import {
  GROUP_BY_ALL,
  type GroupState,
  type GroupTimingConfig,
  groupKey,
  groupOnChange,
  nextFlushAt,
} from "../../guards/alerts/index.ts";
import type { AlertGroup, Incident } from "./types.ts";

/** The labels that make the group (group_by present and non-empty; all of them for `...`). */
export function groupLabels(
  labels: Record<string, string>,
  groupBy: readonly string[],
): Record<string, string> {
  const names = groupBy.includes(GROUP_BY_ALL) ? Object.keys(labels) : groupBy;
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = labels[name];
    if (value !== undefined && value !== "") out[name] = value;
  }
  return out;
}

export function newGroup(
  id: string,
  groupKey: string,
  labels: Record<string, string>,
  now: Date,
): AlertGroup {
  return {
    id,
    groupKey,
    labels,
    epoch: 1,
    closed: false,
    firstAlertAt: now,
    lastFlushAt: null,
    pendingSince: null,
    pendingLoud: false,
    flushDueAt: null,
    messageRef: null,
    messageGen: 0,
    renderHash: null,
    viewPage: 0,
    lastAction: null,
  };
}

function stateOf(group: AlertGroup): GroupState {
  return {
    firstAlertAt: group.firstAlertAt,
    lastFlushAt: group.lastFlushAt,
    pendingSince: group.pendingSince,
    pendingLoud: group.pendingLoud,
  };
}

/** A closed group's next epoch: a fresh message, fresh timing. */
export function reopen(group: AlertGroup, now: Date): void {
  Object.assign(group, newGroup(group.id, group.groupKey, group.labels, now), { epoch: group.epoch + 1 });
}

/**
 * Records a change the message does not show yet; `loud` when it would ring on its own (a new
 * incident, a re-notification). Sets when the leader's job flushes it.
 */
export function markChanged(group: AlertGroup, now: Date, loud: boolean, cfg: GroupTimingConfig): void {
  const isNew = group.lastFlushAt === null && group.pendingSince === null;
  const state = groupOnChange(isNew ? null : stateOf(group), now, { loud });
  Object.assign(group, state);
  group.flushDueAt = nextFlushAt(state, cfg);
}

export { stateOf as groupState };

/**
 * The group row of a grouped incident, made when missing: an incident silenced or inhibited at
 * open never wrote one, and needs it when it is shown at last.
 */
export function ensureGroup(
  groups: Map<string, AlertGroup>,
  incident: Pick<Incident, "groupId" | "labels">,
  groupBy: readonly string[],
  now: Date,
): AlertGroup | null {
  if (incident.groupId === null) return null;
  const found = groups.get(incident.groupId);
  if (found) return found;
  const key = groupKey(incident.labels, groupBy) ?? incident.groupId;
  const group = newGroup(incident.groupId, key, groupLabels(incident.labels, groupBy), now);
  groups.set(group.id, group);
  return group;
}
