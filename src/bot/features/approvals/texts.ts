/**
 * What the approvals feature says to the operator who acts: toasts and the `/approvals` list, in
 * that operator's language (`ctx.t`). Cards in the approvals chat are the service's (team language).
 */
import type { InlineKeyboardButton, InlineKeyboardMarkup } from "grammy/types";
import { effectiveStatus } from "../../../services/approvals/cards.ts";
import type { ApprovalsService, ListPage } from "../../../services/approvals/service.ts";
import type { ApprovalRow, GrantRow } from "../../../services/approvals/types.ts";
import { encodeAp } from "../../callback-data/ap.ts";
import { encodePg } from "../../callback-data/pg.ts";
import { b, code, i, type Part } from "../../format/index.ts";

type Translate = { t(key: string, vars?: Record<string, string | number>): string };

/** Longest argument preview on one line of the list. */
const PREVIEW_CHARS = 160;
/** The `pg:` view of `/approvals` pages: `pg:approvals:<page>`. */
export const LIST_VIEW = "approvals";

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

/** One page of `/approvals` as list.ts read it (the paging rule is explained there). */
export interface ListPageView {
  /** 0-based page shown, and how many pages there are (at least 1). */
  page: number;
  pages: number;
  pageSize: number;
  pending: ListPage<ApprovalRow>;
  /** Position of `pending.rows[0]` in the whole pending list (numbers rows across pages). */
  pendingOffset: number;
  grants: ListPage<GrantRow>;
  grantsOffset: number;
}

/** "On page 3." / "On pages 1–3.": where a section with nothing on this page can be found. */
function elsewhere(ctx: Translate, firstPage: number, lastPage: number): string {
  return firstPage === lastPage
    ? ctx.t("approval-list-on-page", { page: firstPage + 1 })
    : ctx.t("approval-list-on-pages", { from: firstPage + 1, to: lastPage + 1 });
}

/**
 * `/approvals`, one page: the pending requests with their buttons, and the active "Always allow"
 * grants. Both headers are on every page with their totals, so a page full of one section still
 * says the other exists and on which pages. Rows are numbered across pages (9., G9.), so the
 * buttons of page 2 never read like those of page 1.
 */
export function listMessage(
  ctx: Translate,
  service: ApprovalsService,
  view: ListPageView,
  opts: { canDecide: boolean },
): ListMessage {
  const { now, texts } = service.cardContext();
  const { pending, grants, pageSize } = view;
  const parts: Part[] = [];
  const rows: InlineKeyboardButton[][] = [];
  if (view.pages > 1)
    parts.push(i(ctx.t("approval-list-page", { page: view.page + 1, pages: view.pages })), "\n\n");
  parts.push("⏳ ", b(ctx.t("approval-list-pending", { n: pending.total })));
  if (pending.total === 0) parts.push("\n", ctx.t("approval-list-none"));
  else if (pending.rows.length === 0) {
    parts.push("\n", i(elsewhere(ctx, 0, Math.ceil(pending.total / pageSize) - 1)));
  }
  pending.rows.forEach((row, index) => {
    const n = view.pendingOffset + index + 1;
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
  parts.push("\n\n", "♾ ", b(ctx.t("approval-list-grants", { n: grants.total })));
  if (grants.total === 0) parts.push("\n", ctx.t("approval-list-no-grants"));
  else if (grants.rows.length === 0) {
    // Grants follow the pending requests in one sequence of rows (list.ts).
    const first = Math.floor(pending.total / pageSize);
    const last = Math.ceil((pending.total + grants.total) / pageSize) - 1;
    parts.push("\n", i(elsewhere(ctx, first, last)));
  }
  grants.rows.forEach((grant, index) => {
    const n = `G${view.grantsOffset + index + 1}`;
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
  const nav: InlineKeyboardButton[] = [];
  if (view.page > 0) {
    nav.push({
      text: ctx.t("approval-list-prev", { page: view.page }),
      callback_data: encodePg({ view: LIST_VIEW, page: view.page - 1 }),
    });
  }
  if (view.page < view.pages - 1) {
    nav.push({
      text: ctx.t("approval-list-next", { page: view.page + 2 }),
      callback_data: encodePg({ view: LIST_VIEW, page: view.page + 1 }),
    });
  }
  if (nav.length > 0) rows.push(nav);
  return { parts, keyboard: rows.length > 0 ? { inline_keyboard: rows } : undefined };
}
