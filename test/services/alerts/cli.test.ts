import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAlert } from "../../../src/cli/alert.ts";
import { listen } from "../../../src/http/listen.ts";
import { ADMIN_KEY, type AlertsBed, createAlertsBed, READER_KEY } from "./support.ts";

// `pitwall alert` against a pitwall listening on a real port.

let bed: AlertsBed;
let url: string;

beforeAll(async () => {
  bed = await createAlertsBed();
  url = await listen(bed.app, { host: "127.0.0.1", port: 0 });
});
afterAll(async () => bed?.close());

async function cli(
  argv: string[],
  env: NodeJS.ProcessEnv = { PITWALL_URL: url, PITWALL_API_KEY: ADMIN_KEY },
) {
  let stdout = "";
  let stderr = "";
  const code = await runAlert(argv, {
    env,
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    timeoutMs: 5_000,
  });
  return { code, stdout, stderr };
}

describe("pitwall alert", () => {
  it("raises, repeats and resolves an alert, printing pitwall's answer", async () => {
    const args = [
      "--severity",
      "critical",
      "--title",
      "Disk full on db1",
      "--key",
      "disk:db1",
      "--label",
      "host=db1",
      "--label",
      "env=prod",
    ];
    const first = await cli(args);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^new incident [0-9A-Za-z]{16} \(key disk:db1\)\n$/);
    const second = await cli(args);
    expect(second.stdout).toContain("seen 2 times");
    const { rows } = await bed.db.query("select labels, source, count from alerts");
    expect(rows).toEqual([{ labels: { host: "db1", env: "prod" }, source: "pitwall-cli", count: 2 }]);

    const resolved = await cli(["--resolve", "--key", "disk:db1", "--url", url, "--api-key", ADMIN_KEY], {});
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toMatch(/^resolved incident [0-9A-Za-z]{16} \(key disk:db1\)\n$/);

    const json = await cli([...args, "--json"]);
    expect(JSON.parse(json.stdout)).toMatchObject({ key: "disk:db1", status: "new", count: 1 });
  });

  it("reads the key from --key-env", async () => {
    const res = await cli(["-s", "info", "-t", "hello", "--key-env", "MY_KEY"], {
      PITWALL_URL: url,
      MY_KEY: ADMIN_KEY,
    });
    expect(res.code).toBe(0);
  });

  it("exits non-zero with a clear message on every error, never printing the key", async () => {
    const noTitle = await cli(["--severity", "critical"]);
    expect(noTitle.code).toBe(2);
    expect(noTitle.stderr).toContain("--title is required");

    const badSeverity = await cli(["--severity", "urgent", "--title", "x"]);
    expect(badSeverity.code).toBe(1);
    expect(badSeverity.stderr).toContain(
      "pitwall answered 400: body.severity: must be one of info, warning, critical",
    );

    const badLabel = await cli(["--severity", "info", "--title", "x", "--label", "novalue"]);
    expect(badLabel.code).toBe(2);
    expect(badLabel.stderr).toContain("--label takes NAME=VALUE");

    const wrongKey = await cli(["-s", "info", "-t", "x"], { PITWALL_URL: url, PITWALL_API_KEY: "nope-nope" });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toContain("401");
    expect(wrongKey.stderr).toContain("check --api-key");

    const reader = await cli(["-s", "info", "-t", "x"], { PITWALL_URL: url, PITWALL_API_KEY: READER_KEY });
    expect(reader.code).toBe(1);
    expect(reader.stderr).toContain("403");
    expect(reader.stderr).not.toContain(READER_KEY);

    const noKey = await cli(["-s", "info", "-t", "x"], { PITWALL_URL: url });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("no API key");

    const down = await cli(["-s", "info", "-t", "x", "--url", "http://127.0.0.1:9"]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("could not reach pitwall at http://127.0.0.1:9");
    expect(down.stderr).not.toContain(ADMIN_KEY);

    const unknownFlag = await cli(["--sevrity", "info"]);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("Usage: pitwall alert");
  });
});
