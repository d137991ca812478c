import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listAudit } from "../../src/store/audit.ts";
import type { StoredMessage, Update } from "../fake-bot-api/types.ts";
import {
  APPROVALS_CHAT,
  BASE_YAML,
  configFrom,
  FakeClock,
  OPERATORS,
} from "../services/approvals/support.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { buttonTexts, startTelegramBed, type TelegramBed, until } from "./approvals-support.ts";

// Approvals in Telegram end to end: the HTTP API queues the card, the outbox worker delivers it to
// the fake Bot API, the bot (polling it) handles presses and replies; real Postgres throughout.

let tdb: TestDatabase;
let clock: FakeClock;
let bed: TelegramBed;

beforeAll(async () => {
  tdb = await createTestDatabase();
});
afterAll(async () => {
  await tdb?.drop();
});
beforeEach(async () => {
  clock = new FakeClock();
  await tdb.db.query(
    "truncate approvals, approval_batches, approval_grants, approval_reason_prompts, approval_conversations, outbox, telegram_messages, delivery_chats, audit_log, coord_counters cascade",
  );
  bed = await startTelegramBed({ db: tdb.db, url: tdb.url, config: configFrom(BASE_YAML), clock });
});
afterEach(async () => {
  await bed?.close();
  // Whatever happened, the bot token never reached a log line.
  expect(bed.logs.join("")).not.toContain(bed.fake.token);
});

type User = (typeof OPERATORS)[keyof typeof OPERATORS];

/** Presses a button and returns the toast it was answered with. */
async function press(user: User, message: StoredMessage, text: string): Promise<string | undefined> {
  const update = bed.fake.pressButton({
    from: user,
    chatId: message.chat_id,
    messageId: message.message_id,
    text,
  });
  return toastOf(update);
}

async function pressData(user: User, message: StoredMessage, data: string): Promise<string | undefined> {
  const update = bed.fake.injectCallbackQuery({
    from: user,
    chatId: message.chat_id,
    messageId: message.message_id,
    data,
  });
  return toastOf(update);
}

async function toastOf(update: Update): Promise<string | undefined> {
  const id = update.callback_query?.id;
  const call = await bed.fake.waitFor(
    (c) => c.method === "answerCallbackQuery" && c.params.callback_query_id === id && c.status === 200,
  );
  return call.params.text as string | undefined;
}

function current(message: StoredMessage): StoredMessage {
  return bed.fake.messages(message.chat_id).find((m) => m.message_id === message.message_id)!;
}

async function edited(message: StoredMessage, contains: string): Promise<StoredMessage> {
  return until(
    () => {
      const now = current(message);
      return now.text?.includes(contains) ? now : undefined;
    },
    `the card to say ${JSON.stringify(contains)}`,
  );
}

async function request(body: object) {
  const res = await bed.post(body);
  expect(res.status).toBe(202);
  const id = res.body.id as string;
  const card = await bed.card(`approval:${id}`);
  return { id, card };
}

