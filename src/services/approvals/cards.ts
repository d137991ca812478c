/**
 * What approval cards say and which buttons they carry, as structured parts: the outbox renders
 * them (redaction, HTML escaping, the 4096 cut). Pure: rows, texts and the clock in; parts,
 * keyboards and attachments out. Nothing an approver approves is hidden: arguments that do not fit
 * are shown cut with a note, and sent in full (redacted) as `args-<id>.json`.
 */
import type { InlineKeyboardButton, InlineKeyboardMarkup } from "grammy/types";
import { encodeAb } from "../../bot/callback-data/ab.ts";
import { encodeAp } from "../../bot/callback-data/ap.ts";
import { b, code, i, type Part, pre, renderHtml, TELEGRAM_TEXT_LIMIT } from "../../bot/format/index.ts";
import { type ApprovalPromptModel, approvalPromptModel } from "../../guards/approvals/index.ts";
import type { Redactor } from "../../guards/redact.ts";
import type { CardTexts } from "./texts.ts";
import type { ApprovalRow, ApprovalStatus } from "./types.ts";

/** Room kept free under the arguments for the "cut" note and rounding. */
const NOTE_RESERVE = 240;
/** Arguments of one request on a run's card (longer ones are cut and attached). */
export const BATCH_MEMBER_ARGS_CHARS = 600;
/** A run's card stops listing requests past this many visible characters. */
const BATCH_CARD_BUDGET = 3600;

export interface Card {
  parts: Part[];
  /** undefined: no buttons. */
  keyboard: InlineKeyboardMarkup | undefined;
  /** Arguments cut on this card, to attach in full (redacted): one per approval. */
  attachments: Array<{ approvalId: string; filename: string; content: string }>;
}

export interface CardContext {
  texts: CardTexts;
  redactor: Redactor;
  now: Date;
  /** approvals.always_allow_ttl, to say until when a grant holds. */
  alwaysAllowTtlMs: number;
}

/** The status a reader sees: a pending row past expires_at is expired at once. */
export function effectiveStatus(row: Pick<ApprovalRow, "status" | "expires_at">, now: Date): ApprovalStatus {
  return row.status === "pending" && row.expires_at.getTime() <= now.getTime() ? "expired" : row.status;
}

const ICONS: Record<ApprovalStatus, string> = { pending: "⏳", approved: "✅", denied: "❌", expired: "⌛" };

function model(row: ApprovalRow, ctx: CardContext, maxArgsChars: number): ApprovalPromptModel {
  return approvalPromptModel({
    approval: {
      id: row.id,
      agent: row.agent,
      run_id: row.run_id,
      tool: row.tool,
      original_tool: row.original_tool,
      reason: row.request_reason,
      expires_at: row.expires_at,
    },
    args: row.args,
    flags: row.flags,
    redactor: ctx.redactor,
    maxArgsChars,
  });
}

function flagLines(m: ApprovalPromptModel, ctx: CardContext): Part[] {
  if (m.flags.length === 0) return [];
  const shown = m.flags.slice(0, 5).map((flag) =>
    ctx.texts.t(flag.where === "key" ? "approval-flag-in-key" : "approval-flag-in-value", {
      pattern: flag.pattern,
      path: flag.path,
    }),
  );
  const more =
    m.flags.length > shown.length
      ? ` ${ctx.texts.t("approval-flags-more", { n: m.flags.length - shown.length })}`
      : "";
  return [["⚠️ ", b(ctx.texts.t("approval-flags")), " ", shown.join("; "), more]];
}

function argsNote(m: ApprovalPromptModel, ctx: CardContext): Part {
  if (!m.argsTruncated || m.argsOmitted === null || m.attachment === null) return null;
  return i(
    ctx.texts.t("approval-args-cut", {
      lines: m.argsOmitted.lines,
      chars: m.argsOmitted.chars,
      file: m.attachment.filename,
    }),
  );
}

