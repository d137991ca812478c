import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isAlive, makeDataDir, type PitwallProcess, spawnPitwall, stopPitwall } from "./process.ts";

const running: PitwallProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map(stopPitwall));
});

async function start(opts: Parameters<typeof spawnPitwall>[0] = {}) {
  const p = await spawnPitwall(opts);
  running.push(p);
  return p;
}

async function postgresPid(dataDir: string): Promise<number> {
  return Number.parseInt(
    (await readFile(join(dataDir, "pg", "postmaster.pid"), "utf8")).split("\n")[0] ?? "",
    10,
  );
}

describe("pitwall start (as a newcomer runs it)", () => {
  it("runs on embedded defaults with the local console, says so in one line, and stops cleanly on SIGTERM", async () => {
    const p = await start();
    await p.waitForOutput(/pitwall is running/);
    const consoleLine = p
      .output()
      .split("\n")
      .filter((l) => /No TELEGRAM_BOT_TOKEN/.test(l));
    expect(consoleLine).toHaveLength(1);
    expect(consoleLine[0]).toContain(
      `"No TELEGRAM_BOT_TOKEN: open ${p.url}/console to use pitwall in a local chat"`,
    );

    const health = await fetch(`${p.url}/health`);
    expect(health.status).toBe(200);
    const ready = await fetch(`${p.url}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      components: expect.arrayContaining([{ name: "database", state: "ok" }]),
    });

    const pgPid = await postgresPid(p.dataDir);
    const stoppedAt = Date.now();
    p.child.kill("SIGTERM");
    const { code } = await p.exited;
    expect(code).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    expect(isAlive(pgPid)).toBe(false);
  });

  it("comes back after a kill -9 that left its PostgreSQL running, keeping its data", async () => {
    const dataDir = await makeDataDir();
    const first = await start({ dataDir });
    await first.waitForOutput(/pitwall is running/);
    const orphan = await postgresPid(dataDir);
    first.child.kill("SIGKILL");
    await first.exited;
    expect(isAlive(orphan)).toBe(true);

    const second = await start({ dataDir });
    await second.waitForOutput(/pitwall is running/);
    expect(isAlive(orphan)).toBe(false);
    expect((await fetch(`${second.url}/ready`)).status).toBe(200);
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
  });

  it("refuses a data dir that another live pitwall owns", async () => {
    const dataDir = await makeDataDir();
    const first = await start({ dataDir });
    await first.waitForOutput(/pitwall is running/);
    const second = await start({ dataDir });
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toMatch(/in use by another pitwall process/);
    expect(second.output()).not.toMatch(/\n\s+at /); // no stack trace
    expect((await fetch(`${first.url}/health`)).status).toBe(200);
  });

  it("exits 1 with the reason when the config has a telegram section but no token", async () => {
    const dataDir = await makeDataDir();
    const file = join(dataDir, "pitwall.yaml");
    await writeFile(file, "telegram:\n  operators: [{ id: 42, role: admin }]\n");
    const p = await start({ dataDir, args: ["start", "--config", file] });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toMatch(/TELEGRAM_BOT_TOKEN is not set/);
  });

  it("exits 1 with path-precise messages and no stack trace for a bad config", async () => {
    const dataDir = await makeDataDir();
    const file = join(dataDir, "pitwall.yaml");
    await writeFile(file, "alerting:\n  suppression:\n    escalation_delay: soonish\n  colour: red\n");
    const p = await start({ dataDir, args: ["start", "--config", file] });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toMatch(/alerting\.suppression\.escalation_delay: expected a duration like 15m/);
    expect(p.output()).toMatch(/alerting\.colour/);
    expect(p.output()).not.toMatch(/\n\s+at /);
  });

  it("exits 1 naming the variable when an environment value is wrong, without echoing it", async () => {
    const p = await start({ env: { PORT: "eighty", REDIS_URL: "http://secret-host:1" } });
    expect((await p.exited).code).toBe(1);
    expect(p.output()).toMatch(/PORT: expected a port number/);
    expect(p.output()).toMatch(/REDIS_URL: expected a redis:\/\//);
    expect(p.output()).not.toMatch(/secret-host/);
  });

  it("exits 1 with a clear message when the port is taken", async () => {
    const first = await start();
    await first.waitForOutput(/pitwall is running/);
    const second = await start({ port: first.port });
    expect((await second.exited).code).toBe(1);
    expect(second.output()).toMatch(new RegExp(`port ${first.port}.*in use`));
  });
});
