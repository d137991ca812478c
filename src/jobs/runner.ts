import cron, { type ScheduledTask } from "node-cron";
import type { Logger } from "../observability/logger.ts";
import { newTrace, runWithTrace } from "../observability/trace.ts";

/**
 * A job the leader runs. Jobs claim their due rows in Postgres (due times, `FOR UPDATE SKIP
 * LOCKED`), so a brief second leader does no harm; the runner only decides *when* to look.
 */
export interface Job {
  name: string;
  /** Run every N ms (first run right after start). */
  everyMs?: number;
  /** Or a cron expression (node-cron, 5 or 6 fields) in `timezone` (default UTC). */
  cron?: string;
  timezone?: string;
  run(ctx: JobContext): Promise<void>;
}

export interface JobContext {
  log: Logger;
  /** Aborted when the runner stops (leadership lost or shutdown): long jobs should return early. */
  signal: AbortSignal;
}

export interface JobRunner {
  start(): void;
  /** Stops scheduling and waits for running jobs to finish. */
  stop(): Promise<void>;
  /** Runs one job now (tests, `/digest`-like on-demand triggers); resolves when it finished. */
  runNow(name: string): Promise<void>;
}

/**
 * Runs jobs with a fresh trace each, never two runs of one job at once, errors logged (a failing
 * job never stops the others or the process).
 */
export function createJobRunner(opts: { jobs: readonly Job[]; log: Logger }): JobRunner {
  const running = new Map<string, Promise<void>>();
  const timers: NodeJS.Timeout[] = [];
  const tasks: ScheduledTask[] = [];
  let abort = new AbortController();
  let started = false;

  const execute = (job: Job): Promise<void> => {
    const inFlight = running.get(job.name);
    if (inFlight) return inFlight;
    const trace = newTrace();
    const run = runWithTrace(trace, async () => {
      const log = opts.log.child({ job: job.name });
      try {
        await job.run({ log, signal: abort.signal });
      } catch (err) {
        log.error({ err }, "job failed");
      }
    }).finally(() => running.delete(job.name));
    running.set(job.name, run);
    return run;
  };

  return {
    start() {
      if (started) return;
      started = true;
      abort = new AbortController();
      for (const job of opts.jobs) {
        if (job.everyMs) {
          void execute(job);
          timers.push(setInterval(() => void execute(job), job.everyMs));
        } else if (job.cron) {
          tasks.push(
            cron.schedule(job.cron, () => void execute(job), {
              timezone: job.timezone ?? "UTC",
              name: `pitwall-${job.name}`,
            }),
          );
        }
      }
    },
    async stop() {
      if (!started) return;
      started = false;
      abort.abort();
      for (const timer of timers.splice(0)) clearInterval(timer);
      for (const task of tasks.splice(0)) await task.stop();
      await Promise.all(running.values());
    },
    runNow(name) {
      const job = opts.jobs.find((j) => j.name === name);
      if (!job) return Promise.reject(new Error(`no job named ${name}`));
      return execute(job);
    },
  };
}
