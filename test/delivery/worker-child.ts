/**
 * An outbox worker in its own process, so the kill-and-restart test can kill -9 it mid-send like
 * a real deployment would. Configured by PITWALL_OUTBOX_CHILD (JSON); says "ready" on stdout.
 */
import { createPostgresCoordinator } from "../../src/coord/postgres.ts";
import { createOutboxApi } from "../../src/delivery/telegram.ts";
import { createOutboxWorker } from "../../src/delivery/worker.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { createPool } from "../../src/store/pool.ts";

export interface OutboxChildSpec {
  databaseUrl: string;
  apiRoot: string;
  token: string;
  instanceId: string;
  leaseMs: number;
  maxInFlight: number;
}

const spec = JSON.parse(process.env.PITWALL_OUTBOX_CHILD ?? "{}") as OutboxChildSpec;
const log = silentLogger();
const db = createPool({ url: spec.databaseUrl, log, max: 12 });
const coord = await createPostgresCoordinator({
  db,
  url: spec.databaseUrl,
  log,
  instanceId: spec.instanceId,
});
const worker = createOutboxWorker({
  db,
  coord,
  api: createOutboxApi({ token: spec.token, apiRoot: spec.apiRoot }),
  log,
  instanceId: spec.instanceId,
  leaseMs: spec.leaseMs,
  callTimeoutMs: 60_000, // the test holds calls; only the kill ends them
  maxInFlight: spec.maxInFlight,
  pacing: {
    private: { limit: 40, periodMs: 1000, burst: 5 },
    group: { limit: 2000, periodMs: 60_000, burst: 20 },
    global: { limit: 300, periodMs: 1000, burst: 20 },
  },
});
worker.start();
process.stdout.write("ready\n");
setInterval(() => undefined, 60_000);
