/**
 * What every notifier answers (STYLE.md: a notifier returns whether a failure is retryable; the
 * retry loop lives in one place, its caller). Delivery failures are values, never exceptions.
 */
export type SendResult = { ok: true } | { ok: false; retryable: boolean; error: string };

export const SENT: SendResult = Object.freeze({ ok: true });

export function failure(retryable: boolean, error: string): SendResult {
  return { ok: false, retryable, error };
}

/** Longest error text carried in a SendResult (a server's reply can be long). */
const MAX_ERROR_LENGTH = 500;

/**
 * Replaces every occurrence of the given secrets (and their URL-encoded forms) in `text` with
 * `[REDACTED]` and caps its length: error texts from libraries and servers may echo what they
 * were given (a URL with its password, a routing key), and they end up in logs and results.
 */
export function createScrubber(secrets: ReadonlyArray<string | undefined>): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    try {
      forms.add(decodeURIComponent(secret));
    } catch {
      // not URL-encoded
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  const ordered = [...forms].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const form of ordered) out = out.split(form).join("[REDACTED]");
    return out.length > MAX_ERROR_LENGTH ? `${out.slice(0, MAX_ERROR_LENGTH - 1)}…` : out;
  };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