/** The line that says where the approval stands: expiry while pending, else outcome, who and when. */
export function outcomeLine(row: ApprovalRow, ctx: CardContext): Part[] {
  const { texts, now } = ctx;
  const status = effectiveStatus(row, now);
  switch (status) {
    case "pending":
      return [
        `${ICONS.pending} `,
        texts.t("approval-expires", {
          at: texts.at(row.expires_at, now),
          in: texts.span(row.expires_at.getTime() - now.getTime()),
        }),
      ];
    case "expired":
      return [
        `${ICONS.expired} `,
        b(texts.t("approval-outcome-expired", { at: texts.at(row.expires_at, now) })),
      ];
    case "approved": {
      const decidedAt = row.decided_at ?? now;
      if (row.decided_by_kind !== "human") {
        return [`${ICONS.approved} `, b(texts.t("approval-outcome-approved-policy", { rule: row.rule }))];
      }
      if (row.grant_id !== null) {
        const until = new Date(decidedAt.getTime() + ctx.alwaysAllowTtlMs);
        return [
          "♾ ",
          b(
            texts.t("approval-outcome-always", {
              name: row.decided_by_name ?? "?",
              at: texts.at(decidedAt, now),
              until: texts.at(until, now),
            }),
          ),
        ];
      }
      return [
        `${ICONS.approved} `,
        b(
          texts.t("approval-outcome-approved", {
            name: row.decided_by_name ?? "?",
            at: texts.at(decidedAt, now),
          }),
        ),
      ];
    }
    case "denied": {
      const decidedAt = row.decided_at ?? now;
      if (row.decided_by_kind !== "human") {
        return [`${ICONS.denied} `, b(texts.t("approval-outcome-denied-policy", { rule: row.rule }))];
      }
      const line: Part[] = [
        `${ICONS.denied} `,
        b(
          texts.t("approval-outcome-denied", {
            name: row.decided_by_name ?? "?",
            at: texts.at(decidedAt, now),
          }),
        ),
      ];
      if (row.decision_reason)
        line.push("\n", texts.t("approval-outcome-reason"), " ", i(row.decision_reason));
      return line;
    }
  }
}

function singleHeader(m: ApprovalPromptModel, row: ApprovalRow, ctx: CardContext): Part[] {
  const { texts } = ctx;
  const out: Part[] = [["🛂 ", b(texts.t("approval-title")), " · ", code(m.tool)]];
  out.push([
    texts.t("approval-agent"),
    " ",
    b(m.agent),
    row.level_source === "default" ? ` ${texts.t("approval-default-level", { level: row.level })}` : "",
    m.run_id === null ? "" : [" · ", texts.t("approval-run"), " ", code(m.run_id)],
  ]);
  if (m.original_tool !== null) {
    out.push([
      texts.t("approval-tool"),
      " ",
      code(m.tool),
      " ",
      texts.t("approval-sent-as", { tool: m.original_tool }),
    ]);
  }
  if (m.reason !== null) out.push([texts.t("approval-reason"), " ", i(m.reason)]);
  out.push(...flagLines(m, ctx));
  return out;
}

function joinLines(items: Part[]): Part[] {
  const out: Part[] = [];
  for (const item of items) {
    if (item === null || item === undefined || item === false) continue;
    if (out.length > 0) out.push("\n");
    out.push(item);
  }
  return out;
}

function approvalButtons(ids: { id: string }, texts: CardTexts): InlineKeyboardButton[][] {
  return [
    [
      {
        text: `✅ ${texts.t("approval-button-approve")}`,
        callback_data: encodeAp({ action: "ok", id: ids.id }),
      },
      {
        text: `❌ ${texts.t("approval-button-deny")}`,
        callback_data: encodeAp({ action: "no", id: ids.id }),
      },
    ],
    [
      {
        text: `✍️ ${texts.t("approval-button-deny-reason")}`,
        callback_data: encodeAp({ action: "why", id: ids.id }),
      },
      {
        text: `♾ ${texts.t("approval-button-always")}`,
        callback_data: encodeAp({ action: "always", id: ids.id }),
      },
    ],
  ];
}

/** One approval on a card of its own. */
export function singleCard(row: ApprovalRow, ctx: CardContext): Card {
  const { texts } = ctx;
  const footer: Part[] = [
    [texts.t("approval-policy"), " ", row.policy_reason],
    [...outcomeLine(row, ctx), " · ", code(row.id)],
  ];
  const build = (m: ApprovalPromptModel): Part[] =>
    joinLines([
      ...singleHeader(m, row, ctx),
      b(texts.t("approval-arguments")),
      pre(m.argsPretty, "json"),
      argsNote(m, ctx),
      ...footer,
    ]);
  // Measure everything but the arguments, then give the arguments the rest of the room.
  const probe = model(row, ctx, 1);
  const withoutArgs = renderHtml(build({ ...probe, argsPretty: "", argsTruncated: false }), {
    redact: ctx.redactor.redactText,
    maxLength: Number.MAX_SAFE_INTEGER,
  }).visibleLength;
  const room = Math.max(200, TELEGRAM_TEXT_LIMIT - withoutArgs - NOTE_RESERVE);
  const m = model(row, ctx, room);
  const pending = effectiveStatus(row, ctx.now) === "pending";
  return {
    parts: build(m),
    keyboard: pending ? { inline_keyboard: approvalButtons(row, texts) } : undefined,
    attachments:
      m.attachment === null
        ? []
        : [{ approvalId: row.id, filename: m.attachment.filename, content: m.attachment.content }],
  };
}

