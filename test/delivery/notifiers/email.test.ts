import { createServer, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEmailNotifier, isRetryableSmtpError } from "../../../src/delivery/notifiers/email.ts";
import { captureLog, type LocalSmtp, startLocalSmtp } from "./support.ts";

// Characters that need URL-encoding, so both forms are checked against the log.
const PASSWORD = "s3cr3t/P@ss:w0rd%";
const USER = "pitwall@example.com";

let smtp: LocalSmtp;

beforeAll(async () => {
  smtp = await startLocalSmtp({ user: USER, password: PASSWORD });
});
afterAll(async () => {
  await smtp.close();
});
afterEach(() => {
  smtp.behaviour = { kind: "ok" };
  smtp.received.length = 0;
  smtp.authAttempts.length = 0;
});

function notifier(overrides: { smtpUrl?: string; to?: string[]; timeoutMs?: number } = {}) {
  const captured = captureLog();
  const email = createEmailNotifier({
    smtpUrl: overrides.smtpUrl ?? smtp.url(),
    from: "pitwall <pitwall@example.com>",
    to: overrides.to ?? ["ops@example.com", "oncall@example.com"],
    log: captured.log,
    timeoutMs: overrides.timeoutMs ?? 5_000,
  });
  return { email, captured };
}

function expectNoSecret(...texts: string[]) {
  for (const text of texts) {
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(encodeURIComponent(PASSWORD));
  }
}

describe("email notifier (real local SMTP server)", () => {
  it("delivers the message with its subject and text, after authenticating", async () => {
    const { email, captured } = notifier();
    const result = await email.send({
      subject: "[pitwall] CRITICAL disk full on db-1",
      text: "disk full on db-1\nescalated after 15 minutes without acknowledgement",
    });
    expect(result).toEqual({ ok: true });
    expect(smtp.received).toHaveLength(1);
    const mail = smtp.received[0]!;
    expect(mail.user).toBe(USER);
    expect(smtp.authAttempts).toEqual([{ username: USER, password: PASSWORD }]);
    expect(mail.from).toBe("pitwall@example.com");
    expect(mail.to).toEqual(["ops@example.com", "oncall@example.com"]);
    expect(mail.raw).toContain("Subject: [pitwall] CRITICAL disk full on db-1");
    expect(mail.raw).toContain("disk full on db-1");
    expect(mail.raw).toContain("escalated after 15 minutes without acknowledgement");
    expect(email.server).toBe(`127.0.0.1:${smtp.port}`);
    expectNoSecret(captured.text());
    email.close();
  });

  it("adds the HTML alternative when given", async () => {
    const { email } = notifier({ to: ["ops@example.com"] });
    const result = await email.send({ subject: "s", text: "plain body", html: "<p><b>html body</b></p>" });
    expect(result.ok).toBe(true);
    const raw = smtp.received[0]!.raw;
    expect(raw).toContain("multipart/alternative");
    expect(raw).toContain("text/plain");
    expect(raw).toContain("text/html");
    expect(raw).toContain("<p><b>html body</b></p>");
  });

  it("answers 451 (try later) as retryable", async () => {
    smtp.behaviour = { kind: "reject_data", code: 451, text: "4.3.0 Mailbox temporarily unavailable" };
    const { email, captured } = notifier();
    const result = await email.send({ subject: "s", text: "t" });
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(!result.ok && result.error).toContain("451");
    expect(smtp.received).toHaveLength(0);
    expectNoSecret(captured.text(), JSON.stringify(result));
  });

  it("answers 451 on every recipient as retryable", async () => {
    smtp.behaviour = { kind: "reject_rcpt", code: 451, text: "4.7.1 Greylisted, try again later" };
    const { email } = notifier();
    const result = await email.send({ subject: "s", text: "t" });
    expect(result).toMatchObject({ ok: false, retryable: true });
  });

  it("answers 550 (mailbox unavailable) as permanent", async () => {
    smtp.behaviour = { kind: "reject_rcpt", code: 550, text: "5.1.1 No such user" };
    const { email, captured } = notifier();
    const result = await email.send({ subject: "s", text: "t" });
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(!result.ok && result.error).toContain("550");
    expectNoSecret(captured.text(), JSON.stringify(result));
  });

  it("answers 552 after the data as permanent", async () => {
    smtp.behaviour = { kind: "reject_data", code: 552, text: "5.3.4 Message too big" };
    const { email } = notifier();
    expect(await email.send({ subject: "s", text: "t" })).toMatchObject({ ok: false, retryable: false });
  });

  it("treats rejected credentials (535) as permanent and never shows the password", async () => {
    const wrong = "wr0ng/P@ss";
    const captured = captureLog();
    const email = createEmailNotifier({
      smtpUrl: smtp.url(USER, wrong),
      from: "pitwall@example.com",
      to: ["ops@example.com"],
      log: captured.log,
      timeoutMs: 5_000,
    });
    const result = await email.send({ subject: "s", text: "t" });
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(!result.ok && result.error).toMatch(/535|auth/i);
    expect(smtp.authAttempts).toEqual([{ username: USER, password: wrong }]);
    for (const text of [captured.text(), JSON.stringify(result)]) {
      expect(text).not.toContain(wrong);
      expect(text).not.toContain(encodeURIComponent(wrong));
    }
    expect(captured.text()).toContain(`127.0.0.1:${smtp.port}`);
  });

  it("treats a refused connection as retryable", async () => {
    const closed = await unusedPort();
    const { email, captured } = notifier({
      smtpUrl: `smtp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${closed}`,
    });
    const result = await email.send({ subject: "s", text: "t" });
    expect(result).toMatchObject({ ok: false, retryable: true });
    expectNoSecret(captured.text(), JSON.stringify(result));
  });

  it("gives up on a server that never greets after the timeout, as retryable", async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    const port = (silent.address() as { port: number }).port;
    try {
      const { email } = notifier({
        smtpUrl: `smtp://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}`,
        timeoutMs: 300,
      });
      const started = Date.now();
      const result = await email.send({ subject: "s", text: "t" });
      expect(result).toMatchObject({ ok: false, retryable: true });
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("refuses to send without recipients (a configuration problem)", async () => {
    const { email } = notifier({ to: [] });
    expect(await email.send({ subject: "s", text: "t" })).toMatchObject({ ok: false, retryable: false });
  });
});

describe("isRetryableSmtpError", () => {
  it.each([
    [{ code: "EENVELOPE", responseCode: 451 }, true],
    [{ code: "EMESSAGE", responseCode: 452 }, true],
    [{ code: "ECONNECTION", responseCode: 421 }, true],
    [{ code: "EMESSAGE", responseCode: 503 }, true],
    [{ code: "EENVELOPE", responseCode: 550 }, false],
    [{ code: "EAUTH", responseCode: 535 }, false],
    [{ code: "ECONNECTION" }, true],
    [{ code: "ETIMEDOUT" }, true],
    [{ code: "ESOCKET", originalCode: "ECONNREFUSED" }, true],
    [{ code: "EDNS" }, true],
    [{ code: "EAUTH" }, false],
    [{ code: "ETLS" }, false],
    [new Error("something else"), false],
  ])("%o -> retryable %s", (err, retryable) => {
    expect(isRetryableSmtpError(err)).toBe(retryable);
  });
});

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