describe("the approval prompt", () => {
  it("shows agent, run, tool, reason, redacted pretty arguments, risk flags and expiry, with four buttons", async () => {
    const { id, card } = await request({
      agent: "coder",
      tool: "Bash",
      args: { command: "sudo: rm -rf /var/cache <old>", env: { API_TOKEN: "tok-123456789", mode: "fast" } },
      reason: "free disk space",
    });
    const text = card.text ?? "";
    expect(text).toContain("Approval needed · exec_command");
    expect(text).toContain("Agent: coder");
    expect(text).toContain("(sent as Bash)");
    expect(text).toContain("Reason: free disk space");
    expect(text).toContain('"sudo:" in args.command');
    expect(text).toContain('"rm -rf" in args.command');
    // Pretty-printed, escaped (the fake parsed the HTML), redacted.
    expect(text).toContain('"command": "sudo: rm -rf /var/cache <old>"');
    expect(text).toContain('"API_TOKEN": "[REDACTED]"');
    expect(text).not.toContain("tok-123456789");
    expect(text).toContain("Expires at");
    expect(text).toContain(id);
    expect(card.entities.some((e) => e.type === "pre")).toBe(true);
    expect(buttonTexts(card)).toEqual([
      ["✅ Approve", "❌ Deny"],
      ["✍️ Deny with reason", "♾ Always allow"],
    ]);
    expect(card.disable_notification).toBe(false);
  });

  it("arguments that do not fit are cut with a note and attached in full as args-<id>.json", async () => {
    const lines = Array.from({ length: 400 }, (_, i) => `line ${i}: ${"x".repeat(40)}`);
    const { id, card } = await request({
      agent: "coder",
      tool: "write_file",
      args: { path: "/srv/app/config.yaml", content: lines.join("\n"), password: "hunter2hunter2" },
    });
    expect((card.text ?? "").length).toBeLessThanOrEqual(4096);
    expect(card.text).toContain(`args-${id}.json`);
    const doc = await until(
      () => bed.chatMessages().find((m) => m.document?.file_name === `args-${id}.json`),
      "the arguments document",
    );
    const content = Buffer.from(doc.document!.content as Buffer).toString("utf8");
    const parsed = JSON.parse(content);
    expect(parsed.content).toBe(lines.join("\n"));
    expect(parsed.password).toBe("[REDACTED]");
    expect(content).not.toContain("hunter2hunter2");
  });
});

