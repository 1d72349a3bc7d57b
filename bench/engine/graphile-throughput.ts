/**
 * The same no-op drain through graphile-worker, in a schema of its own on the same database.
 * Batching stays at graphile-worker's defaults (off: localQueue.size and completeJobBatchDelay
 * are -1), so per job it runs one get_job query and one delete, like the engine's two calls.
 */
import { EventEmitter } from "node:events";
import pg from "pg";
import { Logger, makeWorkerUtils, run, type WorkerEvents, type WorkerUtils } from "graphile-worker";
import type { DrainResult } from "./engine-throughput.ts";
import { type CpuReader, cpuWindow } from "../support/postgres-cpu.ts";

export const GRAPHILE_SCHEMA = "bench_graphile_worker";
const TIMEOUT_MS = 120_000;

const silent = new Logger(() => () => {});

export function graphileUtils(dbUrl: string): Promise<WorkerUtils> {
  return makeWorkerUtils({ connectionString: dbUrl, schema: GRAPHILE_SCHEMA, logger: silent });
}

async function query(utils: WorkerUtils, text: string) {
  return (await utils.withPgClient((client) => client.query(text))).rows;
}

/** Adds in one add_jobs call (not timed). */
export async function enqueueGraphileNoops(utils: WorkerUtils, count: number): Promise<void> {
  await utils.addJobs(Array.from({ length: count }, () => ({ identifier: "noop", payload: {} })));
  await query(utils, `vacuum analyze ${GRAPHILE_SCHEMA}._private_jobs`);
}

/** A pool with every connection already open: the engine's loops also connect before the clock. */
async function warmPool(dbUrl: string, size: number, onError: (error: Error) => void): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: dbUrl, max: size });
  pool.on("error", onError);
  pool.on("connect", (client) => client.on("error", onError));
  const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
  for (const client of clients) client.release();
  return pool;
}

/**
 * Timed from the first get_job to the last job's delete being committed: graphile-worker does not
 * await complete_job before fetching the next job, so 'job:complete' fires before the delete.
 */
export async function drainWithGraphile(
  dbUrl: string,
  utils: WorkerUtils,
  concurrency: number,
  count: number,
  cpu: CpuReader | null,
): Promise<DrainResult> {
  const events: WorkerEvents = new EventEmitter();
  let started = 0;
  let completed = 0;
  const allCompleted = Promise.withResolvers<void>();
  // Room for each worker's get_job plus its in-flight complete_job, and the LISTEN client.
  const pool = await warmPool(dbUrl, Math.max(10, 2 * concurrency + 1), allCompleted.reject);
  const timer = setTimeout(
    () =>
      allCompleted.reject(new Error(`graphile-worker ran ${completed} of ${count} jobs in ${TIMEOUT_MS} ms`)),
    TIMEOUT_MS,
  );
  let cpuSince: () => number | null = () => null;
  events.on("worker:getJob:start", () => {
    if (!started) {
      cpuSince = cpuWindow(cpu);
      started = performance.now();
    }
  });
  events.on("job:complete", () => {
    if (++completed === count) allCompleted.resolve();
  });
  const runner = await run({
    pgPool: pool,
    schema: GRAPHILE_SCHEMA,
    concurrency,
    pollInterval: 100,
    noHandleSignals: true,
    logger: silent,
    events,
    taskList: { noop: async () => {} },
  });
  try {
    await allCompleted.promise;
    const remaining = `select count(*)::int as n from ${GRAPHILE_SCHEMA}._private_jobs`;
    while ((await query(utils, remaining))[0].n > 0) { /* the last deletes are still in flight */ }
    const ms = performance.now() - started;
    return { tasks: completed, ms, tasksPerSecond: (completed / ms) * 1000, databaseCpuMs: cpuSince() };
  } finally {
    clearTimeout(timer);
    await runner.stop();
    await pool.end();
  }
}

export async function dropGraphileSchema(utils: WorkerUtils): Promise<void> {
  await query(utils, `drop schema if exists ${GRAPHILE_SCHEMA} cascade`);
}
