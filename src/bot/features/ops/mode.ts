import { MODES, type Mode } from "../../../config/index.ts";
import type { ModeView } from "../../../services/ops/mode.ts";
import { MODE_ICONS } from "../../../services/ops/mode-announce.ts";
import type { BotContext } from "../../context.ts";
import { b, type Part } from "../../format/index.ts";
import { clockTime, timeUntil } from "./time.ts";

/** `/mode`: the mode, since when, why, and the pin. */
export function modeMessage(ctx: BotContext, view: ModeView, now: number, timeZone: string): Part[] {
  const since = Date.parse(view.since);
  const parts: Part[] = [
    `${MODE_ICONS[view.mode]} `,
    b(ctx.t("ops-mode-current", { mode: view.mode })),
    "\n",
    ctx.t("ops-mode-since", { at: clockTime(since, now, timeZone), ago: timeUntil(ctx, now - since) }),
  ];
  const reasons = view.pinned ? view.reasons.slice(1) : view.reasons;
  if (view.pinned) {
    parts.push(
      "\n",
      ctx.t("ops-mode-pinned", {
        by: view.pinned.by ?? "?",
        reason: view.pinned.reason || "-",
        auto: view.auto,
      }),
    );
  }
  parts.push("\n\n", b(ctx.t("ops-mode-why")), "\n");
  parts.push(
    reasons.length > 0 ? reasons.map((reason) => `• ${reason}`).join("\n") : ctx.t("ops-mode-no-reasons"),
  );
  parts.push("\n\n", ctx.t("ops-mode-hint"));
  return parts;
}

export type ModeCommand =
  | { kind: "pin"; mode: Mode; reason: string }
  | { kind: "unpin" }
  | { kind: "usage" }
  | { kind: "reason_required" };

/** `/mode_set MAINTENANCE deploy of v2` -> pin with a reason; `/mode_set AUTO` -> unpin. */
export function parseModeCommand(argument: string): ModeCommand {
  const [word = "", ...rest] = argument.trim().split(/\s+/);
  const name = word.toUpperCase();
  const reason = rest.join(" ").trim().slice(0, 500);
  if (name === "AUTO") return { kind: "unpin" };
  const mode = MODES.find((candidate) => candidate === name);
  if (!mode) return { kind: "usage" };
  // Maintenance changes what agents may do: everyone should see why.
  if (mode === "MAINTENANCE" && reason === "") return { kind: "reason_required" };
  return { kind: "pin", mode, reason };
}
