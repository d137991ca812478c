import type { Logger } from "../observability/logger.ts";
import type { Db } from "../store/pool.ts";
import { createPostgresCoordinator } from "./postgres.ts";
import { createRedisCoordinator } from "./redis.ts";
import type { Coordinator } from "./types.ts";

export { CoordinationError, MAX_MESSAGE_BYTES } from "./common.ts";
export { createPostgresCoordinator, type PostgresCoordinatorOptions } from "./postgres.ts";
export { createRedisCoordinator, type RedisCoordinatorOptions } from "./redis.ts";
export type * from "./types.ts";

export interface CoordinatorOptions {
  /** REDIS_URL; when unset, coordination goes through Postgres. */
  redisUrl?: string;
  db: Db;
  databaseUrl: string;
  log: Logger;
  instanceId?: string;
}

/** Redis when a Redis URL is configured, else Postgres: either serves several instances. */
export function createCoordinator(opts: CoordinatorOptions): Promise<Coordinator> {
  if (opts.redisUrl) {
    return createRedisCoordinator({ url: opts.redisUrl, log: opts.log, instanceId: opts.instanceId });
  }
  return createPostgresCoordinator({
    db: opts.db,
    url: opts.databaseUrl,
    log: opts.log,
    instanceId: opts.instanceId,
  });
}
