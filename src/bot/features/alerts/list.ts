/**
 * `/alerts`: open incidents, newest first, ten per page with their counts; `pg:alerts:<page>`
 * buttons page through them by editing the list in place (an interactive reply, sent directly).
 */
import { Composer, GrammyError } from "grammy";
import type { InlineKeyboardButton, InlineKeyboardMarkup } from "grammy/types";
import { alertIcon } from "../../../guards/alerts/index.ts";
import type { AlertsService } from "../../../services/alerts/service.ts";
import { decodePg, encodePg, pgPattern } from "../../callback-data/pg.ts";
import type { BotContext } from "../../context.ts";
import { b, code, i, join, type Part, renderHtml } from "../../format/index.ts";

export const LIST_PAGE_SIZE = 10;
const VIEW = "alerts";

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export async function renderAlertList(
  ctx: BotContext,
  service: AlertsService,
  requested: number,
): Promise<{ html: string; keyboard: InlineKeyboardMarkup | undefined }> {
  const first = await service.openPage(0, 0);
  const pages = Math.max(1, Math.ceil(first.counts.total / LIST_PAGE_SIZE));
  const page = Math.min(Math.max(0, requested), pages - 1);
  const { incidents, counts } = await service.openPage(page, LIST_PAGE_SIZE);
  const texts = service.env.texts;
  if (counts.total === 0) return { html: renderHtml([ctx.t("alerts-list-empty")]).html, keyboard: undefined };
  const lines: Part[] = incidents.map((incident, n) =>
    join(" ", [
      `${page * LIST_PAGE_SIZE + n + 1}. ${alertIcon(incident.severity, incident.status)}`,
      b(cut(incident.title, 120)),
      incident.count > 1 ? `×${incident.count}` : null,
      i(ctx.t("alerts-list-since", { since: texts.stamp(incident.firstSeen) })),
      code(cut(incident.key, 64)),
    ]),
  );
  const parts = join("\n", [
    b(ctx.t("alerts-list-header", { ...counts })),
    pages > 1 ? i(ctx.t("alerts-list-page", { page: page + 1, pages })) : null,
    "",
    ...lines,
  ]);
  const buttons: InlineKeyboardButton[] = [];
  if (page > 0) {
    buttons.push({
      text: ctx.t("alerts-button-newer"),
      callback_data: encodePg({ view: VIEW, page: page - 1 }),
    });
  }
  if (page < pages - 1) {
    buttons.push({
      text: ctx.t("alerts-button-older"),
      callback_data: encodePg({ view: VIEW, page: page + 1 }),
    });
  }
  return {
    html: renderHtml(parts).html,
    keyboard: buttons.length > 0 ? { inline_keyboard: [buttons] } : undefined,
  };
}

export function alertList(service: AlertsService): Composer<BotContext> {
  const composer = new Composer<BotContext>();

  composer.command("alerts", async (ctx) => {
    const { html, keyboard } = await renderAlertList(ctx, service, 0);
    await ctx.reply(html, { parse_mode: "HTML", ...(keyboard ? { reply_markup: keyboard } : {}) });
  });

  composer.callbackQuery(pgPattern(VIEW), async (ctx) => {
    const data = decodePg(ctx.match);
    const { html, keyboard } = await renderAlertList(ctx, service, data?.page ?? 0);
    try {
      await ctx.editMessageText(html, {
        parse_mode: "HTML",
        ...(keyboard ? { reply_markup: keyboard } : {}),
      });
    } catch (err) {
      // Pressing the same page twice changes nothing; anything else is a real failure.
      if (!(err instanceof GrammyError && /not modified/i.test(err.description))) throw err;
    }
    await ctx.answerCallbackQuery();
  });

  return composer;
}
