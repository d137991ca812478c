import { InputFile } from "grammy";
import { afterEach, describe, expect, it } from "vitest";
import type { ConsoleMessage, ConsoleSnapshot } from "../../src/console/index.ts";
import { LOCAL_CHATS, LOCAL_OPERATORS } from "../../src/console/local.ts";
import { type ConsoleApp, openEvents, postJson, startConsoleApp, TINY_PNG } from "./support.ts";

const ALERTS = LOCAL_CHATS.find((chat) => chat.name === "alerts")!.id;
const APPROVALS = LOCAL_CHATS.find((chat) => chat.name === "approvals")!.id;
const ADMIN = LOCAL_OPERATORS[0]!;
const APPROVER = LOCAL_OPERATORS[1]!;

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function start(opts: Parameters<typeof startConsoleApp>[0] = {}): Promise<ConsoleApp> {
  const app = await startConsoleApp(opts);
  cleanup.push(() => app.close());
  return app;
}

async function events(app: ConsoleApp, headers: Record<string, string> = {}) {
  const stream = await openEvents(`${app.url}/console/events`, headers);
  cleanup.push(() => stream.close());
  return stream;
}

const isMessage = (predicate: (m: ConsoleMessage) => boolean) => (e: { event: string; data: unknown }) =>
  e.event === "message" && predicate(e.data as ConsoleMessage);

