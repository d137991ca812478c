import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listen } from "../../src/http/listen.ts";
import { createTestDatabase, type TestDatabase } from "../support/db.ts";
import { testRoutes } from "./routes.ts";
import { bearer, buildApp, CODER_KEY, type TestApp } from "./support.ts";

/** Raw bytes in, raw response text out: requests no HTTP client would send. */
function rawRequest(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      answer += chunk;
    });
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
    socket.write(bytes);
  });
}

describe("listening", () => {
  let t: TestDatabase;
  let h: TestApp;
  let url: string;
  let port: number;

  beforeAll(async () => {
    t = await createTestDatabase();
    h = await buildApp(t.db, { registerRoutes: [testRoutes(t.db)] });
    url = await listen(h.app, { host: "127.0.0.1", port: 0 });
    port = Number(new URL(url).port);
  });

  afterAll(async () => {
    await h?.app.close();
    await t?.drop();
  });

  it("serves over a real socket and returns its base URL", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok" });
    const whoami = await fetch(`${url}/v1/whoami`, { headers: bearer(CODER_KEY) });
    expect(await whoami.json()).toMatchObject({ key: "coder-bot" });
  });

  it("refuses a port in use with a message naming the port and the setting to change", async () => {
    const second = await buildApp(t.db);
    try {
      await expect(listen(second.app, { host: "127.0.0.1", port })).rejects.toThrow(
        `port ${port} on 127.0.0.1 is already in use; set PORT to another port`,
      );
      await expect(listen(second.app, { host: "127.0.0.1", port })).rejects.toMatchObject({
        code: "EADDRINUSE",
      });
    } finally {
      await second.app.close();
    }
  });

  it("answers oversized, malformed and garbage requests and keeps serving", async () => {
    const big = await fetch(`${url}/v1/test/echo`, {
      method: "POST",
      headers: { ...bearer(CODER_KEY), "content-type": "application/json" },
      body: JSON.stringify({ agent: "coder", labels: { blob: "x".repeat(1_100_000) } }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: "payload_too_large" });

    const malformed = await rawRequest(
      port,
      `POST /v1/test/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${CODER_KEY}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{"a"}`,
    );
    expect(malformed).toMatch(/^HTTP\/1\.1 400/);
    expect(malformed).toContain('"error":"invalid_json"');

    const garbage = await rawRequest(port, "NOT-HTTP AT ALL\r\n\r\n");
    expect(garbage).toMatch(/^HTTP\/1\.1 400/);

    const again = await fetch(`${url}/health`);
    expect(again.status).toBe(200);
  });
});

describe("listen errors", () => {
  const failingApp = (code: string) =>
    ({
      listen: async () => {
        throw Object.assign(new Error(`listen ${code}`), { code });
      },
    }) as unknown as Parameters<typeof listen>[0];

  it("says what to change for a privileged port or an unknown host", async () => {
    await expect(listen(failingApp("EACCES"), { host: "0.0.0.0", port: 80 })).rejects.toThrow(
      "permission denied to listen on port 80 on 0.0.0.0; ports below 1024 need privileges, set PORT to 1024 or above",
    );
    await expect(listen(failingApp("EADDRNOTAVAIL"), { host: "10.255.0.1", port: 8080 })).rejects.toThrow(
      /cannot listen on 10\.255\.0\.1: no such address on this machine; set HOST/,
    );
  });
});
