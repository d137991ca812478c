/**
 * The alerts feature area as main wires it: HTTP routes, the bot feature, the leader's jobs
 * (group flushes, escalations, silence expiry, email/PagerDuty delivery) and the
 * AlertSink other modules raise alerts through.
 */
import { alertsFeature } from "../../bot/features/alerts/index.ts";
import type { Job } from "../../jobs/runner.ts";
import type { AlertSink } from "../contracts.ts";
import type { ModuleDeps, PitwallModule } from "../module.ts";
import { type AlertsEnv, alertChats } from "./env.ts";
import { createAlertMetrics } from "./metrics.ts";
import type { EscalationNotifiers } from "./notifiers.ts";
import { alertsRoutes } from "./routes.ts";
import { type AlertsService, createAlertsService } from "./service.ts";
import { createAlertTexts } from "./texts.ts";

export type AlertsModuleDeps = ModuleDeps & {
  notifiers?: EscalationNotifiers;
  /** Group commit tuning (benchmarks, tests). */
  batch?: { maxBatch?: number; maxWaitMs?: number; maxQueued?: number };
};

export type AlertsModule = PitwallModule & { alerts: AlertSink; service: AlertsService };

/** How often the leader looks for due work. Group flushes need sub-second turns for group_wait. */
export const JOB_INTERVALS = {
  groups: 500,
  escalations: 5_000,
  silences: 5_000,
  notifications: 1_000,
} as const;

export async function createAlertsModule(deps: AlertsModuleDeps): Promise<AlertsModule> {
  const { config, log } = deps;
  const notifiers = deps.notifiers ?? {};
  const firstAdmin =
    config.telegram?.operators.find((o) => o.role === "admin") ?? config.telegram?.operators[0] ?? undefined;
  const env: AlertsEnv = {
    alerting: config.alerting,
    chats: alertChats(config, deps.telegramEnabled),
    quietHours: config.telegram?.quiet_hours ?? null,
    texts: createAlertTexts({ language: firstAdmin?.language, timeZone: config.digest.timezone }),
    now: deps.now,
    log: log.child({ module: "alerts" }),
    notifiers,
  };
  if (config.alerting.email && !notifiers.email) {
    env.log.warn("alerting.email is configured but no email notifier was wired: escalations skip email");
  }
  if (config.alerting.pagerduty && !notifiers.pagerduty) {
    env.log.warn("alerting.pagerduty is configured but no PagerDuty notifier was wired: escalations skip it");
  }
  // The queue gauge reads the service made just below (read at scrape time only).
  let waiting = () => 0;
  const metrics = createAlertMetrics(deps.metrics.registry, deps.db, () => waiting());
  const service = createAlertsService({
    db: deps.db,
    env,
    onIngested: (results) => metrics.ingested(results),
    onCountOnly: (alerts) => metrics.countOnly(alerts),
    onRefused: (alerts) => metrics.refused(alerts),
    ...(deps.batch ? { batch: deps.batch } : {}),
  });
  waiting = () => service.ingestWaiting();

  const jobs: Job[] = [
    {
      name: "alert-groups",
      everyMs: JOB_INTERVALS.groups,
      run: async () => void (await service.flushGroups()),
    },
    {
      name: "alert-escalations",
      everyMs: JOB_INTERVALS.escalations,
      run: async () => void (await service.escalate()),
    },
    {
      name: "alert-silences",
      everyMs: JOB_INTERVALS.silences,
      run: async () => void (await service.expireSilences()),
    },
    {
      name: "alert-notifications",
      everyMs: JOB_INTERVALS.notifications,
      run: async () => void (await service.deliverNotifications()),
    },
  ];

  return {
    name: "alerts",
    routes: [alertsRoutes(service)],
    botFeatures: [alertsFeature({ service, db: deps.db })],
    jobs,
    alerts: service.sink,
    service,
    close: () => service.close(),
  };
}