describe("console page", () => {
  it("is served with a strict content security policy and no inline script", async () => {
    const app = await start();
    const page = await fetch(`${app.url}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const html = await page.text();
    expect(html).toContain('src="/console/assets/console.js"');
    expect(html).not.toMatch(/<script>(?!<\/script>)/);
    const script = await fetch(`${app.url}/console/assets/console.js`);
    expect(script.headers.get("content-type")).toMatch(/javascript/);
    expect(await script.text()).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
    expect((await fetch(`${app.url}/console/assets/console.css`)).status).toBe(200);
  });
});

describe("console stream and actions", () => {
  it("starts with a snapshot of the chats, operators and messages", async () => {
    const app = await start();
    await app.api.sendMessage(ALERTS, "<b>already here</b>", { parse_mode: "HTML" });
    const stream = await events(app);
    const snapshot = (await stream.next((e) => e.event === "snapshot")).data as ConsoleSnapshot;
    expect(snapshot.operators.map((op) => op.role)).toEqual(["admin", "approver", "viewer"]);
    expect(snapshot.chats.map((chat) => chat.name)).toEqual([
      "alerts",
      "approvals",
      "digest",
      "direct",
      "direct",
      "direct",
    ]);
    expect(snapshot.messages).toEqual([
      expect.objectContaining({
        chatId: ALERTS,
        text: "already here",
        entities: [{ type: "bold", offset: 0, length: 12 }],
      }),
    ]);
  });

  it("sends what an operator types as a user message (never parsed as HTML), and streams it", async () => {
    const app = await start();
    const stream = await events(app);
    const typed = "<b>not bold</b> & <img src=x onerror=alert(1)> /help";
    const sent = await postJson(`${app.url}/console/api/messages`, {
      chatId: ALERTS,
      operatorId: APPROVER.id,
      text: typed,
    });
    expect(sent.status).toBe(200);
    const update = app.local.api.pendingUpdates().at(-1);
    expect(update?.message).toMatchObject({
      text: typed,
      from: { id: APPROVER.id, first_name: APPROVER.name },
      chat: { id: ALERTS, type: "supergroup" },
    });
    const shown = await stream.next(isMessage((m) => m.text === typed));
    const message = shown.data as ConsoleMessage;
    expect(message.outgoing).toBe(false);
    expect(message.entities.map((e) => e.type)).toEqual(["bot_command"]);
  });

  it("sends replies (the answer to a ForceReply prompt)", async () => {
    const app = await start();
    const prompt = await app.api.sendMessage(APPROVALS, "Why deny?", {
      reply_markup: { force_reply: true, selective: true },
    });
    const sent = await postJson(`${app.url}/console/api/messages`, {
      chatId: APPROVALS,
      operatorId: APPROVER.id,
      text: "too risky on a Friday",
      replyTo: prompt.message_id,
    });
    expect(sent.status).toBe(200);
    expect(app.local.api.pendingUpdates().at(-1)?.message?.reply_to_message?.message_id).toBe(
      prompt.message_id,
    );
  });

  it("shows the bot's sends, edits and deletions as they happen", async () => {
    const app = await start();
    const stream = await events(app);
    const sent = await app.api.sendMessage(ALERTS, "⚠️ <b>Disk</b> 91 %", {
      parse_mode: "HTML",
      disable_notification: true,
      reply_markup: {
        inline_keyboard: [[{ text: "Acknowledge", callback_data: "al:ack:AAAAAAAAAAAAAAAA" }]],
      },
    });
    const first = (await stream.next(isMessage((m) => m.id === sent.message_id))).data as ConsoleMessage;
    expect(first).toMatchObject({
      text: "⚠️ Disk 91 %",
      outgoing: true,
      silent: true,
      keyboard: [[{ text: "Acknowledge", data: "al:ack:AAAAAAAAAAAAAAAA" }]],
    });
    await app.api.editMessageText(ALERTS, sent.message_id, "✅ Disk 91 % · ×3", { parse_mode: "HTML" });
    const edited = (await stream.next(isMessage((m) => m.id === sent.message_id && m.editDate !== undefined)))
      .data as ConsoleMessage;
    expect(edited.text).toBe("✅ Disk 91 % · ×3");
    expect(edited.keyboard).toBeUndefined();
    await app.api.deleteMessage(ALERTS, sent.message_id);
    await stream.next(isMessage((m) => m.id === sent.message_id && m.deleted));
  });

  it("presses a button as a real callback query and streams the bot's toast", async () => {
    const app = await start();
    const stream = await events(app);
    const prompt = await app.api.sendMessage(APPROVALS, "Approve exec_command?", {
      reply_markup: {
        inline_keyboard: [
          [
            { text: "Approve", callback_data: "ap:ok:AAAAAAAAAAAAAAAA" },
            { text: "Deny", callback_data: "ap:no:AAAAAAAAAAAAAAAA" },
          ],
        ],
      },
    });
    const pressed = await postJson(`${app.url}/console/api/callbacks`, {
      chatId: APPROVALS,
      messageId: prompt.message_id,
      operatorId: APPROVER.id,
      data: "ap:ok:AAAAAAAAAAAAAAAA",
    });
    expect(pressed.status).toBe(200);
    const query = app.local.api.pendingUpdates().at(-1)?.callback_query;
    expect(query).toMatchObject({
      id: pressed.body.callbackQueryId,
      data: "ap:ok:AAAAAAAAAAAAAAAA",
      from: { id: APPROVER.id },
      message: { message_id: prompt.message_id, chat: { id: APPROVALS } },
    });
    await app.api.answerCallbackQuery(String(pressed.body.callbackQueryId), { text: "Approved" });
    const answer = await stream.next((e) => e.event === "answer");
    expect(answer.data).toEqual({
      callbackQueryId: pressed.body.callbackQueryId,
      text: "Approved",
      showAlert: false,
    });
  });

  it("refuses data that is not on a button of the message now (like Telegram)", async () => {
    const app = await start();
    const prompt = await app.api.sendMessage(APPROVALS, "Approve?", {
      reply_markup: { inline_keyboard: [[{ text: "Approve", callback_data: "ap:ok:AAAAAAAAAAAAAAAA" }]] },
    });
    const forged = await postJson(`${app.url}/console/api/callbacks`, {
      chatId: APPROVALS,
      messageId: prompt.message_id,
      operatorId: ADMIN.id,
      data: "ap:always:AAAAAAAAAAAAAAAA",
    });
    expect(forged.status).toBe(409);
    await app.api.editMessageText(APPROVALS, prompt.message_id, "Approved by Abe");
    const stale = await postJson(`${app.url}/console/api/callbacks`, {
      chatId: APPROVALS,
      messageId: prompt.message_id,
      operatorId: ADMIN.id,
      data: "ap:ok:AAAAAAAAAAAAAAAA",
    });
    expect(stale.status).toBe(409);
    expect(stale.body.message).toMatch(/no longer on the message/);
    expect(app.local.api.pendingUpdates()).toHaveLength(0);
  });

  it("acts only as a local operator, in the group chats or that operator's own private chat", async () => {
    const app = await start();
    const send = (body: Record<string, unknown>) =>
      postJson(`${app.url}/console/api/messages`, {
        chatId: ALERTS,
        operatorId: ADMIN.id,
        text: "hi",
        ...body,
      });
    expect((await send({ operatorId: 4242 })).status).toBe(400);
    expect((await send({ chatId: APPROVER.id })).status).toBe(400);
    expect((await send({ chatId: -100123 })).status).toBe(400);
    expect((await send({ text: "" })).status).toBe(400);
    expect((await send({ text: "x".repeat(4097) })).status).toBe(400);
    expect((await send({ text: "   " })).body.message).toMatch(/empty/);
    expect((await send({ chatId: ADMIN.id })).status).toBe(200);
    expect(app.local.api.pendingUpdates()).toHaveLength(1);
  });

  it("lists the command menu the bot published for the operator", async () => {
    const app = await start();
    await app.api.setMyCommands([{ command: "start", description: "Start" }]);
    await app.api.setMyCommands([{ command: "mode_set", description: "Set the mode" }], {
      scope: { type: "chat", chat_id: ADMIN.id },
    });
    const admin = await fetch(`${app.url}/console/api/commands?operatorId=${ADMIN.id}`);
    expect(await admin.json()).toEqual({ commands: [{ command: "mode_set", description: "Set the mode" }] });
    const approver = await fetch(`${app.url}/console/api/commands?operatorId=${APPROVER.id}`);
    expect(await approver.json()).toEqual({ commands: [{ command: "start", description: "Start" }] });
  });
});

describe("console files", () => {
  it("serves documents as downloads and photos inline, never as pages", async () => {
    const app = await start();
    const stream = await events(app);
    const json = Buffer.from('{"command":"rm -rf /tmp/x"}');
    const doc = await app.api.sendDocument(APPROVALS, new InputFile(json, "args-AAAA.json"), {
      caption: "arguments",
    });
    const html = await app.api.sendDocument(
      APPROVALS,
      new InputFile(Buffer.from("<script>alert(1)</script>"), "x.html"),
    );
    const photo = await app.api.sendPhoto(APPROVALS, new InputFile(TINY_PNG, "chart.png"));

    const docView = (await stream.next(isMessage((m) => m.id === doc.message_id))).data as ConsoleMessage;
    expect(docView.document).toMatchObject({ name: "args-AAAA.json", size: json.length });
    const download = await fetch(`${app.url}${docView.document!.href}`);
    expect(download.headers.get("content-disposition")).toMatch(/^attachment; filename="args-AAAA.json"/);
    expect(download.headers.get("content-type")).toMatch(/application\/json/);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(json);

    const htmlView = (await stream.next(isMessage((m) => m.id === html.message_id))).data as ConsoleMessage;
    const page = await fetch(`${app.url}${htmlView.document!.href}`);
    expect(page.headers.get("content-type")).toBe("application/octet-stream");
    expect(page.headers.get("content-disposition")).toMatch(/^attachment/);
    expect(page.headers.get("content-security-policy")).toMatch(/sandbox/);

    const photoView = (await stream.next(isMessage((m) => m.id === photo.message_id))).data as ConsoleMessage;
    expect(photoView.photo).toMatchObject({ width: 2, height: 1 });
    const image = await fetch(`${app.url}${photoView.photo!.href}`);
    expect(image.headers.get("content-type")).toBe("image/png");
    expect(image.headers.get("content-disposition")).toMatch(/^inline/);

    expect((await fetch(`${app.url}/console/files/nope`)).status).toBe(404);
  });
});

describe("console access", () => {
  it("answers only requests addressed to a loopback name (no DNS rebinding)", async () => {
    const app = await start();
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${app.url}/console`, { headers: { host: "attacker.example:8080" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
    expect((await fetch(`${app.url.replace("127.0.0.1", "localhost")}/console`)).status).toBe(200);
  });

  it("refuses requests a local reverse proxy forwarded, even with a loopback Host", async () => {
    const app = await start();
    for (const header of ["x-forwarded-for", "forwarded", "x-real-ip"]) {
      const res = await fetch(`${app.url}/console`, { headers: { [header]: "203.0.113.9" } });
      expect(res.status).toBe(403);
    }
    expect((await fetch(`${app.url}/console`)).status).toBe(200);
  });

  it("with a password: asks for it (Basic), accepts it, and limits failed attempts", async () => {
    const app = await start({ password: "correct horse battery", allowRemote: true, failedAuthCount: 3 });
    const basic = (password: string) => ({
      authorization: `Basic ${Buffer.from(`me:${password}`).toString("base64")}`,
    });
    const anonymous = await fetch(`${app.url}/console`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic realm="pitwall console"/);
    expect((await fetch(`${app.url}/console/events`)).status).toBe(401);
    expect((await postJson(`${app.url}/console/api/messages`, {})).status).toBe(401);
    expect((await fetch(`${app.url}/console`, { headers: basic("correct horse battery") })).status).toBe(200);
    const stream = await events(app, basic("correct horse battery"));
    await stream.next((e) => e.event === "snapshot");
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${app.url}/console`, { headers: basic("wrong") })).status).toBe(401);
    }
    const limited = await fetch(`${app.url}/console`, { headers: basic("wrong") });
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
  });

  it("does not hold a shutdown open: closing the server ends the open streams", async () => {
    const app = await startConsoleApp();
    const stream = await openEvents(`${app.url}/console/events`);
    await stream.next((e) => e.event === "snapshot");
    const started = Date.now();
    await app.close();
    await stream.reading;
    expect(stream.ended).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
