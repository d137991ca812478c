import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer, type SMTPServerError } from "smtp-server";
import { createLogger, type Logger } from "../../../src/observability/logger.ts";

/** A logger at debug level whose lines are kept, to assert what reaches the log (and what never does). */
export function captureLog(): { log: Logger; text(): string; lines(): Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const log = createLogger({ level: "debug", destination: { write: (line: string) => chunks.push(line) } });
  return {
    log,
    text: () => chunks.join(""),
    lines: () => chunks.map((c) => JSON.parse(c) as Record<string, unknown>),
  };
}

export interface ReceivedMail {
  from: string;
  to: string[];
  user: string | undefined;
  raw: string;
}

/** How the local SMTP server answers; `ok` accepts everything. */
export type SmtpBehaviour =
  | { kind: "ok" }
  | { kind: "reject_rcpt"; code: number; text: string }
  | { kind: "reject_data"; code: number; text: string };

export interface LocalSmtp {
  port: number;
  url(user?: string, password?: string): string;
  received: ReceivedMail[];
  behaviour: SmtpBehaviour;
  /** Credentials the server accepts. */
  user: string;
  password: string;
  authAttempts: Array<{ username: string | undefined; password: string | undefined }>;
  close(): Promise<void>;
}

function smtpError(code: number, text: string): SMTPServerError {
  const err = new Error(text) as SMTPServerError;
  err.responseCode = code;
  return err;
}

/** A real SMTP server (npm smtp-server) on 127.0.0.1 that requires AUTH; plain text, no STARTTLS. */
export async function startLocalSmtp(opts: { user: string; password: string }): Promise<LocalSmtp> {
  const state: LocalSmtp = {
    port: 0,
    url: (user = opts.user, password = opts.password) =>
      `smtp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${state.port}`,
    received: [],
    behaviour: { kind: "ok" },
    user: opts.user,
    password: opts.password,
    authAttempts: [],
    close: async () => undefined,
  };
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS"],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    onAuth(auth, _session, callback) {
      state.authAttempts.push({ username: auth.username, password: auth.password ?? undefined });
      if (auth.username === state.user && auth.password === state.password) {
        callback(null, { user: auth.username });
      } else {
        callback(smtpError(535, "5.7.8 Authentication credentials invalid"));
      }
    },
    onRcptTo(_address, _session, callback) {
      const b = state.behaviour;
      callback(b.kind === "reject_rcpt" ? smtpError(b.code, b.text) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        const b = state.behaviour;
        if (b.kind === "reject_data") return callback(smtpError(b.code, b.text));
        const mailFrom = session.envelope.mailFrom;
        state.received.push({
          from: mailFrom === false ? "" : mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === "string" ? session.user : undefined,
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback(null);
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  state.port = (server.server.address() as AddressInfo).port;
  state.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return state;
}

export interface PagerDutyRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  body: Record<string, unknown>;
}

/** A local HTTP server standing in for PagerDuty's Events API v2. */
export interface FakePagerDuty {
  url: string;
  requests: PagerDutyRequest[];
  /** The next answers, in order; when empty, 202 success. `hang` never answers. */
  answers: Array<{ status: number; body?: unknown } | "hang">;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function startFakePagerDuty(): Promise<FakePagerDuty> {
  const hanging = new Set<import("node:http").ServerResponse>();
  const fake: FakePagerDuty = {
    url: "",
    requests: [],
    answers: [],
    close: async () => undefined,
  };
  const server: Server = createServer(async (req, res) => {
    const text = await readBody(req);
    fake.requests.push({
      method: req.method ?? "",
      path: req.url ?? "",
      contentType: req.headers["content-type"],
      body: JSON.parse(text) as Record<string, unknown>,
    });
    const answer = fake.answers.shift() ?? {
      status: 202,
      body: { status: "success", message: "Event processed", dedup_key: "x" },
    };
    if (answer === "hang") {
      hanging.add(res);
      return;
    }
    res.writeHead(answer.status, { "content-type": "application/json" });
    res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/enqueue`;
  fake.close = () =>
    new Promise<void>((resolve) => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return fake;
}