describe("buttons", () => {
  it("Approve: the agent's long poll gets it, the card shows who and when, buttons gone", async () => {
    const { id, card } = await request({
      agent: "coder",
      tool: "exec_command",
      args: { cmd: "make deploy" },
    });
    const polling = bed.app.inject({
      method: "GET",
      url: `/v1/approvals/${id}?wait=30`,
      headers: { authorization: `Bearer pw_admin_9f8e7d6c5b4a39281706` },
    });
    expect(await press(OPERATORS.approver, card, "✅ Approve")).toContain("Approved");
    const answer = (await polling).json();
    expect(answer).toMatchObject({ status: "approved", by: "human", decided_by: { name: "Apu" } });
    const after = await edited(card, "Approved by Apu");
    expect(buttonTexts(after)).toEqual([]);
  });

  it("a viewer's press gets a toast and an audit row, and changes nothing", async () => {
    const { id, card } = await request({ agent: "coder", tool: "exec_command", args: { cmd: "x" } });
    expect(await press(OPERATORS.viewer, card, "✅ Approve")).toContain("approver role");
    expect((await bed.get(`/v1/approvals/${id}`)).status).toBe("pending");
    const audit = await listAudit(tdb.db, { action: "approval.press_refused" });
    expect(audit[0]).toMatchObject({ actor_id: String(OPERATORS.viewer.id), target: `approval:${id}` });
  });

  it("a stranger's press is refused and audited", async () => {
    const { id, card } = await request({ agent: "coder", tool: "exec_command", args: { cmd: "x" } });
    expect(await press(OPERATORS.stranger, card, "❌ Deny")).toContain("only serves");
    expect((await bed.get(`/v1/approvals/${id}`)).status).toBe("pending");
    expect(await listAudit(tdb.db, { action: "telegram.refused" })).toHaveLength(1);
  });

  it("two approvers pressing at once: one decision; the other hears who decided", async () => {
    const { id, card } = await request({ agent: "coder", tool: "exec_command", args: { cmd: "x" } });
    const toasts = await Promise.all([
      press(OPERATORS.approver, card, "✅ Approve"),
      press(OPERATORS.approver2, card, "❌ Deny"),
    ]);
    const status = (await bed.get(`/v1/approvals/${id}`)).status;
    const winner = status === "approved" ? 0 : 1;
    expect(toasts[winner]).toMatch(/^(Approved|Denied)\./);
    expect(toasts[1 - winner]).toMatch(/^Already (approved|denied) by (Apu|Bea)/);
    expect(await listAudit(tdb.db, { action: "approval.decided" })).toHaveLength(1);
  });

  it("expiry edits the card; a late press gets the toast and changes nothing", async () => {
    const { id, card } = await request({
      agent: "coder",
      tool: "exec_command",
      args: { cmd: "x" },
      timeout_s: 60,
    });
    clock.advance(60_000);
    expect((await bed.get(`/v1/approvals/${id}`)).status).toBe("expired");
    expect(await press(OPERATORS.approver, card, "✅ Approve")).toContain("expired");
    await bed.module.service.expireDue();
    const after = await edited(card, "Expired at");
    expect(after.text).toContain("nobody decided");
    expect(buttonTexts(after)).toEqual([]);
    expect((await bed.get(`/v1/approvals/${id}`)).status).toBe("expired");
  });

  it("forged or stale callback data gets a toast and changes nothing", async () => {
    const { id, card } = await request({ agent: "coder", tool: "exec_command", args: { cmd: "x" } });
    expect(await pressData(OPERATORS.approver, card, "ap:ok:AAAAAAAAAAAAAAAA")).toContain("no longer valid");
    expect(await pressData(OPERATORS.approver, card, "ap:ok:../../etc")).toContain("no longer valid");
    expect(await pressData(OPERATORS.approver, card, `ap:nuke:${id}`)).toContain("no longer valid");
    expect((await bed.get(`/v1/approvals/${id}`)).status).toBe("pending");
  });

  it("Always allow grants this exact call; /approvals lists the grant and revokes it", async () => {
    const args = { cmd: "systemctl restart api" };
    const { card } = await request({ agent: "coder", tool: "exec_command", args });
    expect(await press(OPERATORS.admin, card, "♾ Always allow")).toContain("without asking until");
    await edited(card, "always allowed");
    const again = await bed.post({ agent: "coder", tool: "exec_command", args });
    expect(again).toMatchObject({ status: 200, body: { status: "approved", rule: "always_allow" } });

    bed.fake.injectMessage({ from: OPERATORS.admin, text: "/approvals" });
    const list = await until(
      () => bed.fake.messages(OPERATORS.admin.id).find((m) => m.outgoing && m.text?.includes("grants")),
      "the /approvals answer",
    );
    expect(list.text).toContain("systemctl restart api");
    expect(list.text).toContain("granted by Ada");
    expect(await press(OPERATORS.admin, list, "🗑 Revoke G1")).toContain("needs a human again");
    const after = await bed.post({ agent: "coder", tool: "exec_command", args });
    expect(after.status).toBe(202);
    expect(await listAudit(tdb.db, { action: "approval.grant_revoked" })).toHaveLength(1);
  });

  it("/approvals lists pending requests with their buttons, which decide", async () => {
    const { id, card } = await request({ agent: "coder", tool: "exec_command", args: { cmd: "uptime" } });
    bed.fake.injectMessage({ from: OPERATORS.approver, text: "/approvals" });
    const list = await until(
      () =>
        bed.fake
          .messages(OPERATORS.approver.id)
          .find((m) => m.outgoing && m.text?.includes("Pending approvals: 1")),
      "the /approvals answer",
    );
    expect(list.text).toContain('{"cmd":"uptime"}');
    expect(buttonTexts(list)[0]).toEqual(["✅ 1", "❌ 1", "✍️ 1", "♾ 1"]);
    expect(await press(OPERATORS.approver, list, "❌ 1")).toContain("Denied");
    expect((await bed.get(`/v1/approvals/${id}`)).status).toBe("denied");
    await edited(card, "Denied by Apu");
  });
});

