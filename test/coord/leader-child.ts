/**
 * A pitwall instance reduced to one leader campaign, run in its own process so tests can
 * kill -9 it or freeze it (SIGSTOP) like a real deployment would see. Reports on stdout, one
 * word per line: "ready", "elected", "deposed".
 */
import { createCoordinator } from "../../src/coord/index.ts";
import { createRedisCoordinator } from "../../src/coord/redis.ts";
import { silentLogger } from "../../src/observability/logger.ts";
import { createPool } from "../../src/store/pool.ts";

export interface LeaderChildSpec {
  kind: "redis" | "postgres";
  instanceId: string;
  name: string;
  ttlMs: number;
  redisUrl?: string;
  keyPrefix?: string;
  databaseUrl?: string;
}

const spec = JSON.parse(process.env.PITWALL_LEADER_CHILD ?? "{}") as LeaderChildSpec;
const log = silentLogger();
const say = (word: string): void => {
  process.stdout.write(`${word}\n`);
};

const coordinator =
  spec.kind === "redis"
    ? await createRedisCoordinator({
        url: spec.redisUrl ?? "",
        keyPrefix: spec.keyPrefix,
        instanceId: spec.instanceId,
        log,
      })
    : await createCoordinator({
        db: createPool({ url: spec.databaseUrl ?? "", log, max: 2 }),
        databaseUrl: spec.databaseUrl ?? "",
        instanceId: spec.instanceId,
        log,
      });

coordinator.campaign(spec.name, spec.ttlMs, {
  onElected: () => say("elected"),
  onDeposed: () => say("deposed"),
});
say("ready");
// Campaign timers are unref'd; this keeps the process alive until the test ends it.
setInterval(() => undefined, 60_000);
