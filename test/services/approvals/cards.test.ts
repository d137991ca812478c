import { describe, expect, it } from "vitest";
import { htmlToText, renderHtml } from "../../../src/bot/format/index.ts";
import { promptRedactor } from "../../../src/guards/approvals/index.ts";
import { batchCard, type CardContext, idsShown, singleCard } from "../../../src/services/approvals/cards.ts";
import { createCardTexts, teamLanguage } from "../../../src/services/approvals/texts.ts";
import type { ApprovalRow } from "../../../src/services/approvals/types.ts";
import { configFrom } from "./support.ts";

const NOW = new Date("2026-03-10T14:00:00Z");

function ctx(language: "en" | "ru" = "en"): CardContext {
  return {
    texts: createCardTexts({ language, timeZone: "UTC" }),
    redactor: promptRedactor(["api_key", "password", "token", "secret"]),
    now: NOW,
    alwaysAllowTtlMs: 24 * 3600 * 1000,
  };
}

function row(overrides: Partial<ApprovalRow> = {}): ApprovalRow {
  return {
    seq: 1,
    id: "AbCdEfGhIjKlMnOp",
    agent: "coder",
    tool: "exec_command",
    original_tool: "Bash",
    args: { command: "ls -la" },
    args_hash: "x",
    flags: [],
    request_reason: "look around",
    run_id: null,
    batch_id: null,
    level: "unrestricted",
    level_source: "agent",
    rule: "require_approval",
    policy_reason: "exec_command is in security.tool_approval.require_approval",
    status: "pending",
    decided_by_kind: null,
    decided_by_id: null,
    decided_by_name: null,
    decision_reason: null,
    grant_id: null,
    api_key: "admin",
    idempotency_key: null,
    trace_id: null,
    card_ref: "approval:AbCdEfGhIjKlMnOp",
    args_document_sent: false,
    created_at: new Date(NOW.getTime() - 60_000),
    expires_at: new Date(NOW.getTime() + 4 * 60_000),
    decided_at: null,
    ...overrides,
  };
}

function text(parts: ReturnType<typeof singleCard>["parts"]): string {
  return htmlToText(renderHtml(parts).html);
}

describe("approval cards", () => {
  it("a huge argument is cut on the card (under 4096) and attached in full", () => {
    const content = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join("\n");
    const card = singleCard(row({ args: { path: "/x", content } }), ctx());
    const rendered = renderHtml(card.parts);
    expect(rendered.visibleLength).toBeLessThanOrEqual(4096);
    expect(rendered.truncated).toBe(false);
    expect(card.attachments).toHaveLength(1);
    expect(card.attachments[0]?.filename).toBe("args-AbCdEfGhIjKlMnOp.json");
    expect(JSON.parse(card.attachments[0]!.content).content).toBe(content);
    expect(text(card.parts)).toContain("args-AbCdEfGhIjKlMnOp.json");
  });

  it("one very long line shows how it begins", () => {
    const card = singleCard(row({ args: { cmd: `curl ${"a".repeat(9000)}` } }), ctx());
    expect(text(card.parts)).toContain('"cmd": "curl aaaa');
    expect(card.attachments).toHaveLength(1);
  });

  it("decided cards carry no buttons and say who, when and why", () => {
    const denied = singleCard(
      row({
        status: "denied",
        decided_by_kind: "human",
        decided_by_name: "Apu",
        decided_at: new Date("2026-03-10T14:03:00Z"),
        decision_reason: "too risky",
      }),
      ctx(),
    );
    expect(denied.keyboard).toBeUndefined();
    expect(text(denied.parts)).toContain("Denied by Apu at 14:03 UTC");
    expect(text(denied.parts)).toContain("too risky");
    const expired = singleCard(row({ expires_at: new Date(NOW.getTime() - 1) }), ctx());
    expect(expired.keyboard).toBeUndefined();
    expect(text(expired.parts)).toContain("Expired at");
  });

  it("speaks the team's language", () => {
    const card = singleCard(row(), ctx("ru"));
    expect(text(card.parts)).toContain("Нужно подтверждение");
    expect(card.keyboard?.inline_keyboard[0]?.[0]?.text).toBe("✅ Разрешить");
    const config = configFrom(`telegram:\n  operators: [{ id: 1, role: admin, language: ru }]\n`);
    expect(teamLanguage(config)).toBe("ru");
  });

  it("a run's card lists its requests with their ids; Approve all counts the pending ones", () => {
    const members = [
      row({ id: "AAAAAAAAAAAAAAA1", batch_id: "BBBBBBBBBBBBBBB1", run_id: "run-1" }),
      row({
        id: "AAAAAAAAAAAAAAA2",
        batch_id: "BBBBBBBBBBBBBBB1",
        run_id: "run-1",
        status: "approved",
        decided_by_kind: "human",
        decided_by_name: "Ada",
        decided_at: NOW,
      }),
      row({ id: "AAAAAAAAAAAAAAA3", batch_id: "BBBBBBBBBBBBBBB1", run_id: "run-1" }),
    ];
    const card = batchCard(members, ctx());
    const shown = text(card.parts);
    expect(shown).toContain("3 requests");
    expect([...idsShown(shown)].filter((id) => id.startsWith("AAAA"))).toEqual([
      "AAAAAAAAAAAAAAA1",
      "AAAAAAAAAAAAAAA2",
      "AAAAAAAAAAAAAAA3",
    ]);
    expect(card.keyboard?.inline_keyboard[0]?.map((b) => b.text)).toEqual([
      "✅ Approve all 2",
      "🔎 Review one by one",
    ]);
    expect(card.keyboard?.inline_keyboard[0]?.[0]).toMatchObject({ callback_data: "ab:ok:BBBBBBBBBBBBBBB1" });
  });

  it("a run's card that cannot show every request says so, and shows only whole requests", () => {
    const members = Array.from({ length: 30 }, (_, i) =>
      row({
        id: `AAAAAAAAAAAAA${String(i).padStart(3, "0")}`,
        batch_id: "BBBBBBBBBBBBBBB1",
        run_id: "r",
        args: { cmd: "x".repeat(300) },
      }),
    );
    const card = batchCard(members, ctx());
    const rendered = renderHtml(card.parts);
    expect(rendered.visibleLength).toBeLessThanOrEqual(4096);
    expect(rendered.truncated).toBe(false);
    expect(text(card.parts)).toContain("not shown here");
  });
});