describe("/approvals pages", () => {
  /** `count` pending requests, oldest first: job-01 .. job-NN (zero-padded: no id contains another). */
  async function pendingRequests(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let n = 1; n <= count; n++) {
      const res = await bed.post({
        agent: "coder",
        tool: "exec_command",
        args: { cmd: `job-${String(n).padStart(2, "0")}` },
      });
      expect(res.status).toBe(202);
      ids.push(res.body.id as string);
    }
    return ids;
  }

  async function askForList(user: User): Promise<StoredMessage> {
    bed.fake.injectMessage({ from: user, text: "/approvals" });
    return until(
      () => bed.fake.messages(user.id).find((m) => m.outgoing && m.text?.includes("Pending approvals")),
      "the /approvals answer",
    );
  }

  /** The jobs a page shows, in order. */
  function jobs(message: StoredMessage): string[] {
    return [...(message.text ?? "").matchAll(/job-\d\d/g)].map((m) => m[0]);
  }

  const job = (n: number) => `job-${String(n).padStart(2, "0")}`;
  const range = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, k) => job(from - k));

  it("20 pending: eight a page, newest first; next and prev edit the same message; buttons decide on every page", async () => {
    const ids = await pendingRequests(20);
    const list = await askForList(OPERATORS.approver);
    expect(list.text).toContain("Pending approvals: 20");
    expect(list.text).toContain("Page 1 of 3");
    expect(jobs(list)).toEqual(range(20, 13));
    const first = buttonTexts(list);
    expect(first).toHaveLength(9);
    expect(first[0]).toEqual(["✅ 1", "❌ 1", "✍️ 1", "♾ 1"]);
    expect(first[8]).toEqual(["Page 2 ›"]);
    // The grants live on the last page; this one says where.
    expect(list.text).toContain('"Always allow" grants: 0');

    expect(await press(OPERATORS.approver, list, "Page 2 ›")).toBeUndefined();
    const second = await edited(list, "Page 2 of 3");
    expect(second.message_id).toBe(list.message_id);
    expect(bed.fake.messages(OPERATORS.approver.id).filter((m) => m.outgoing)).toHaveLength(1);
    expect(jobs(second)).toEqual(range(12, 5));
    expect(second.text).toContain("9. coder");
    expect(buttonTexts(second)[0]).toEqual(["✅ 9", "❌ 9", "✍️ 9", "♾ 9"]);
    expect(buttonTexts(second).at(-1)).toEqual(["‹ Page 1", "Page 3 ›"]);

    expect(await press(OPERATORS.approver, second, "Page 3 ›")).toBeUndefined();
    const last = await edited(list, "Page 3 of 3");
    expect(jobs(last)).toEqual(range(4, 1));
    expect(last.text).toContain("17. coder");
    const lastButtons = buttonTexts(last);
    expect(lastButtons).toHaveLength(5);
    expect(lastButtons.at(-1)).toEqual(["‹ Page 2"]);
    expect(lastButtons.flat().some((text) => text.includes("›"))).toBe(false);

    // A decision button of the last page decides the request that page shows (job-04).
    expect(await press(OPERATORS.approver, last, "✅ 17")).toContain("Approved");
    expect((await bed.get(`/v1/approvals/${ids[3]}`)).status).toBe("approved");

    expect(await press(OPERATORS.approver, last, "‹ Page 2")).toBeUndefined();
    const back = await edited(list, "Page 2 of 3");
    // Each press reads the list afresh: job-04 is decided, so 19 are left.
    expect(back.text).toContain("Pending approvals: 19");
    expect(jobs(back)).toEqual(range(12, 5));
    await press(OPERATORS.approver, back, "Page 3 ›");
    const shorter = await edited(list, "job-03");
    expect(jobs(shorter)).toEqual(range(3, 1));
  });

  it("pending first, then grants, in one sequence; a grant's revoke button works on its page", async () => {
    const ids = await pendingRequests(12);
    const actor = { id: OPERATORS.admin.id, name: "Ada" };
    // Three grants (from job-01..03), leaving nine pending: page 1 has 8 pending, page 2 the ninth
    // and the three grants.
    for (const id of ids.slice(0, 3)) {
      await bed.module.service.decide(id, "always", actor);
      clock.advance(1_000);
    }
    const list = await askForList(OPERATORS.admin);
    expect(list.text).toContain("Pending approvals: 9");
    expect(list.text).toContain('"Always allow" grants: 3');
    expect(list.text).toContain("On page 2.");
    expect(jobs(list)).toEqual(range(12, 5));

    await press(OPERATORS.admin, list, "Page 2 ›");
    const second = await edited(list, "Page 2 of 2");
    // The ninth pending request, then the grants newest first (G1 is job-03's).
    expect(jobs(second)).toEqual([job(4), job(3), job(2), job(1)]);
    expect(second.text).toContain("9. coder");
    expect(second.text).toContain("G1. coder");
    expect(buttonTexts(second)).toEqual([
      ["✅ 9", "❌ 9", "✍️ 9", "♾ 9"],
      ["🗑 Revoke G1"],
      ["🗑 Revoke G2"],
      ["🗑 Revoke G3"],
      ["‹ Page 1"],
    ]);
    expect(await press(OPERATORS.admin, second, "🗑 Revoke G3")).toContain("needs a human again");
    expect(await listAudit(tdb.db, { action: "approval.grant_revoked" })).toHaveLength(1);
  });

  it("a viewer pages through the list without decision buttons", async () => {
    await pendingRequests(20);
    const list = await askForList(OPERATORS.viewer);
    expect(jobs(list)).toEqual(range(20, 13));
    expect(buttonTexts(list)).toEqual([["Page 2 ›"]]);
    expect(await press(OPERATORS.viewer, list, "Page 2 ›")).toBeUndefined();
    const second = await edited(list, "Page 2 of 3");
    expect(jobs(second)).toEqual(range(12, 5));
    expect(buttonTexts(second)).toEqual([["‹ Page 1", "Page 3 ›"]]);
    await press(OPERATORS.viewer, second, "Page 3 ›");
    const last = await edited(list, "Page 3 of 3");
    expect(buttonTexts(last)).toEqual([["‹ Page 2"]]);
  });

  it("in a group, a viewer turning an approver's list keeps its decision buttons (still refused to the viewer)", async () => {
    const ids = await pendingRequests(10);
    const group = { id: -1007000000777, type: "group" as const, title: "ops" };
    bed.fake.injectMessage({ from: OPERATORS.approver, chat: group, text: "/approvals" });
    const list = await until(
      () => bed.fake.messages(group.id).find((m) => m.outgoing && m.text?.includes("Pending approvals")),
      "the /approvals answer in the group",
    );
    await press(OPERATORS.viewer, list, "Page 2 ›");
    const second = await edited(list, "Page 2 of 2");
    expect(buttonTexts(second)[0]).toEqual(["✅ 9", "❌ 9", "✍️ 9", "♾ 9"]);
    expect(await press(OPERATORS.viewer, second, "✅ 9")).toContain("approver");
    expect((await bed.get(`/v1/approvals/${ids[1]}`)).status).toBe("pending");
  });

  it("a stale or garbled page press gets a toast, never an error", async () => {
    await pendingRequests(20);
    const list = await askForList(OPERATORS.approver);

    // Past the end (forged, or the list got shorter): the last page, and a toast saying so.
    expect(await pressData(OPERATORS.approver, list, "pg:approvals:99999")).toContain("showing page 3 of 3");
    const last = await edited(list, "Page 3 of 3");
    expect(jobs(last)).toEqual(range(4, 1));
    expect(await pressData(OPERATORS.approver, list, "pg:approvals:x")).toContain("no longer valid");
    expect(await pressData(OPERATORS.approver, list, "pg:approvals:-1")).toContain("no longer valid");
    expect(await pressData(OPERATORS.approver, list, "pg:approvals:123456")).toContain("no longer valid");
    // The page already shown: nothing to edit, answered quietly.
    expect(await pressData(OPERATORS.approver, list, "pg:approvals:2")).toBeUndefined();

    // The list was deleted meanwhile: Telegram refuses the edit; the press still gets its toast.
    bed.fake.failNext("editMessageText", {
      status: 400,
      description: "Bad Request: message to edit not found",
    });
    expect(await pressData(OPERATORS.approver, list, "pg:approvals:0")).toContain("no longer valid");
    expect(bed.logs.join("")).not.toMatch(/update handler failed|Telegram refused a call while handling/);
    expect(current(list).text).toContain("Page 3 of 3");
  });
});

