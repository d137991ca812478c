/**
 * `/silence <key|matchers> <duration>` (approvers and admins), `/silence expire <id>`, and
 * `/silences`. Silences end by themselves; ending one early is by id, typed, because callback
 * data is a fixed wire format with no prefix for it. Creating and ending are audited by the
 * service.
 */
import { Composer } from "grammy";
import { parseDuration } from "../../../config/units.ts";
import { parseSilenceTarget } from "../../../guards/alerts/silence.ts";
import { isId } from "../../../services/alerts/ids.ts";
import type { AlertsService } from "../../../services/alerts/service.ts";
import { describeSilence } from "../../../services/alerts/silences.ts";
import { formatDuration } from "../../../services/alerts/texts.ts";
import type { ActorRef } from "../../../services/alerts/types.ts";
import type { BotContext } from "../../context.ts";
import { b, code, join, type Part, renderHtml } from "../../format/index.ts";
import { requireRole } from "../../middlewares/auth.ts";

/** Longer silences are almost always a forgotten one; a month covers real maintenance. */
export const MAX_SILENCE_MS = 30 * 24 * 3_600_000;

export type SilenceCommand =
  | { kind: "usage" }
  | { kind: "expire"; id: string | null }
  | { kind: "create"; target: string; durationMs: number }
  | { kind: "bad-duration"; given: string }
  | { kind: "too-long" };

function tryDuration(text: string): number | null {
  try {
    const ms = parseDuration(text);
    return ms > 0 ? ms : null;
  } catch {
    return null;
  }
}

/** Reads the command's argument: the duration is the last word (or two: "4 hours"). */
export function parseSilenceCommand(argument: string): SilenceCommand {
  const text = argument.trim();
  if (text === "") return { kind: "usage" };
  const expire = /^expire(?:\s+(\S+))?\s*$/i.exec(text);
  if (expire) return { kind: "expire", id: expire[1] ?? null };
  const words = text.split(/\s+/);
  const tails = [/^(.*?)\s+(\S+)$/s, /^(.*?)\s+(\S+\s+\S+)$/s];
  for (const tail of tails) {
    const match = tail.exec(text);
    if (!match || match[1] === undefined || match[2] === undefined) continue;
    const durationMs = tryDuration(match[2]);
    if (durationMs === null) continue;
    if (durationMs > MAX_SILENCE_MS) return { kind: "too-long" };
    return { kind: "create", target: match[1].trim(), durationMs };
  }
  return words.length === 1 ? { kind: "usage" } : { kind: "bad-duration", given: words.at(-1)!.slice(0, 40) };
}

function actorOf(ctx: BotContext): ActorRef {
  const operator = ctx.operator!;
  return { type: "operator", id: String(operator.id), name: operator.name };
}

async function replyHtml(ctx: BotContext, parts: Part[]): Promise<void> {
  await ctx.reply(renderHtml(parts).html, { parse_mode: "HTML" });
}

export function silenceCommands(service: AlertsService): Composer<BotContext> {
  const composer = new Composer<BotContext>();
  const texts = service.env.texts;

  composer.command("silence", requireRole("approver"), async (ctx) => {
    const command = parseSilenceCommand(ctx.match);
    switch (command.kind) {
      case "usage":
        await ctx.reply(ctx.t("silence-usage"));
        return;
      case "bad-duration":
        await ctx.reply(ctx.t("silence-bad-duration", { given: command.given }));
        return;
      case "too-long":
        await ctx.reply(ctx.t("silence-too-long", { max: formatDuration(MAX_SILENCE_MS) }));
        return;
      case "expire": {
        if (command.id === null || !isId(command.id)) {
          await ctx.reply(
            ctx.t(command.id === null ? "silence-expire-usage" : "silence-unknown", { id: command.id ?? "" }),
          );
          return;
        }
        const outcome = await service.expireSilence(command.id, actorOf(ctx));
        const key =
          outcome.kind === "expired"
            ? "silence-expired"
            : outcome.kind === "unknown"
              ? "silence-unknown"
              : "silence-already-ended";
        await ctx.reply(
          ctx.t(key, { id: command.id, affected: outcome.kind === "expired" ? outcome.affected : 0 }),
        );
        return;
      }
      case "create": {
        const target = parseSilenceTarget(command.target);
        if (!target.ok) {
          await ctx.reply(ctx.t("silence-bad-target", { error: target.error }));
          return;
        }
        const { silence, affected } = await service.createSilence({
          key: target.kind === "key" ? target.key : null,
          matchers: target.kind === "matchers" ? target.matchers : null,
          durationMs: command.durationMs,
          actor: actorOf(ctx),
        });
        ctx.log.info({ silence: silence.id, affected }, "silence created");
        await ctx.reply(
          ctx.t("silence-created", {
            id: silence.id,
            what: describeSilence(silence),
            until: texts.stamp(silence.endsAt),
            affected,
          }),
        );
        return;
      }
    }
  });

  composer.command("silences", async (ctx) => {
    const silences = await service.silences();
    if (silences.length === 0) {
      await ctx.reply(ctx.t("silences-empty"));
      return;
    }
    const lines: Part[] = silences.slice(0, 50).map((s) =>
      join(" ", [
        code(s.id),
        ctx.t("silences-line", {
          what: describeSilence(s),
          until: texts.stamp(s.endsAt),
          by: s.createdBy.name,
        }),
      ]),
    );
    await replyHtml(
      ctx,
      join("\n", [
        b(ctx.t("silences-header", { count: silences.length })),
        "",
        ...lines,
        "",
        ctx.t("silences-footer"),
      ]),
    );
  });

  return composer;
}
