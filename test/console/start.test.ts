// startPitwall's no-token branch: when the console runs, when it does not, and the demo switch.

import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/index.ts";
import { readEnvironment } from "../../src/env.ts";
import { type RunningPitwall, StartupError, startPitwall } from "../../src/main.ts";
import { startFakeBotApi } from "../../src/telegram-emulator/index.ts";
import { captureLogs } from "../http/support.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { openEvents } from "./support.ts";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase({ migrate: false });
  cleanup.push(() => db.drop());
  return db;
}

async function start(opts: {
  yaml?: string;
  env?: Record<string, string>;
  demo?: boolean;
}): Promise<{ running: RunningPitwall; logs: ReturnType<typeof captureLogs>["logs"] }> {
  const db = await database();
  const parsed = parseConfig(opts.yaml ?? "", {});
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const envResult = readEnvironment({ DATABASE_URL: db.url, PORT: "0", HOST: "127.0.0.1", ...opts.env });
  if (!envResult.ok) throw new Error(envResult.errors.join("; "));
  const { log, logs } = captureLogs();
  const running = await startPitwall({
    config: parsed.config,
    configSource: "pitwall.yaml",
    env: envResult.env,
    log,
    ...(opts.demo === undefined ? {} : { demo: opts.demo }),
  });
  cleanup.push(() => running.stop("test done"));
  return { running, logs };
}

const messages = (logs: ReturnType<typeof captureLogs>["logs"]) =>
  logs.parsed().map((line) => String(line.msg));

describe("pitwall without a bot token", () => {
  it("runs the local console by default and says where, in one line", async () => {
    const { running, logs } = await start({});
    const line = `No TELEGRAM_BOT_TOKEN: open ${running.url}/console to use pitwall in a local chat`;
    expect(messages(logs).filter((m) => m.startsWith("No TELEGRAM_BOT_TOKEN"))).toEqual([line]);
    expect((await fetch(`${running.url}/console`)).status).toBe(200);
    const ready = (await (await fetch(`${running.url}/ready`)).json()) as { components: unknown[] };
    expect(ready.components).toContainEqual({
      name: "telegram",
      state: "ok",
      detail: "local console (no bot token)",
    });
    // The bot polls the local Bot API and answers there.
    const stream = await openEvents(`${running.url}/console/events`);
    cleanup.push(async () => stream.close());
    await stream.next((e) => e.event === "snapshot");
    const sent = await fetch(`${running.url}/console/api/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ chatId: 1001, operatorId: 1001, text: "/whoami" }),
    });
    expect(sent.status).toBe(200);
    const answer = await stream.next(
      (e) => e.event === "message" && (e.data as { outgoing: boolean }).outgoing,
      15_000,
    );
    expect((answer.data as { text: string }).text).toMatch(/1001[\s\S]*admin/);
  });

  it("stays API-only when console.enabled is false", async () => {
    const { running, logs } = await start({ yaml: "console:\n  enabled: false\n" });
    expect(messages(logs).filter((m) => /API-only/.test(m))).toHaveLength(1);
    expect(messages(logs).some((m) => m.startsWith("No TELEGRAM_BOT_TOKEN: open"))).toBe(false);
    expect((await fetch(`${running.url}/console`)).status).toBe(404);
  });

  it("on a non-loopback HOST without allow_remote: API-only and why", async () => {
    const { running, logs } = await start({ env: { HOST: "0.0.0.0" } });
    expect(messages(logs).filter((m) => /API-only/.test(m))).toEqual([
      expect.stringMatching(/HOST is 0\.0\.0\.0.*console\.allow_remote/),
    ]);
    expect((await fetch(`${running.url.replace("0.0.0.0", "127.0.0.1")}/console`)).status).toBe(404);
  });

  it("refuses to start when console.enabled is true on a non-loopback HOST without allow_remote", async () => {
    const db = await database();
    const parsed = parseConfig("console:\n  enabled: true\n", {});
    if (!parsed.ok) throw new Error("config");
    const envResult = readEnvironment({ DATABASE_URL: db.url, PORT: "0", HOST: "0.0.0.0" });
    if (!envResult.ok) throw new Error("env");
    await expect(
      startPitwall({
        config: parsed.config,
        configSource: "pitwall.yaml",
        env: envResult.env,
        log: captureLogs().log,
      }),
    ).rejects.toThrow(StartupError);
  });

  it("with allow_remote and a password: the console asks for the password", async () => {
    const { running } = await start({
      yaml: 'console:\n  allow_remote: true\n  password: "correct horse battery"\n',
      env: { HOST: "0.0.0.0" },
    });
    const url = `${running.url.replace("0.0.0.0", "127.0.0.1")}/console`;
    expect((await fetch(url)).status).toBe(401);
    const authorization = `Basic ${Buffer.from("me:correct horse battery").toString("base64")}`;
    expect((await fetch(url, { headers: { authorization } })).status).toBe(200);
  });

  it("--demo plays its stream through the API with its own key, skipping what has not landed", async () => {
    const { running, logs } = await start({ demo: true });
    await expect
      .poll(() => messages(logs).filter((m) => m.startsWith("demo:")), { timeout: 15_000 })
      .toContainEqual(expect.stringMatching(/^demo: playing/));
    const stream = await openEvents(`${running.url}/console/events`);
    cleanup.push(async () => stream.close());
    const snapshot = await stream.next((e) => e.event === "snapshot");
    expect((snapshot.data as { demo: boolean }).demo).toBe(true);
    // No 401s: the demo's key is accepted.
    expect(logs.text()).not.toMatch(/API authentication failed/);
  });
});

describe("pitwall with a bot token", () => {
  it("runs no console and no demo", async () => {
    const telegram = await startFakeBotApi({ token: "123456789:AAE-pitwall-console-test-token-00000" });
    cleanup.push(() => telegram.stop());
    const { running, logs } = await start({
      yaml: "telegram:\n  operators: [{ id: 42, role: admin }]\n",
      env: { TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_API_ROOT: telegram.apiRoot },
      demo: true,
    });
    expect((await fetch(`${running.url}/console`)).status).toBe(404);
    expect(messages(logs).some((m) => m.startsWith("No TELEGRAM_BOT_TOKEN"))).toBe(false);
    expect(messages(logs)).toContainEqual(expect.stringMatching(/--demo plays only into the local console/));
  });
});