describe("Deny with reason", () => {
  async function askReason(user: User) {
    const { id, card } = await request({
      agent: "coder",
      tool: "exec_command",
      args: { cmd: "drop table users" },
    });
    expect(await press(user, card, "✍️ Deny with reason")).toContain("Reply to my question");
    const prompt = await until(
      () => bed.chatMessages().find((m) => m.reply_markup && "force_reply" in (m.reply_markup as object)),
      "the ForceReply question",
    );
    const picker = await until(
      () => bed.chatMessages().find((m) => m.text?.startsWith("Quick reasons")),
      "the quick-reason picker",
    );
    return { id, card, prompt, picker };
  }

  it("asks that approver with a selective ForceReply, ignores other users, denies with the reply", async () => {
    const { id, card, prompt, picker } = await askReason(OPERATORS.approver);
    expect(prompt.reply_markup).toMatchObject({ force_reply: true, selective: true });
    // The question mentions the approver (selective ForceReply targets them alone).
    expect(prompt.entities.some((e) => e.type === "text_mention" || e.type === "text_link")).toBe(true);
    expect(prompt.text).toContain("Apu, why deny");

    // Another approver's reply is ignored.
    const stray = bed.fake.injectMessage({
      from: OPERATORS.approver2,
      chat: { id: APPROVALS_CHAT, type: "supergroup", title: "approvals" },
      text: "because I say so",
      replyTo: prompt.message_id,
    });
    await bed.fake.waitFor(
      (c) => c.method === "getUpdates" && (c.params.offset as number) > (stray.update_id ?? 0),
    );
    expect((await bed.get(`/v1/approvals/${id}`)).status).toBe("pending");

    bed.fake.injectMessage({
      from: OPERATORS.approver,
      chat: { id: APPROVALS_CHAT, type: "supergroup", title: "approvals" },
      text: "it drops production data",
      replyTo: prompt.message_id,
    });
    const answer = await until(async () => {
      const view = await bed.get(`/v1/approvals/${id}`);
      return view.status === "denied" ? view : undefined;
    }, "the denial");
    expect(answer).toMatchObject({
      by: "human",
      decided_by: { name: "Apu" },
      reason: "it drops production data",
    });
    const after = await edited(card, "Denied by Apu");
    expect(after.text).toContain("it drops production data");
    // The question and the picker are tidied up.
    await until(() => current(prompt).deleted && current(picker).deleted, "the question to be deleted");
  });

  it("a quick reason denies with that reason; the picker answers only its approver", async () => {
    const { id, picker } = await askReason(OPERATORS.approver);
    expect(buttonTexts(picker).flat()).toEqual([
      "Too risky",
      "Wrong target or arguments",
      "Not now, ask again later",
      "Talk to a person first",
      "↩️ Cancel, don't deny yet",
    ]);
    // Someone else pressing it: not theirs.
    expect(await press(OPERATORS.approver2, picker, "Too risky")).toContain("no longer valid");
    expect((await bed.get(`/v1/approvals/${id}`)).status).toBe("pending");
    expect(await press(OPERATORS.approver, picker, "Too risky")).toContain(
      "Denied with the reason: Too risky",
    );
    expect(await bed.get(`/v1/approvals/${id}`)).toMatchObject({ status: "denied", reason: "Too risky" });
  });

  it("the question survives a restart of the bot (conversation state in Postgres)", async () => {
    const { id, prompt } = await askReason(OPERATORS.approver);
    await bed.close();
    bed = await startTelegramBed({ db: tdb.db, url: tdb.url, config: configFrom(BASE_YAML), clock });
    // The new fake Bot API has none of the old messages: answer the question through the update alone.
    bed.fake.injectUpdate({
      message: {
        message_id: 9001,
        date: Math.floor(Date.now() / 1000),
        chat: { id: APPROVALS_CHAT, type: "supergroup", title: "approvals" },
        from: { ...OPERATORS.approver, is_bot: false },
        text: "after the restart: no",
        reply_to_message: {
          message_id: prompt.message_id,
          date: prompt.date,
          chat: { id: APPROVALS_CHAT, type: "supergroup", title: "approvals" },
          from: bed.fake.botUser,
          text: prompt.text ?? "",
        },
      },
    } as Omit<Update, "update_id">);
    const answer = await until(async () => {
      const view = await bed.get(`/v1/approvals/${id}`);
      return view.status === "denied" ? view : undefined;
    }, "the denial after the restart");
    expect(answer.reason).toBe("after the restart: no");
  });

  it("a decision made elsewhere closes the question; a late reply is told who decided", async () => {
    const { id, card, prompt } = await askReason(OPERATORS.approver);
    expect(await press(OPERATORS.admin, card, "✅ Approve")).toContain("Approved");
    await until(() => current(prompt).deleted, "the question to be deleted");
    expect((await bed.get(`/v1/approvals/${id}`)).status).toBe("approved");
  });
});

