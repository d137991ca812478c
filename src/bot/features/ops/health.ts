import type { Mode } from "../../../config/index.ts";
import type { CheckView } from "../../../services/ops/checks/service.ts";
import { MODE_ICONS } from "../../../services/ops/mode-announce.ts";
import type { BotContext } from "../../context.ts";
import { b, type Part } from "../../format/index.ts";
import { clockTime } from "./time.ts";

const CHECK_ICONS: Readonly<Record<CheckView["status"], string>> = {
  up: "✅",
  failing: "⚠️",
  down: "❌",
  unknown: "❔",
};

export interface HealthSnapshot {
  databaseOk: boolean;
  mode: Mode;
  modeReasons: string[];
  breakers: { total: number; open: string[] };
  checks: readonly CheckView[];
}

function checkLine(ctx: BotContext, check: CheckView, now: number, timeZone: string): Part {
  let state: string;
  switch (check.status) {
    case "up":
      state = ctx.t("ops-check-up");
      break;
    case "failing":
      state = ctx.t("ops-check-failing", {
        count: check.consecutive_failures,
        threshold: check.failure_threshold,
      });
      break;
    case "down":
      state = ctx.t("ops-check-down", {
        since: check.since ? clockTime(Date.parse(check.since), now, timeZone) : "?",
      });
      break;
    case "unknown":
      state = ctx.t("ops-check-unknown");
      break;
  }
  const details = [
    check.detail,
    check.status === "up" && check.latency_ms !== null ? `${check.latency_ms} ms` : null,
  ].filter((detail): detail is string => detail !== null && detail !== "");
  return [
    `${CHECK_ICONS[check.status]} `,
    b(check.name),
    ` (${check.kind}) — ${state}`,
    details.length > 0 ? ` · ${details.join(" · ")}` : "",
  ];
}

/** `/health`: one line per component (database, mode, breakers) and per check. */
export function healthMessage(
  ctx: BotContext,
  health: HealthSnapshot,
  now: number,
  timeZone: string,
): Part[] {
  const lines: Part[] = [
    b(ctx.t("ops-health-title")),
    health.databaseOk ? `✅ ${ctx.t("ops-health-database-ok")}` : `❌ ${ctx.t("ops-health-database-down")}`,
    [
      `${MODE_ICONS[health.mode]} ${ctx.t("ops-health-mode", { mode: health.mode })}`,
      health.mode !== "FULL" && health.modeReasons.length > 0 ? `: ${health.modeReasons.join("; ")}` : "",
    ],
    health.breakers.open.length > 0
      ? `🔴 ${ctx.t("ops-health-breakers-open", {
          open: health.breakers.open.length,
          total: health.breakers.total,
          names: health.breakers.open.join(", "),
        })}`
      : `🟢 ${ctx.t("ops-health-breakers-ok", { total: health.breakers.total })}`,
  ];
  if (health.checks.length === 0) lines.push(ctx.t("ops-health-no-checks"));
  for (const check of health.checks) lines.push(checkLine(ctx, check, now, timeZone));
  return lines.flatMap((line, index) => (index === 0 ? [line] : ["\n", line]));
}