/**
 * A run's card: every request of the batch with its state. Each shown request carries its id, and
 * "Approve all" approves exactly the pending requests whose ids the pressed card shows — a request
 * that joined after the approver last saw the card is never approved unseen.
 */
export function batchCard(members: readonly ApprovalRow[], ctx: CardContext): Card {
  const first = members[0];
  if (first === undefined) return { parts: [], keyboard: undefined, attachments: [] };
  if (members.length === 1) return singleCard(first, ctx);
  const { texts, now } = ctx;
  const pending = members.filter((row) => effectiveStatus(row, now) === "pending");
  const head: Part[] = [
    [
      "🛂 ",
      b(texts.t("approval-batch-title", { n: members.length })),
      " · ",
      texts.t("approval-run"),
      " ",
      code(first.run_id ?? ""),
    ],
    [texts.t("approval-agent"), " ", b(first.agent)],
  ];
  const attachments: Card["attachments"] = [];
  const blocks: Part[][] = [];
  let used = renderHtml(joinLines(head), {
    redact: ctx.redactor.redactText,
    maxLength: Number.MAX_SAFE_INTEGER,
  }).visibleLength;
  let hidden = 0;
  members.forEach((row, index) => {
    const m = model(row, ctx, BATCH_MEMBER_ARGS_CHARS);
    const block: Part[] = joinLines([
      "",
      [
        `${index + 1}. `,
        code(row.tool),
        row.original_tool !== row.tool ? ` (${row.original_tool})` : "",
        " · ",
        code(row.id),
      ],
      m.reason === null ? null : [texts.t("approval-reason"), " ", i(m.reason)],
      ...flagLines(m, ctx),
      pre(m.argsPretty, "json"),
      argsNote(m, ctx),
      outcomeLine(row, ctx),
    ]);
    const size = renderHtml(block, {
      redact: ctx.redactor.redactText,
      maxLength: Number.MAX_SAFE_INTEGER,
    }).visibleLength;
    if (used + size > BATCH_CARD_BUDGET) {
      hidden += 1;
      return;
    }
    used += size;
    blocks.push(block);
    if (m.attachment !== null) {
      attachments.push({
        approvalId: row.id,
        filename: m.attachment.filename,
        content: m.attachment.content,
      });
    }
  });
  const parts: Part[] = joinLines([...head, ...blocks.map((block) => block)]);
  if (hidden > 0) parts.push("\n\n", i(texts.t("approval-batch-hidden", { n: hidden })));
  const keyboard: InlineKeyboardMarkup | undefined =
    pending.length === 0
      ? undefined
      : {
          inline_keyboard: [
            [
              {
                text: `✅ ${texts.t("approval-button-approve-all", { n: pending.length })}`,
                callback_data: encodeAb({ action: "ok", batchId: first.batch_id ?? "" }),
              },
              {
                text: `🔎 ${texts.t("approval-button-review")}`,
                callback_data: encodeAb({ action: "review", batchId: first.batch_id ?? "" }),
              },
            ],
          ],
        };
  return { parts, keyboard, attachments };
}

/** A run's card after "Review one by one": the requests moved to cards of their own. */
export function splitCard(members: readonly ApprovalRow[], by: string, ctx: CardContext): Card {
  const first = members[0];
  const { texts } = ctx;
  const parts: Part[] = joinLines([
    [
      "🛂 ",
      b(texts.t("approval-batch-title", { n: members.length })),
      " · ",
      texts.t("approval-run"),
      " ",
      code(first?.run_id ?? ""),
    ],
    i(texts.t("approval-batch-split", { name: by })),
    ...members.map((row, index) => [
      `${index + 1}. ${ICONS[effectiveStatus(row, ctx.now)]} `,
      code(row.tool),
      " · ",
      code(row.id),
    ]),
  ]);
  return { parts, keyboard: undefined, attachments: [] };
}

/** The ids of approvals a card's visible text shows (for "Approve all"). */
export function idsShown(text: string): Set<string> {
  return new Set(text.match(/\b[0-9A-Za-z]{16}\b/g) ?? []);
}

/** Caption of the attached arguments. */
export function attachmentCaption(row: Pick<ApprovalRow, "id" | "tool" | "agent">, texts: CardTexts): Part[] {
  return [texts.t("approval-args-file", { tool: row.tool, agent: row.agent }), " · ", code(row.id)];
}
