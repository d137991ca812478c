import type { FastifyInstance } from "fastify";
import { type Config, formatIssues, parseConfig } from "../../../src/config/index.ts";
import { createPostgresCoordinator } from "../../../src/coord/postgres.ts";
import type { Coordinator } from "../../../src/coord/types.ts";
import { createHttpServer } from "../../../src/http/server.ts";
import { silentLogger } from "../../../src/observability/logger.ts";
import { createMetrics } from "../../../src/observability/metrics.ts";
import { type ApprovalsModule, createApprovalsModule } from "../../../src/services/approvals/module.ts";
import type { Mode, ModeReader } from "../../../src/services/contracts.ts";
import type { Db } from "../../../src/store/pool.ts";
import { testKeys } from "../../http/support.ts";

export const OPERATORS = {
  admin: { id: 7101, first_name: "Ada", language_code: "en" },
  approver: { id: 7102, first_name: "Apu", language_code: "en" },
  approver2: { id: 7104, first_name: "Bea", language_code: "en" },
  viewer: { id: 7103, first_name: "Val", language_code: "en" },
  stranger: { id: 7999, first_name: "Stan", language_code: "en" },
};

export const APPROVALS_CHAT = -1007000000001;

/** The report's blocks and DESIGN.md's agents, with a Telegram section whose approvals chat is a group. */
export const BASE_YAML = `
agents: { coder: unrestricted, reader: read_only, helper: limited }
security:
  tool_approval:
    auto_approve: [read_file, http_get]
    require_approval: [delete_file, exec_command, http_post]
    argument_rules:
      - { tool: exec_command, arg: cmd, pattern: "git (status|diff|log)( [^;&|]*)?", action: auto_approve }
      - { tool: exec_command, arg: cmd, contains: "mkfs", action: deny, reason: never format disks }
safety:
  output:
    filter_sensitive: [api_key, password, token, secret]
    rate_limit_per_user: 100 requests/hour
approvals: { timeout: 5 minutes, default_level: limited, always_allow_ttl: 24h, group_wait: 2s }
telegram:
  operators:
    - { id: ${OPERATORS.admin.id}, role: admin, name: Ada }
    - { id: ${OPERATORS.approver.id}, role: approver, name: Apu }
    - { id: ${OPERATORS.approver2.id}, role: approver, name: Bea }
    - { id: ${OPERATORS.viewer.id}, role: viewer, name: Val }
  chats:
    approvals: ${APPROVALS_CHAT}
`;

export function configFrom(yaml: string): Config {
  const result = parseConfig(yaml, {});
  if (!result.ok) throw new Error(`test config rejected:\n${formatIssues(result.errors)}`);
  return result.config;
}

/** A clock tests move by hand. */
export class FakeClock {
  ms: number;
  constructor(start = Date.now()) {
    this.ms = start;
  }
  now = (): Date => new Date(this.ms);
  advance(ms: number): void {
    this.ms += ms;
  }
}

export class FakeMode implements ModeReader {
  mode: Mode = "FULL";
  async current() {
    return { mode: this.mode, reasons: this.mode === "FULL" ? [] : ["pinned by a test"] };
  }
}

export interface Instance {
  module: ApprovalsModule;
  app: FastifyInstance;
  coord: Coordinator;
  close(): Promise<void>;
}

export interface InstanceOptions {
  db: Db;
  url: string;
  config: Config;
  clock: FakeClock;
  telegramEnabled?: boolean;
  mode?: ModeReader;
  name?: string;
}

/** One pitwall instance's approvals: module, coordinator (real Postgres) and HTTP app. */
export async function startInstance(opts: InstanceOptions): Promise<Instance> {
  const log = silentLogger();
  const coord = await createPostgresCoordinator({
    db: opts.db,
    url: opts.url,
    log,
    instanceId: opts.name ?? "a",
  });
  const metrics = createMetrics();
  const module = await createApprovalsModule({
    config: opts.config,
    db: opts.db,
    coord,
    log,
    metrics,
    now: opts.clock.now,
    telegramEnabled: opts.telegramEnabled ?? true,
    ...(opts.mode ? { mode: opts.mode } : {}),
  });
  const app = await createHttpServer({
    db: opts.db,
    coord,
    log,
    metrics,
    apiKeys: testKeys,
    registerRoutes: module.routes ?? [],
  });
  return {
    module,
    app,
    coord,
    async close() {
      await app.close();
      await module.close?.();
      await coord.close();
    },
  };
}

/** Polls a condition no event signals (rows, outbox); bounded, never a fixed sleep. */
export async function until<T>(
  probe: () => T | Promise<T>,
  what = "condition",
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
