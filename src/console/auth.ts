// Who may use the console. On loopback (the default) the console trusts the local user, but only
// requests addressed to a loopback name: a web page elsewhere that rebinds its DNS name to
// 127.0.0.1 must not drive the local admin. With `console.allow_remote` a password is required
// (HTTP Basic; any user name), compared in constant time, with failed attempts limited per address.

import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Coordinator } from "../coord/types.ts";
import { HttpError } from "../http/errors.ts";
import { isLoopbackHost } from "./local.ts";

export interface ConsoleAuthOptions {
  /** null: no password (loopback only). */
  password: string | null;
  allowRemote: boolean;
  coord: Pick<Coordinator, "increment">;
  failedAuthLimit: { count: number; perMs: number };
}

const REALM = 'Basic realm="pitwall console", charset="UTF-8"';

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** The password of `Authorization: Basic base64(user:password)`, or undefined. */
export function basicPassword(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Constant-time comparison: digests of equal length, whatever the lengths of the inputs. */
export function passwordMatches(presented: string | undefined, expected: string): boolean {
  const ok = timingSafeEqual(digest(presented ?? ""), digest(expected));
  return ok && presented !== undefined;
}

/** The host name of a Host header (`127.0.0.1:8080`, `[::1]:8080`, `localhost`). */
export function hostName(header: string | undefined): string {
  if (header === undefined) return "";
  const text = header.trim();
  if (text.startsWith("[")) return text.slice(0, text.indexOf("]") + 1);
  const colon = text.lastIndexOf(":");
  return colon < 0 ? text : text.slice(0, colon);
}

/** An onRequest hook for every console route. */
export function consoleAuth(opts: ConsoleAuthOptions) {
  const retryAfterS = Math.max(1, Math.ceil(opts.failedAuthLimit.perMs / 1000));
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    // A local reverse proxy (nginx proxy_pass to 127.0.0.1) keeps a loopback Host while serving
    // the world: a request that was forwarded is not local, whatever its Host says.
    const forwarded = ["x-forwarded-for", "forwarded", "x-real-ip"].some(
      (h) => request.headers[h] !== undefined,
    );
    if (!opts.allowRemote && (forwarded || !isLoopbackHost(hostName(request.headers.host)))) {
      throw new HttpError(
        403,
        "forbidden",
        "the console answers only requests addressed to 127.0.0.1 or localhost; open it at that address",
      );
    }
    if (opts.password === null) return;
    const presented = request.headers.authorization;
    if (passwordMatches(basicPassword(presented), opts.password)) return;
    // A browser's first request carries no credentials (the 401 makes it ask): only wrong ones count.
    if (presented !== undefined) {
      const failures = await opts.coord
        .increment(`console-authfail:${request.ip}`, opts.failedAuthLimit.perMs)
        .catch(() => 0);
      if (failures > opts.failedAuthLimit.count) {
        throw new HttpError(
          429,
          "too_many_failed_auth",
          `too many failed console logins from this address; retry in ${retryAfterS} s`,
          undefined,
          { "retry-after": String(retryAfterS) },
        );
      }
      request.log.warn({ client: request.ip }, "console login failed");
    }
    throw new HttpError(401, "unauthorized", "the console needs its password (console.password)", undefined, {
      "www-authenticate": REALM,
    });
  };
}
