// Refreshes docs/console.png: pitwall with the demo stream, in-process, photographed in headless
// Chromium once the demo has produced its first alerts and approval prompt.
//
//   npx tsx test/console/screenshot.ts [out.png]
//
// Needs what the browser tests need (Debian's chromium, playwright-core).

import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseConfig } from "../../src/config/index.ts";
import { LOCAL_CHATS } from "../../src/console/local.ts";
import { readEnvironment } from "../../src/env.ts";
import { startPitwall } from "../../src/main.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { findFreePort } from "../../src/store/embedded.ts";
import { browserUnavailable, launchBrowser } from "./browser.ts";

const out = process.argv[2] ?? new URL("../../docs/console.png", import.meta.url).pathname;
const WAIT_FOR_DEMO_MS = 60_000;

const unavailable = await browserUnavailable();
if (unavailable) {
  console.error(`cannot take the screenshot: ${unavailable}`);
  process.exit(1);
}

const dataDir = await mkdtemp(join(tmpdir(), "pitwall-screenshot-"));
await chmod(dataDir, 0o755);
const parsed = parseConfig("", {});
const envResult = readEnvironment({
  PITWALL_DATA_DIR: dataDir,
  PORT: String(await findFreePort()),
  HOST: "127.0.0.1",
});
if (!parsed.ok || !envResult.ok) throw new Error("defaults must parse");
const running = await startPitwall({
  config: parsed.config,
  configSource: "(defaults)",
  env: envResult.env,
  log: createLogger({ level: "warn" }),
  demo: true,
});
const browser = await launchBrowser();
try {
  const { page } = browser;
  await page.setViewportSize({ width: 1100, height: 720 });
  await page.goto(`${running.url}/console`);
  await page.waitForSelector("body[data-ready]");
  await page.click("[role=tab][data-chat=direct]");
  await page.fill("#composer-input", "/start");
  await page.press("#composer-input", "Enter");
  await page.locator(".message.in", { hasText: "Hello" }).waitFor({ timeout: 20_000 });

  // The demo's approval prompt if it comes (the approvals area has landed), else its alerts.
  const approvals = LOCAL_CHATS.find((chat) => chat.name === "approvals")!;
  const alerts = LOCAL_CHATS.find((chat) => chat.name === "alerts")!;
  const deadline = Date.now() + WAIT_FOR_DEMO_MS;
  let tab: "approvals" | "alerts" | "direct" = "direct";
  while (Date.now() < deadline) {
    const has = async (chatId: number) => (await page.locator(`.message[data-chat="${chatId}"]`).count()) > 0;
    await page.click("[role=tab][data-chat=approvals]");
    if (await has(approvals.id)) {
      tab = "approvals";
      break;
    }
    await page.click("[role=tab][data-chat=alerts]");
    if ((await page.locator(`.message[data-chat="${alerts.id}"]`).count()) >= 2) tab = "alerts";
    await page.waitForTimeout(2_000);
  }
  if (tab === "approvals") await page.waitForTimeout(8_000); // let the alerts repeat meanwhile
  await page.click(`[role=tab][data-chat=${tab}]`);
  await page.waitForTimeout(500);
  await page.screenshot({ path: out });
  console.log(`wrote ${out} (showing the ${tab} chat)`);
} finally {
  await browser.close();
  await running.stop("screenshot taken");
  await rm(dataDir, { recursive: true, force: true });
}