describe("runs: requests sharing a run_id", () => {
  it("join one card with Approve all / Review one by one; Approve all approves what the card shows", async () => {
    const first = await bed.post({
      agent: "coder",
      tool: "exec_command",
      args: { cmd: "step 1" },
      run_id: "run-7",
    });
    const second = await bed.post({
      agent: "coder",
      tool: "delete_file",
      args: { path: "/tmp/a" },
      run_id: "run-7",
    });
    const ids = [first.body.id as string, second.body.id as string];
    const batchId = (await tdb.db.query("select batch_id from approvals where id = $1", [ids[0]])).rows[0]
      .batch_id;
    const card = await bed.card(`approval-batch:${batchId}`);
    const full = await edited(card, "2 requests");
    expect(full.text).toContain(ids[0]);
    expect(full.text).toContain(ids[1]);
    expect(buttonTexts(full)).toEqual([["✅ Approve all 2", "🔎 Review one by one"]]);
    // Only one card in the chat for the run.
    expect(bed.chatMessages().filter((m) => m.text?.includes("run-7"))).toHaveLength(1);

    expect(await press(OPERATORS.approver, full, "✅ Approve all 2")).toContain("Approved 2");
    for (const id of ids) expect((await bed.get(`/v1/approvals/${id}`)).status).toBe("approved");
    const after = await edited(card, "Approved by Apu");
    expect(buttonTexts(after)).toEqual([]);
  });

  it("Review one by one puts each pending request on a card of its own", async () => {
    const first = await bed.post({
      agent: "coder",
      tool: "exec_command",
      args: { cmd: "a" },
      run_id: "run-8",
    });
    await bed.post({ agent: "coder", tool: "exec_command", args: { cmd: "b" }, run_id: "run-8" });
    const batchId = (await tdb.db.query("select batch_id from approvals where id = $1", [first.body.id]))
      .rows[0].batch_id;
    const card = await edited(await bed.card(`approval-batch:${batchId}`), "2 requests");
    expect(await press(OPERATORS.approver, card, "🔎 Review one by one")).toContain("one by one");
    const own = await bed.card(`approval:${first.body.id}`);
    expect(buttonTexts(own)[0]).toEqual(["✅ Approve", "❌ Deny"]);
    expect(await press(OPERATORS.approver, own, "❌ Deny")).toContain("Denied");
    await edited(card, "one by one");
  });

  it("a request that joined after the card was last shown is not approved by an old Approve all", async () => {
    const first = await bed.post({
      agent: "coder",
      tool: "exec_command",
      args: { cmd: "a" },
      run_id: "run-9",
    });
    const second = await bed.post({
      agent: "coder",
      tool: "exec_command",
      args: { cmd: "b" },
      run_id: "run-9",
    });
    const batchId = (await tdb.db.query("select batch_id from approvals where id = $1", [first.body.id]))
      .rows[0].batch_id;
    const card = await edited(await bed.card(`approval-batch:${batchId}`), "2 requests");
    // Stop delivery so the third request's edit cannot reach the chat before the press.
    await bed.worker.stop();
    const third = await bed.post({
      agent: "coder",
      tool: "exec_command",
      args: { cmd: "c" },
      run_id: "run-9",
    });
    const toast = await press(OPERATORS.approver, card, "✅ Approve all 2");
    expect(toast).toContain("Approved 2");
    expect(toast).toContain("1 newer request was not on this card");
    expect((await bed.get(`/v1/approvals/${second.body.id}`)).status).toBe("approved");
    expect((await bed.get(`/v1/approvals/${third.body.id}`)).status).toBe("pending");
  });
});
