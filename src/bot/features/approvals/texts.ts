/**
 * What the approvals feature says to the operator who acts: toasts and the `/approvals` list, in
 * that operator's language (`ctx.t`). Cards in the approvals chat are the service's (team language).
 */
import type { InlineKeyboardButton, InlineKeyboardMarkup } from "grammy/types";
import { effectiveStatus } from "../../../services/approvals/cards.ts";
import type { ApprovalsService } from "../../../services/approvals/service.ts";
import type { ApprovalRow, GrantRow } from "../../../services/approvals/types.ts";
import { encodeAp } from "../../callback-data/ap.ts";
import { b, code, i, type Part } from "../../format/index.ts";

type Translate = { t(key: string, vars?: Record<string, string | number>): string };

/** Longest argument preview on one line of the list. */
const PREVIEW_CHARS = 160;
/** Pending requests and grants the list shows (each with its row of buttons). */
export const LIST_LIMIT = 8;

function preview(args: unknown): string {
  const text = JSON.stringify(args) ?? "null";
  return text.length <= PREVIEW_CHARS ? text : `${text.slice(0, PREVIEW_CHARS - 1)}…`;
}

/** "Already approved by Ada at 14:03", "This request expired at 14:05 ...". */
export function tooLateText(ctx: Translate, service: ApprovalsService, row: ApprovalRow): string {
  const { now, texts } = service.cardContext();
  const status = effectiveStatus(row, now);
  if (status === "expired") return ctx.t("approval-toast-expired", { at: texts.at(row.expires_at, now) });
  if (status === "pending") return ctx.t("callback-stale");
  const by =
    row.decided_by_kind === "human"
      ? (row.decided_by_name ?? "?")
      : ctx.t(`approval-by-${row.decided_by_kind ?? "policy"}`);
  return ctx.t("approval-toast-already", {
    status: ctx.t(`approval-status-${status}`),
    name: by,
    at: texts.at(row.decided_at ?? row.expires_at, now),
  });
}

export interface ListMessage {
  parts: Part[];
  keyboard: InlineKeyboardMarkup | undefined;
}

/** `/approvals`: the pending requests with their buttons, and the active "Always allow" grants. */
export function listMessage(
  ctx: Translate,
  service: ApprovalsService,
  pending: readonly ApprovalRow[],
  grants: readonly GrantRow[],
  opts: { canDecide: boolean; morePending: boolean; moreGrants: boolean },
): ListMessage {
  const { now, texts } = service.cardContext();
  const parts: Part[] = [];
  const rows: InlineKeyboardButton[][] = [];
  parts.push("⏳ ", b(ctx.t("approval-list-pending", { n: pending.length })));
  if (pending.length === 0) parts.push("\n", ctx.t("approval-list-none"));
  pending.forEach((row, index) => {
    const n = index + 1;
    parts.push(
      "\n\n",
      `${n}. `,
      b(row.agent),
      " · ",
      code(row.tool),
      row.run_id === null ? "" : [" · ", ctx.t("approval-list-run", { run: row.run_id })],
      "\n",
      code(preview(row.args)),
      "\n",
      row.flags.length > 0 ? ["⚠️ ", ctx.t("approval-list-flagged", { n: row.flags.length }), " · "] : "",
      ctx.t("approval-list-expires", {
        at: texts.at(row.expires_at, now),
        in: texts.span(row.expires_at.getTime() - now.getTime()),
      }),
      " · ",
      code(row.id),
    );
    if (opts.canDecide) {
      rows.push([
        { text: `✅ ${n}`, callback_data: encodeAp({ action: "ok", id: row.id }) },
        { text: `❌ ${n}`, callback_data: encodeAp({ action: "no", id: row.id }) },
        { text: `✍️ ${n}`, callback_data: encodeAp({ action: "why", id: row.id }) },
        { text: `♾ ${n}`, callback_data: encodeAp({ action: "always", id: row.id }) },
      ]);
    }
  });
  if (opts.morePending) parts.push("\n\n", i(ctx.t("approval-list-more")));
  parts.push("\n\n", "♾ ", b(ctx.t("approval-list-grants", { n: grants.length })));
  if (grants.length === 0) parts.push("\n", ctx.t("approval-list-no-grants"));
  grants.forEach((grant, index) => {
    const n = `G${index + 1}`;
    parts.push(
      "\n\n",
      `${n}. `,
      b(grant.agent),
      " · ",
      code(grant.tool),
      "\n",
      code(preview(grant.args)),
      "\n",
      ctx.t("approval-list-grant-until", {
        until: texts.at(grant.expires_at, now),
        name: grant.created_by_name,
      }),
    );
    if (opts.canDecide) {
      rows.push([
        {
          text: `🗑 ${ctx.t("approval-list-revoke", { n })}`,
          callback_data: encodeAp({ action: "always", id: grant.id }),
        },
      ]);
    }
  });
  if (opts.moreGrants) parts.push("\n\n", i(ctx.t("approval-list-more")));
  return { parts, keyboard: rows.length > 0 ? { inline_keyboard: rows } : undefined };
}
