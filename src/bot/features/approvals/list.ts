/**
 * `/approvals`, paged: `pg:approvals:<page>` buttons under the list edit that message in place
 * (an interactive reply, sent directly, like `/alerts`).
 *
 * The paging rule: pending requests first (newest first), then the active grants (newest first),
 * as ONE sequence of rows cut into pages of LIST_PAGE_SIZE. Pending requests are what an operator
 * must act on before they expire, so they come first and are never pushed off a page by grants;
 * and one sequence keeps every page to at most eight rows of buttons and well under Telegram's
 * 4096 characters, which paging both lists side by side (up to 16 rows a page) would not.
 *
 * Pages are positions, not cursors: a button carries only its page number (DESIGN.md's fixed
 * `pg:<view>:<page>`), so a list that changed between presses shifts by the rows that came or
 * went. Each press reads the list afresh; a page past the end (the list got shorter, or forged
 * data) shows the last page with a toast saying so.
 */
import { Composer, GrammyError } from "grammy";
import type { InlineKeyboardMarkup, MaybeInaccessibleMessage } from "grammy/types";
import type { ApprovalsService } from "../../../services/approvals/service.ts";
import { decodePg, pgPattern } from "../../callback-data/pg.ts";
import type { BotContext } from "../../context.ts";
import { renderHtml } from "../../format/index.ts";
import { hasRole } from "../../middlewares/auth.ts";
import { LIST_VIEW, type ListPageView, listMessage } from "./texts.ts";

/** Rows (pending requests and grants together) on one page, each with its row of buttons. */
export const LIST_PAGE_SIZE = 8;

/** Reads page `page` of the one sequence (pending, then grants). */
async function readPage(service: ApprovalsService, page: number): Promise<ListPageView> {
  const start = page * LIST_PAGE_SIZE;
  const pending = await service.pending({ offset: start, limit: LIST_PAGE_SIZE });
  // The grants fill what the pending requests leave of this page; their position counts from
  // the end of the pending list, as read by the call above.
  const grantsOffset = Math.max(0, start - pending.total);
  const grants = await service.grants({ offset: grantsOffset, limit: LIST_PAGE_SIZE - pending.rows.length });
  const pages = Math.max(1, Math.ceil((pending.total + grants.total) / LIST_PAGE_SIZE));
  return { page, pages, pageSize: LIST_PAGE_SIZE, pending, pendingOffset: start, grants, grantsOffset };
}

export interface RenderedList {
  html: string;
  keyboard: InlineKeyboardMarkup | undefined;
  /** The page shown, 0-based, and whether it is not the one asked for (that one is past the end). */
  page: number;
  pages: number;
  clamped: boolean;
}

export async function renderApprovalList(
  ctx: BotContext,
  service: ApprovalsService,
  requested: number,
  canDecide: boolean,
): Promise<RenderedList> {
  let view = await readPage(service, Math.max(0, requested));
  const clamped = view.page > view.pages - 1;
  if (clamped) view = await readPage(service, view.pages - 1);
  const message = listMessage(ctx, service, view, { canDecide });
  return {
    html: renderHtml(message.parts, { redact: service.redactor.redactText }).html,
    keyboard: message.keyboard,
    page: view.page,
    pages: view.pages,
    clamped,
  };
}

/**
 * Whether the pressed list already offered decisions. In a group the list is one message everyone
 * sees: an approver's list keeps its buttons when a viewer turns its page (a viewer's press on
 * them is still refused and audited by the `ap:` handler), and a viewer's list gains none.
 */
function offeredDecisions(message: MaybeInaccessibleMessage | undefined): boolean {
  const markup = message && "reply_markup" in message ? message.reply_markup : undefined;
  return (markup?.inline_keyboard ?? []).some((row) =>
    row.some((button) => "callback_data" in button && button.callback_data.startsWith("ap:")),
  );
}

/** Telegram's answers for an edit of a message that is gone or too old to edit. */
const MESSAGE_GONE = /message to edit not found|message can't be edited|MESSAGE_ID_INVALID/i;

export function approvalList(service: ApprovalsService): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command("approvals", async (ctx) => {
    if (!ctx.operator) return;
    const { html, keyboard } = await renderApprovalList(ctx, service, 0, hasRole(ctx, "approver"));
    await ctx.reply(html, {
      parse_mode: "HTML",
      link_preview_options: { is_disabled: true },
      ...(keyboard ? { reply_markup: keyboard } : {}),
    });
  });

  composer.callbackQuery(pgPattern(LIST_VIEW), async (ctx) => {
    const data = decodePg(ctx.match);
    if (!ctx.operator || !data) {
      await ctx.answerCallbackQuery({ text: ctx.t("callback-stale") });
      return;
    }
    const canDecide = hasRole(ctx, "approver") || offeredDecisions(ctx.callbackQuery.message);
    const list = await renderApprovalList(ctx, service, data.page, canDecide);
    try {
      await ctx.editMessageText(list.html, {
        parse_mode: "HTML",
        link_preview_options: { is_disabled: true },
        // No reply_markup removes the old buttons (an emptied list has none).
        ...(list.keyboard ? { reply_markup: list.keyboard } : {}),
      });
    } catch (err) {
      if (!(err instanceof GrammyError)) throw err;
      if (MESSAGE_GONE.test(err.description)) {
        // The list was deleted (or is too old to edit) since it was sent: nothing to page.
        await ctx.answerCallbackQuery({ text: ctx.t("callback-stale") });
        return;
      }
      // Pressing the page already shown changes nothing; anything else is a real failure.
      if (!/not modified/i.test(err.description)) throw err;
    }
    await ctx.answerCallbackQuery(
      list.clamped
        ? { text: ctx.t("approval-list-toast-last", { page: list.page + 1, pages: list.pages }) }
        : {},
    );
  });

  return composer;
}
