// Headless Chromium from Debian (`apt-get install -y chromium`) driven by playwright-core. Without
// them the browser suites skip with the reason printed; with PITWALL_REQUIRE_BROWSER=1 (CI) they
// fail instead, so a CI that lost its browser does not pass quietly.

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";

export const CHROMIUM_PATH = process.env.PITWALL_CHROMIUM ?? "/usr/bin/chromium";
export const ARTIFACTS_DIR = new URL("../../test-artifacts/", import.meta.url).pathname;

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Why the browser suites cannot run here, or undefined when they can. */
export async function browserUnavailable(): Promise<string | undefined> {
  if (!existsSync(CHROMIUM_PATH)) {
    return `no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium, or set PITWALL_CHROMIUM)`;
  }
  try {
    await import("playwright-core");
  } catch {
    return "playwright-core is not installed (npm install --save-dev playwright-core)";
  }
  return undefined;
}

/** The reason to skip, printed once; throws instead when PITWALL_REQUIRE_BROWSER=1. */
export async function browserSkipReason(suite: string): Promise<string | undefined> {
  const reason = await browserUnavailable();
  if (reason === undefined) return undefined;
  if (process.env.PITWALL_REQUIRE_BROWSER === "1") {
    throw new Error(`${suite}: PITWALL_REQUIRE_BROWSER=1 but ${reason}`);
  }
  console.warn(`[skip] ${suite}: ${reason}`);
  return reason;
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions on the page. */
  errors: string[];
  close(): Promise<void>;
}

/** A fresh profile each time (its own --user-data-dir), removed on close. */
export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  const profile = await mkdtemp(join(tmpdir(), "pitwall-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1200, height: 760 },
    locale: "en-GB",
    timezoneId: "UTC",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`pageerror: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  return {
    context,
    page,
    errors,
    async close() {
      await context.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, name);
  await page.screenshot({ path });
  return path;
}
