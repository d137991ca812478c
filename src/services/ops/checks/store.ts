/**
 * Check results in Postgres with their debounce state (src/guards/health-check.ts): a check alerts
 * after `failure_threshold` failures in a row and resolves on its first success after that. The
 * row is locked while a result is applied, so a brief second leader cannot double-count a run or
 * raise the alert twice.
 */

import {
  type CheckEvaluation,
  type CheckResult,
  type CheckState,
  evaluateCheck,
  initialCheckState,
} from "../../../guards/health-check.ts";
import { inTransaction } from "../../../store/pool.ts";
import type { AlertSeverity } from "../../contracts.ts";
import type { OpsContext } from "../context.ts";

/** How one check (configured, or built in) is judged and announced. */
export interface CheckSpec {
  name: string;
  /** http, tcp, postgres, redis, disk, memory, command; `host` and `service` for built-in thresholds. */
  kind: string;
  failureThreshold: number;
  severity: AlertSeverity;
  /** The alert's title while down: "Health check api is down". */
  title: string;
  labels?: Record<string, string>;
}

export interface StoredCheck {
  name: string;
  kind: string;
  state: CheckState;
}

export function checkAlertKey(name: string): string {
  return `check:${name}`;
}

function parseState(value: unknown): CheckState {
  return { ...initialCheckState(), ...(value as Partial<CheckState>) };
}

export async function recordCheckResult(
  ctx: OpsContext,
  spec: CheckSpec,
  result: CheckResult,
): Promise<CheckEvaluation> {
  const now = ctx.now();
  const evaluation = await inTransaction(ctx.db, async (client) => {
    await client.query(
      `insert into check_states (name, kind, state, updated_at) values ($1, $2, $3, $4)
       on conflict (name) do nothing`,
      [spec.name, spec.kind, JSON.stringify(initialCheckState()), new Date(now)],
    );
    const { rows } = await client.query<{ state: unknown }>(
      "select state from check_states where name = $1 for update",
      [spec.name],
    );
    const next = evaluateCheck(parseState(rows[0]?.state), result, spec.failureThreshold, now);
    await client.query("update check_states set kind = $2, state = $3, updated_at = $4 where name = $1", [
      spec.name,
      spec.kind,
      JSON.stringify(next.state),
      new Date(now),
    ]);
    return next;
  });

  const state = evaluation.state;
  if (evaluation.event === "alert") {
    ctx.log.warn({ check: spec.name, detail: state.detail }, `check ${spec.name} is down`);
    await ctx.alerts.fire({
      key: checkAlertKey(spec.name),
      severity: spec.severity,
      title: spec.title,
      text: `${state.consecutive_failures} failures in a row; last: ${state.detail ?? "failed"}`,
      source: "check",
      labels: { alertname: "HealthCheckFailing", check: spec.name, kind: spec.kind, ...spec.labels },
    });
  } else if (evaluation.event === "resolve") {
    ctx.log.info({ check: spec.name }, `check ${spec.name} recovered`);
    await ctx.alerts.resolve(
      checkAlertKey(spec.name),
      `check ${spec.name} recovered: ${state.detail ?? "ok"}`,
    );
  }
  return evaluation;
}

export async function storedChecks(ctx: OpsContext): Promise<StoredCheck[]> {
  const { rows } = await ctx.db.query<{ name: string; kind: string; state: unknown }>(
    "select name, kind, state from check_states order by name",
  );
  return rows.map((row) => ({ name: row.name, kind: row.kind, state: parseState(row.state) }));
}
