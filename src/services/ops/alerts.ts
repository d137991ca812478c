import type { Logger } from "../../observability/logger.ts";
import type { AlertSink, SystemAlert } from "../contracts.ts";

/**
 * How ops raises alerts: through the alert pipeline when there is one, else into the log. The
 * state change an alert reports has already committed when it is raised, so a failing pipeline is
 * logged and reported to the caller as `false`, never thrown: the agent's request still succeeded.
 */
export interface AlertEmitter {
  /** True when the alert reached the pipeline (or the log, without one). */
  fire(alert: SystemAlert): Promise<boolean>;
  resolve(key: string, note?: string): Promise<boolean>;
}

export function alertEmitter(sink: AlertSink | undefined, log: Logger): AlertEmitter {
  return {
    async fire(alert) {
      if (!sink) {
        log.warn({ alert }, `alert (no alert pipeline): ${alert.title}`);
        return true;
      }
      try {
        await sink.fire(alert);
        return true;
      } catch (err) {
        log.error({ err, alert_key: alert.key }, "could not raise an alert");
        return false;
      }
    },
    async resolve(key, note) {
      if (!sink) {
        log.info({ alert_key: key, note }, "alert resolved (no alert pipeline)");
        return true;
      }
      try {
        await sink.resolve(key, note);
        return true;
      } catch (err) {
        log.error({ err, alert_key: key }, "could not resolve an alert");
        return false;
      }
    },
  };
}
