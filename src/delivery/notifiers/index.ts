import type { Config } from "../../config/index.ts";
import type { Logger } from "../../observability/logger.ts";
import { createEmailNotifier, type EmailNotifier } from "./email.ts";
import { createPagerDutyNotifier, type PagerDutyNotifier } from "./pagerduty.ts";

export {
  createDeliveryAlertHandler,
  DELIVERY_DEDUP_KEY,
  type DeliveryAlertHandler,
  type DeliveryAlertOptions,
} from "./delivery-alert.ts";
export {
  createEmailNotifier,
  type EmailMessage,
  type EmailNotifier,
  type EmailNotifierOptions,
  isRetryableSmtpError,
} from "./email.ts";
export {
  createPagerDutyNotifier,
  PAGERDUTY_EVENTS_URL,
  type PagerDutyIncident,
  type PagerDutyLink,
  type PagerDutyNotifier,
  type PagerDutyNotifierOptions,
  type PagerDutySeverity,
  shortenDedupKey,
} from "./pagerduty.ts";
export type { SendResult } from "./types.ts";

/** The channels beside Telegram that are configured; an absent one is not configured. */
export interface Notifiers {
  email?: Pick<EmailNotifier, "send">;
  pagerduty?: PagerDutyNotifier;
}

export interface NotifierSettings {
  alerting: Pick<Config["alerting"], "email" | "pagerduty">;
}

/** The email and PagerDuty senders of `alerting.email` / `alerting.pagerduty`, when configured. */
export function createNotifiers(
  config: NotifierSettings,
  log: Logger,
  overrides: { fetch?: typeof fetch; timeoutMs?: number } = {},
): Notifiers & { email?: EmailNotifier } {
  const notifiers: Notifiers & { email?: EmailNotifier } = {};
  const { email, pagerduty } = config.alerting;
  if (email) {
    notifiers.email = createEmailNotifier({
      smtpUrl: email.smtp_url,
      from: email.from,
      to: email.to,
      log,
      ...(overrides.timeoutMs === undefined ? {} : { timeoutMs: overrides.timeoutMs }),
    });
  }
  if (pagerduty) {
    notifiers.pagerduty = createPagerDutyNotifier({
      routingKey: pagerduty.routing_key,
      eventsUrl: pagerduty.events_url,
      log,
      ...(overrides.fetch === undefined ? {} : { fetch: overrides.fetch }),
      ...(overrides.timeoutMs === undefined ? {} : { timeoutMs: overrides.timeoutMs }),
    });
  }
  return notifiers;
}
