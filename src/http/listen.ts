import type { FastifyInstance } from "fastify";

export interface ListenOptions {
  host: string;
  port: number;
}

/** A listen failure with a message an operator can act on; `code` keeps the system error code. */
export class ListenError extends Error {
  readonly code: string | undefined;

  constructor(message: string, code: string | undefined, cause: unknown) {
    super(message, { cause });
    this.name = "ListenError";
    this.code = code;
  }
}

/**
 * Starts listening and returns the base URL (`http://127.0.0.1:8080`). The common failures are
 * turned into one-line reasons naming the setting to change; main.ts prints them and exits 1.
 * The app is left as it is: its owner closes it.
 */
export async function listen(app: FastifyInstance, opts: ListenOptions): Promise<string> {
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    const code = (err as { code?: string } | null)?.code;
    const where = `port ${opts.port} on ${opts.host}`;
    switch (code) {
      case "EADDRINUSE":
        throw new ListenError(`${where} is already in use; set PORT to another port`, code, err);
      case "EACCES":
        throw new ListenError(
          `permission denied to listen on ${where}; ports below 1024 need privileges, set PORT to 1024 or above`,
          code,
          err,
        );
      case "EADDRNOTAVAIL":
      case "ENOTFOUND":
      case "EAI_AGAIN":
        throw new ListenError(
          `cannot listen on ${opts.host}: no such address on this machine; set HOST (e.g. 127.0.0.1 or 0.0.0.0)`,
          code,
          err,
        );
      default: {
        const message = err instanceof Error ? err.message : String(err);
        throw new ListenError(`cannot listen on ${where}: ${message}`, code, err);
      }
    }
  }
  const address = app.server.address();
  if (address && typeof address === "object") {
    const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }
  return `http://${opts.host}:${opts.port}`;
}
