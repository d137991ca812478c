import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { createLogger } from "../../src/observability/logger.ts";
import { startEmbeddedPostgres } from "../../src/store/embedded.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin URL of the test cluster; each test file creates its own database from it. */
    pgAdminUrl: string;
  }
}

/**
 * One PostgreSQL for the whole run: an external one when PITWALL_TEST_DATABASE_URL is set,
 * else the embedded server in a temporary directory (fsync off: test data is disposable).
 */
export default async function setup(project: TestProject) {
  const external = process.env.PITWALL_TEST_DATABASE_URL;
  if (external) {
    project.provide("pgAdminUrl", external);
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), "pitwall-test-pg-"));
  await chmod(dir, 0o755);
  const log = createLogger({ level: process.env.LOG_LEVEL ?? "warn" });
  const server = await startEmbeddedPostgres({
    dataDir: dir,
    log,
    settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: "400" },
  });
  project.provide("pgAdminUrl", server.url);
  return async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
