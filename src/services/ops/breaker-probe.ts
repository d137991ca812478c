/**
 * Active probes (`circuit_breaker.breakers[].probe_url`): while a breaker is half-open, the leader
 * takes the probe lease like any caller would and tries the URL, so a breaker recovers even when
 * no agent asks for a permit. A closed breaker is never probed (its traffic tells enough).
 */
import { BreakerState } from "../../guards/circuit-breaker.ts";
import type { BreakerService } from "./breakers.ts";
import { errorText } from "./checks/probes.ts";
import { SYSTEM_ACTOR } from "./context.ts";

export async function probeBreaker(
  breakers: BreakerService,
  breaker: { name: string; probe_url: string },
  timeoutMs: number,
): Promise<"closed" | "not_due" | "probed"> {
  const permit = await breakers.permit(breaker.name, SYSTEM_ACTOR);
  if (permit.state.state === BreakerState.Closed) return "closed";
  if (!permit.allowed) return "not_due";
  const started = performance.now();
  try {
    const response = await fetch(breaker.probe_url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel().catch(() => undefined);
    await breakers.report(
      breaker.name,
      {
        ok: response.status < 400,
        status_code: response.status,
        latency_ms: Math.round(performance.now() - started),
      },
      SYSTEM_ACTOR,
    );
  } catch (err) {
    await breakers.report(
      breaker.name,
      { ok: false, error: errorText(err), latency_ms: Math.round(performance.now() - started) },
      SYSTEM_ACTOR,
    );
  }
  return "probed";
}
