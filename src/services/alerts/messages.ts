/**
 * The notify stage's Telegram side: queues sends and edits of incident and group messages in the
 * caller's transaction (the outbox delivers them). A message is named by an outbox ref
 * (`alert:<id>`, `group:<groupId>:<epoch>`, then `…:<n>` for each re-notification), so edits
 * reach it even before its send went out. A re-notification is a new, loud message; the previous
 * one loses its buttons, so only the current message is acted on.
 * Every function updates the row it was given (ref, hash); the caller persists it.
 */
import { enqueue, PRIORITY, type Priority } from "../../delivery/index.ts";
import { isSilent } from "../../guards/loudness.ts";
import type { DbClient } from "../../store/pool.ts";
import type { AlertsEnv } from "./env.ts";
import { type RenderedMessage, renderGroup, renderIncident } from "./render.ts";
import type { AlertGroup, Incident } from "./types.ts";

type Client = DbClient;

function nextRef(base: string, gen: number): string {
  return gen === 0 ? base : `${base}:${gen}`;
}

async function stripButtons(client: Client, env: AlertsEnv, ref: string): Promise<void> {
  await enqueue(client, {
    method: "editMessageReplyMarkup",
    kind: "alert_edit",
    priority: PRIORITY.ALERT_EDIT,
    chat: env.chats!.alerts,
    targetRef: ref,
    replyMarkup: null,
  });
}

async function send(
  client: Client,
  env: AlertsEnv,
  rendered: RenderedMessage,
  ref: string,
  silent: boolean,
): Promise<void> {
  await enqueue(client, {
    method: "sendMessage",
    kind: "alert",
    priority: PRIORITY.NEW_ALERT,
    chat: env.chats!.alerts,
    parts: rendered.parts,
    silent,
    messageRef: ref,
    ...(rendered.keyboard ? { replyMarkup: rendered.keyboard } : {}),
  });
}

async function edit(
  client: Client,
  env: AlertsEnv,
  rendered: RenderedMessage,
  ref: string,
  priority: Priority,
): Promise<void> {
  await enqueue(client, {
    method: "editMessageText",
    kind: "alert_edit",
    priority,
    chat: env.chats!.alerts,
    targetRef: ref,
    parts: rendered.parts,
    ...(rendered.keyboard ? { replyMarkup: rendered.keyboard } : {}),
  });
}

/** Whether a new message about `severity` rings (severity and quiet hours, DESIGN.md). */
export function silentFor(env: AlertsEnv, severity: Incident["severity"]): boolean {
  return isSilent({ severity, kind: "alert", now: env.now(), quietHours: env.quietHours });
}

/** A new message for an ungrouped incident: its first, or a re-notification. */
export async function sendIncidentMessage(client: Client, env: AlertsEnv, incident: Incident): Promise<void> {
  if (!env.chats) return;
  const previous = incident.messageRef;
  const gen = previous === null ? 0 : incident.messageGen + 1;
  const ref = nextRef(`alert:${incident.id}`, gen);
  if (previous !== null) await stripButtons(client, env, previous);
  const rendered = renderIncident(incident, env.texts);
  await send(client, env, rendered, ref, silentFor(env, incident.severity));
  incident.messageRef = ref;
  incident.messageGen = gen;
  incident.renderHash = rendered.hash;
}

/**
 * Edits an ungrouped incident's message to show its state; nothing when it has none or would not
 * change. `picker` shows the silence lengths (always queued: the presser waits for it).
 */
export async function editIncidentMessage(
  client: Client,
  env: AlertsEnv,
  incident: Incident,
  opts: { priority?: Priority; picker?: boolean } = {},
): Promise<void> {
  if (!env.chats || incident.messageRef === null) return;
  const rendered = renderIncident(incident, env.texts, { picker: opts.picker ?? false });
  if (rendered.hash === incident.renderHash) return;
  await edit(client, env, rendered, incident.messageRef, opts.priority ?? PRIORITY.ALERT_EDIT);
  incident.renderHash = rendered.hash;
}

/** The worst severity among members nobody is on yet: what a new group message rings for. */
function ringingSeverity(members: readonly Incident[]): Incident["severity"] {
  const firing = members.filter((m) => m.status === "firing");
  for (const severity of ["critical", "warning"] as const) {
    if (firing.some((m) => m.severity === severity)) return severity;
  }
  return "info";
}

/** A new message for a group (first of its epoch, or a re-notification). */
export async function sendGroupMessage(
  client: Client,
  env: AlertsEnv,
  group: AlertGroup,
  members: readonly Incident[],
): Promise<void> {
  if (!env.chats) return;
  const previous = group.messageRef;
  const gen = previous === null ? 0 : group.messageGen + 1;
  const ref = nextRef(`group:${group.id}:${group.epoch}`, gen);
  if (previous !== null) await stripButtons(client, env, previous);
  const rendered = renderGroup(group, members, env.texts, { page: 0 });
  await send(client, env, rendered, ref, silentFor(env, ringingSeverity(members)));
  group.messageRef = ref;
  group.messageGen = gen;
  group.renderHash = rendered.hash;
  group.viewPage = 0;
}

export async function editGroupMessage(
  client: Client,
  env: AlertsEnv,
  group: AlertGroup,
  members: readonly Incident[],
  opts: { priority?: Priority; picker?: boolean; page?: number } = {},
): Promise<void> {
  if (!env.chats || group.messageRef === null || members.length === 0) return;
  const rendered = renderGroup(group, members, env.texts, {
    page: opts.page ?? group.viewPage,
    picker: opts.picker ?? false,
  });
  group.viewPage = rendered.page;
  if (rendered.hash === group.renderHash) return;
  await edit(client, env, rendered, group.messageRef, opts.priority ?? PRIORITY.ALERT_EDIT);
  group.renderHash = rendered.hash;
}
