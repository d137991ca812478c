import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type FakeBotApi, startFakeBotApi } from "../fake-bot-api/index.ts";
import { makeDataDir, type PitwallProcess, spawnPitwall, stopPitwall } from "./process.ts";

const ADMIN = { id: 4242, first_name: "Dana", is_bot: false };
const STRANGER = { id: 777, first_name: "Eve", is_bot: false };

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function startWithTelegram(telegram: FakeBotApi): Promise<PitwallProcess> {
  const dataDir = await makeDataDir();
  const configFile = join(dataDir, "pitwall.yaml");
  await writeFile(configFile, `telegram:\n  operators: [{ id: ${ADMIN.id}, role: admin, name: Dana }]\n`);
  const p = await spawnPitwall({
    dataDir,
    args: ["start", "--config", configFile],
    env: { TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_API_ROOT: telegram.apiRoot },
  });
  cleanup.push(() => stopPitwall(p));
  return p;
}

async function fakeTelegram(): Promise<FakeBotApi> {
  const telegram = await startFakeBotApi({ token: "123456789:AAE-pitwall-e2e-test-token-0000000" });
  cleanup.push(() => telegram.stop());
  return telegram;
}

describe("pitwall start with a bot token", () => {
  it("serves its operators, refuses strangers, and shuts down within 10 s", async () => {
    const telegram = await fakeTelegram();
    const p = await startWithTelegram(telegram);
    await p.waitForOutput(/pitwall is running/);
    await telegram.waitFor((c) => c.method === "getUpdates", 20_000);
    expect(telegram.callsOf("deleteWebhook").length).toBeGreaterThan(0);

    telegram.injectMessage({ from: ADMIN, text: "/whoami" });
    await telegram.waitFor((c) => c.method === "sendMessage" && c.params.chat_id === ADMIN.id, 10_000);
    expect(telegram.lastMessage(ADMIN.id)?.text).toMatch(/4242/);
    expect(telegram.lastMessage(ADMIN.id)?.text).toMatch(/admin/);

    telegram.injectMessage({ from: STRANGER, text: "/start" });
    await telegram.waitFor((c) => c.method === "sendMessage" && c.params.chat_id === STRANGER.id, 10_000);

    const ready = await fetch(`${p.url}/ready`);
    expect(ready.status).toBe(200);
    const started = Date.now();
    p.child.kill("SIGTERM");
    expect((await p.exited).code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(p.output()).not.toContain(telegram.token);
  });

  it("limits a viewer's typed commands by safety.output.rate_limit_per_user from the config", async () => {
    const telegram = await fakeTelegram();
    const viewer = { id: 5151, first_name: "Vic", is_bot: false };
    const dataDir = await makeDataDir();
    const configFile = join(dataDir, "pitwall.yaml");
    await writeFile(
      configFile,
      `telegram:\n  operators: [{ id: ${ADMIN.id}, role: admin, name: Dana }, { id: ${viewer.id}, role: viewer, name: Vic }]\n` +
        `safety:\n  output:\n    rate_limit_per_user: 2 requests/hour\n`,
    );
    const p = await spawnPitwall({
      dataDir,
      args: ["start", "--config", configFile],
      env: { TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_API_ROOT: telegram.apiRoot },
    });
    cleanup.push(() => stopPitwall(p));
    await p.waitForOutput(/pitwall is running/);
    const answers = () => telegram.callsOf("sendMessage").filter((c) => c.params.chat_id === viewer.id);
    for (let n = 1; n <= 3; n++) {
      telegram.injectMessage({ from: viewer, text: "/whoami" });
      await telegram.waitFor(() => answers().length === n, 10_000);
    }
    expect(answers()[0]!.params.text).toMatch(/5151/);
    expect(answers()[1]!.params.text).toMatch(/5151/);
    expect(answers()[2]!.params.text).toMatch(/2 commands/); // the limit from the config, not 100
  });

  it("starts while Telegram is unreachable, reports delivery degraded in /ready, and recovers", async () => {
    const telegram = await fakeTelegram();
    telegram.setDown(true);
    const p = await startWithTelegram(telegram);
    await p.waitForOutput(/pitwall is running/);

    // /ready stays 200 throughout; once the poller has tried, its body says Telegram is degraded.
    let pollingState: string | undefined;
    for (const deadline = Date.now() + 15_000; pollingState !== "degraded" && Date.now() < deadline; ) {
      const ready = await fetch(`${p.url}/ready`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as { components: Array<{ name: string; state: string }> };
      pollingState = body.components.find((c) => c.name === "telegram_polling")?.state;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(pollingState).toBe("degraded");

    telegram.setDown(false);
    await telegram.waitFor((c) => c.method === "getUpdates", 30_000);
    telegram.injectMessage({ from: ADMIN, text: "/start" });
    await telegram.waitFor((c) => c.method === "sendMessage" && c.params.chat_id === ADMIN.id, 10_000);
    const after = (await (await fetch(`${p.url}/ready`)).json()) as {
      components: Array<{ name: string; state: string }>;
    };
    expect(after.components.find((c) => c.name === "telegram_polling")?.state).toBe("ok");
  });
});
