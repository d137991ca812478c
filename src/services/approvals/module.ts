/**
 * The approvals feature area as one module (src/services/module.ts): the HTTP API, the Telegram
 * feature ("Deny with reason" conversation included) and the leader's expiry job.
 *
 * Without Telegram (`telegramEnabled` false) nothing is queued for Telegram; approvals still work
 * over HTTP, and a pending one is decided only by policy or by expiry (a denial for the agent).
 */
import { approvalsFeature } from "../../bot/features/approvals/index.ts";
import type { ModuleDeps, PitwallModule } from "../module.ts";
import { pruneConversations } from "./conversation-store.ts";
import { approvalsRoutes } from "./routes.ts";
import { type ApprovalsService, createApprovalsService } from "./service.ts";

/** How often the leader looks for due expiries: the card edit follows within about this. */
export const EXPIRY_EVERY_MS = 1_000;
/** Conversation state untouched this long belongs to questions that expired (timeouts are ≤ 1 h). */
const CONVERSATION_MAX_AGE_MS = 24 * 60 * 60 * 1000;

export interface ApprovalsModule extends PitwallModule {
  service: ApprovalsService;
}

export async function createApprovalsModule(deps: ModuleDeps): Promise<ApprovalsModule> {
  const service = createApprovalsService({
    config: deps.config,
    db: deps.db,
    coord: deps.coord,
    log: deps.log.child({ module: "approvals" }),
    now: deps.now,
    telegramEnabled: deps.telegramEnabled,
    // Read at each request: the ops module may be wired after this one.
    mode: {
      current: () => (deps.mode ? deps.mode.current() : Promise.resolve({ mode: "FULL", reasons: [] })),
    },
    registry: deps.metrics.registry,
  });
  await service.waiters.start();
  return {
    name: "approvals",
    service,
    routes: [approvalsRoutes({ service, db: deps.db, defaultTimeoutMs: deps.config.approvals.timeout })],
    botFeatures: [approvalsFeature({ service, db: deps.db, config: deps.config, log: deps.log })],
    jobs: [
      {
        name: "approvals-expiry",
        everyMs: EXPIRY_EVERY_MS,
        async run({ log }) {
          const expired = await service.expireDue();
          if (expired > 0) log.info({ expired }, "approvals expired");
        },
      },
      {
        name: "approvals-conversations-prune",
        everyMs: 60 * 60 * 1000,
        async run() {
          await pruneConversations(deps.db, CONVERSATION_MAX_AGE_MS);
        },
      },
    ],
    close: () => service.close(),
  };
}
