// The console page in a real browser, against the local Bot API and a small grammY bot that sends
// what pitwall's features send (HTML, inline keyboards, edits, documents, photos, ForceReply).
// The whole product (spawned pitwall) is exercised in e2e.test.ts.

import { Bot, InputFile } from "grammy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_OPERATORS } from "../../src/console/local.ts";
import { type Browser, browserSkipReason, launchBrowser, screenshot } from "./browser.ts";
import { type ConsoleApp, startConsoleApp, TINY_PNG } from "./support.ts";

const skipReason = await browserSkipReason("console in a browser");

describe.skipIf(skipReason !== undefined)("console in a browser", () => {
  let app: ConsoleApp;
  let bot: Bot;
  let browser: Browser;
  const seen: Array<{ from: number; chat: number; text: string; replyTo?: number }> = [];

  beforeAll(async () => {
    app = await startConsoleApp();
    bot = new Bot(app.local.token, { client: { apiRoot: app.local.apiRoot } });
    bot.on("message:text", async (ctx, next) => {
      const replyTo = ctx.message.reply_to_message?.message_id;
      seen.push({
        from: ctx.from.id,
        chat: ctx.chat.id,
        text: ctx.message.text,
        ...(replyTo === undefined ? {} : { replyTo }),
      });
      await next();
    });
    bot.command("card", (ctx) =>
      ctx.reply(
        [
          "⚠️ <b>Deploy</b> requested by <i>coder</i>",
          '<code>kubectl rollout restart</code> · <a href="https://example.com/runbook">runbook</a>',
          "<tg-spoiler>secret-ish</tg-spoiler>",
          // An alert title as an agent sent it, escaped by pitwall before sending:
          "Title: &lt;img src=x onerror=&quot;window.pwned=1&quot;&gt; &amp; more",
          '<pre><code class="language-json">{"cwd": "/srv/app"}</code></pre>',
        ].join("\n"),
        {
          parse_mode: "HTML",
          reply_markup: {
            inline_keyboard: [
              [
                { text: "Approve", callback_data: "ap:ok:AAAAAAAAAAAAAAAA" },
                { text: "Deny", callback_data: "ap:no:AAAAAAAAAAAAAAAA" },
              ],
            ],
          },
        },
      ),
    );
    bot.callbackQuery(/^ap:ok:/, async (ctx) => {
      await ctx.answerCallbackQuery({ text: "Approved ✅" });
      await ctx.editMessageText(`✅ Approved by ${ctx.from.first_name}`);
    });
    bot.command("files", async (ctx) => {
      await ctx.replyWithDocument(new InputFile(Buffer.from('{"command":"ls"}'), "args-AAAA.json"), {
        caption: "Arguments in full",
      });
      await ctx.replyWithPhoto(new InputFile(TINY_PNG, "chart.png"), { caption: "Spend this week" });
    });
    bot.command("why", (ctx) => ctx.reply("Why do you deny it?", { reply_markup: { force_reply: true } }));
    bot.on("message:text", async (ctx) => {
      if (ctx.message.reply_to_message) await ctx.reply(`Reason noted: ${ctx.message.text}`);
    });
    void bot.start({ timeout: 1 });
    await app.local.api.waitForLongPoll(10_000);
    browser = await launchBrowser();
    await browser.page.goto(`${app.url}/console`);
    await browser.page.waitForSelector("body[data-ready]");
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await bot?.stop();
    await app?.close();
  });

  async function type(text: string): Promise<void> {
    await browser.page.fill("#composer-input", text);
    await browser.page.press("#composer-input", "Enter");
  }

  it("shows the three chats and the bot's private chat as tabs, and the local operators", async () => {
    const { page } = browser;
    expect(
      await page
        .locator("[role=tab]")
        .evaluateAll((tabs) => tabs.map((t) => (t as HTMLElement).dataset.chat)),
    ).toEqual(["alerts", "approvals", "digest", "direct"]);
    expect(await page.locator("#operator option").allTextContents()).toEqual(
      LOCAL_OPERATORS.map((op) => op.name),
    );
    expect(await page.locator("#empty").isVisible()).toBe(true);
  });

  it("renders the bot's HTML from entities and escapes everything else", async () => {
    const { page } = browser;
    await type("/card");
    const card = page.locator(".message.in", { hasText: "Deploy" });
    await card.waitFor();
    expect(await card.locator("strong").textContent()).toBe("Deploy");
    expect(await card.locator("em").textContent()).toBe("coder");
    expect(await card.locator("code").first().textContent()).toBe("kubectl rollout restart");
    expect(await card.locator("a[href='https://example.com/runbook']").getAttribute("rel")).toBe(
      "noopener noreferrer",
    );
    expect(await card.locator(".spoiler").textContent()).toBe("secret-ish");
    expect(await card.locator("pre code").textContent()).toBe('{"cwd": "/srv/app"}');
    expect(await card.locator(".text").textContent()).toContain(
      'Title: <img src=x onerror="window.pwned=1"> & more',
    );
    expect(await card.locator("img").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

    // What the operator types is shown as typed, too.
    await type("<b>mine</b> <img src=x onerror=window.pwned=2>");
    const mine = page.locator(".message.out", { hasText: "<b>mine</b>" });
    await mine.waitFor();
    expect(await mine.locator("b, img").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
  });

  it("presses an inline button: a real callback query, the toast, and the edit in place", async () => {
    const { page } = browser;
    const card = page.locator(".message.in", { hasText: "Deploy" });
    const id = await card.getAttribute("data-id");
    await card.locator("button.kb-button", { hasText: "Approve" }).click();
    await page.locator("#toast", { hasText: "Approved ✅" }).waitFor();
    const edited = page.locator(`.message[data-id="${id}"]`);
    await edited.locator(".text", { hasText: "✅ Approved by Ada (admin)" }).waitFor();
    expect(await edited.locator(".kb-button").count()).toBe(0);
    expect(await edited.locator(".meta").textContent()).toMatch(/edited/);
    expect(await page.locator(".message.in", { hasText: "Deploy" }).count()).toBe(0);
  });

  it("acts as the operator picked in the role picker", async () => {
    const { page } = browser;
    const viewer = LOCAL_OPERATORS[2]!;
    await page.selectOption("#operator", String(viewer.id));
    await type("as the viewer");
    await page.locator(".message.out", { hasText: "as the viewer" }).waitFor();
    await expect.poll(() => seen.find((m) => m.text === "as the viewer")?.from).toBe(viewer.id);
    // Messages of the admin are someone else's now: on the left, with their name.
    expect(await page.locator(".message.in .sender", { hasText: "Ada (admin)" }).count()).toBeGreaterThan(0);
    await page.selectOption("#operator", String(LOCAL_OPERATORS[0]!.id));
  });

  it("shows documents as downloads and photos as images", async () => {
    const { page } = browser;
    await page.click("[role=tab][data-chat=approvals]");
    await type("/files");
    const document = page.locator("a.document", { hasText: "args-AAAA.json" });
    await document.waitFor();
    expect(await document.getAttribute("download")).toBe("args-AAAA.json");
    const photo = page.locator("img.photo");
    await photo.waitFor();
    await expect.poll(() => photo.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBe(2);
    await page.locator(".message.in", { hasText: "Spend this week" }).waitFor();
  });

  it("answers a ForceReply prompt as a reply", async () => {
    const { page } = browser;
    await type("/why");
    await page.locator("#reply-bar", { hasText: "Why do you deny it?" }).waitFor();
    await type("too risky on a Friday");
    await page.locator(".message.in", { hasText: "Reason noted: too risky on a Friday" }).waitFor();
    expect(seen.find((m) => m.text === "too risky on a Friday")?.replyTo).toBeGreaterThan(0);
    await expect.poll(() => page.locator("#reply-bar").isVisible()).toBe(false);
  });

  it("counts unread messages on other tabs and has no page errors", async () => {
    const { page } = browser;
    await app.api.sendMessage(-1009000000003, "Daily digest: 3 alerts, 1 approval");
    await page.locator("[role=tab][data-chat=digest] .unread", { hasText: "1" }).waitFor();
    await page.click("[role=tab][data-chat=digest]");
    await page.locator(".message.in", { hasText: "Daily digest" }).waitFor();
    expect(await page.locator("[role=tab][data-chat=digest] .unread").isVisible()).toBe(false);
    await screenshot(page, "console-inprocess.png");
    expect(browser.errors).toEqual([]);
  });
});
