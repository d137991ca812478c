/**
 * The digest feature area as main wires it: the daily job at `digest.schedule` in
 * `digest.timezone`, the catch-up (on leader start and every minute: a run missed while pitwall
 * was down goes out late, and email retries), and `/digest` in chat.
 */
import { digestFeature } from "../../bot/features/digest.ts";
import { createEmailNotifier } from "../../delivery/notifiers/email.ts";
import type { ChatTarget } from "../../delivery/types.ts";
import type { Job } from "../../jobs/runner.ts";
import type { ModuleDeps, PitwallModule } from "../module.ts";
import { budgetStatuses } from "../ops/budgets.ts";
import { digestSchedule } from "./schedule.ts";
import { createDigestService, type DigestMailer, type DigestService } from "./service.ts";
import { digestTranslator, teamLanguage } from "./texts.ts";

export type DigestModuleDeps = Omit<ModuleDeps, "notifiers"> & {
  /** The alerting notifiers (createNotifiers): their email sender is used when digest.email is `true`. */
  notifiers?: { email?: DigestMailer };
};

export type DigestModule = PitwallModule & { service: DigestService };

/** How often the leader looks for a missed digest and for email retries. */
export const CATCH_UP_EVERY_MS = 60_000;

function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  const norm = (list: readonly string[]) =>
    [...new Set(list.map((address) => address.trim().toLowerCase()))].sort();
  return norm(a).join("\n") === norm(b).join("\n");
}

export async function createDigestModule(deps: DigestModuleDeps): Promise<DigestModule> {
  const { config } = deps;
  const log = deps.log.child({ module: "digest" });
  const closers: Array<() => void> = [];

  // digest.email is resolved by the config: `true` became alerting.email.to, a list stays a list.
  let mailer: DigestMailer | null = null;
  const recipients = config.digest.email;
  const smtp = config.alerting.email;
  if (recipients.length > 0 && smtp) {
    if (deps.notifiers?.email && sameAddresses(recipients, smtp.to)) {
      mailer = deps.notifiers.email;
    } else {
      // Other recipients than the alerts' (or no notifier wired): the same SMTP server, its own list.
      const own = createEmailNotifier({ smtpUrl: smtp.smtp_url, from: smtp.from, to: recipients, log });
      closers.push(() => own.close());
      mailer = own;
    }
  }

  const digestChat = config.telegram?.chats.digest;
  const chat: ChatTarget | null =
    deps.telegramEnabled && digestChat
      ? { id: digestChat.id, ...(digestChat.thread === null ? {} : { thread: digestChat.thread }) }
      : null;

  const schedule = digestSchedule(config.digest.schedule, config.digest.timezone);
  closers.push(() => schedule.close());

  const service = createDigestService({
    config,
    db: deps.db,
    log,
    now: deps.now,
    schedule,
    chat,
    mailer,
    t: digestTranslator(teamLanguage(config)),
    // The budgets' own statuses (ops time zone), not a copy in the digest's zone: one definition
    // of a budget's window and usage, so the digest and /budgets never disagree.
    budgetStatuses,
  });

  const jobs: Job[] = [];
  if (!config.digest.enabled) {
    log.info("digest.enabled is false: no daily digest (/digest still answers)");
  } else if (!chat && !mailer) {
    log.info("no digest chat (Telegram is off) and no digest.email: no daily digest (/digest still answers)");
  } else {
    jobs.push(
      {
        name: "digest",
        cron: config.digest.schedule,
        timezone: config.digest.timezone,
        run: async ({ log: jobLog }) => {
          const outcome = await service.runScheduled("schedule");
          jobLog.debug({ outcome }, "digest run");
        },
      },
      {
        name: "digest-catch-up",
        everyMs: CATCH_UP_EVERY_MS,
        run: async ({ log: jobLog }) => {
          const outcome = await service.runScheduled("catch_up");
          if (outcome.kind === "sent") jobLog.info({ outcome }, "sent a missed digest");
          await service.retryEmails();
        },
      },
    );
  }

  return {
    name: "digest",
    service,
    botFeatures: [digestFeature({ onDemand: (t) => service.onDemand(t) })],
    jobs,
    async close() {
      for (const close of closers.splice(0)) close();
    },
  };
}
