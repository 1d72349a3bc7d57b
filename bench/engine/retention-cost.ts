/**
 * What retention costs while the engine works: engine.retain() called back to back (each call one
 * batch of the configured size, as the scheduled job runs it once a minute) over a history past
 * its retention, for a fixed window, while C claimers claim and complete no-op tasks. The same
 * claimers run a window without retention first; comparing their claim latencies shows how long
 * a retention batch made a claim wait (its locks, its I/O, its CPU), and pg_stat_activity, sampled
 * meanwhile, how long a claimer waited on a lock. A third window does the same with retention
 * copying each task it removes into the archive first (docs/engine.md, "Retention").
 */
import postgres, { type Sql } from "postgres";
import { percentile } from "../support/stats.ts";
import { deleteEngineNoops, enqueueEngineNoops, NOOP_KIND } from "./engine-throughput.ts";
import { STEPS_PER_TASK } from "./history.ts";

const CLAIMER_APP = "bench-retain-claimer";
const SAMPLE_EVERY_MS = 20;

export interface ClaimWindow {
  tasks: number;
  tasksPerSecond: number;
  claimP50Ms: number;
  claimP99Ms: number;
  claimMaxMs: number;
  /** pg_stat_activity sampled every SAMPLE_EVERY_MS: claimers found waiting on a lock. */
  lockWaits: { samples: number; samplesWithAWait: number; longestMs: number };
}

export interface RetentionRun {
  seconds: number;
  batches: number;
  batchSize: number;
  tasksRemoved: number;
  /** Tasks and their steps (every history task has STEPS_PER_TASK). */
  rowsRemoved: number;
  rowsPerSecond: number;
  batchP50Ms: number;
  batchMaxMs: number;
}

/** Claim+complete loops until `stop()`, timing each claim call (its round trip and commit). */
async function claimUntil(dbUrl: string, concurrency: number, stop: () => boolean): Promise<ClaimWindow> {
  const connections = Array.from(
    { length: concurrency },
    (_, i) =>
      postgres(dbUrl, {
        max: 1,
        onnotice: () => {},
        connection: { application_name: `${CLAIMER_APP}-${i}` },
      }),
  );
  try {
    await Promise.all(connections.map((sql) => sql`select 1`));
    const lockWaits = sampleLockWaits(dbUrl, stop);
    const latencies: number[] = [];
    let tasks = 0;
    const started = performance.now();
    await Promise.all(connections.map(async (sql, i) => {
      while (!stop()) {
        const before = performance.now();
        const [task] = await sql`
          select id, fencing_token from engine.claim_next_task(array[${NOOP_KIND}]::text[], ${`bench-retain-${i}`}, 30)`;
        latencies.push(performance.now() - before);
        if (task.id === null) continue;
        await sql`select engine.complete_task(${task.id}, ${task.fencing_token}::bigint, null, '{}')`;
        tasks++;
      }
    }));
    const ms = performance.now() - started;
    return {
      tasks,
      tasksPerSecond: (tasks / ms) * 1000,
      claimP50Ms: percentile(latencies, 50),
      claimP99Ms: percentile(latencies, 99),
      claimMaxMs: Math.max(...latencies),
      lockWaits: await lockWaits,
    };
  } finally {
    await Promise.all(connections.map((sql) => sql.end()));
  }
}

/** Samples the claimers' lock waits until `stop()`: how often one waited and the longest wait seen. */
async function sampleLockWaits(dbUrl: string, stop: () => boolean): Promise<ClaimWindow["lockWaits"]> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    let samples = 0, samplesWithAWait = 0, longestMs = 0;
    while (!stop()) {
      const [{ waiting, longest }] = await sql`
        select count(*)::int as waiting,
               coalesce(max(extract(epoch from clock_timestamp() - query_start) * 1000), 0)::float8 as longest
          from pg_stat_activity
         where application_name like ${CLAIMER_APP + "-%"} and wait_event_type = 'Lock'`;
      samples++;
      if (waiting > 0) samplesWithAWait++;
      longestMs = Math.max(longestMs, longest);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    }
    return { samples, samplesWithAWait, longestMs };
  } finally {
    await sql.end();
  }
}

/** Back-to-back retention passes until `stop()` or nothing is left to remove. */
async function retainUntil(dbUrl: string, stop: () => boolean): Promise<RetentionRun> {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    const [{ batch }] = await sql`select retention_batch as batch from engine.settings`;
    const durations: number[] = [];
    let tasks = 0;
    const started = performance.now();
    while (!stop()) {
      const before = performance.now();
      const [{ result }] = await sql`select engine.retain() as result`;
      durations.push(performance.now() - before);
      tasks += result.tasks;
      if (result.tasks === 0) break;
    }
    const seconds = (performance.now() - started) / 1000;
    const rows = tasks * (1 + STEPS_PER_TASK);
    return {
      seconds,
      batches: durations.length,
      batchSize: batch,
      tasksRemoved: tasks,
      rowsRemoved: rows,
      rowsPerSecond: rows / seconds,
      batchP50Ms: percentile(durations, 50),
      batchMaxMs: Math.max(...durations),
    };
  } finally {
    await sql.end();
  }
}

/**
 * A window of claims alone, then one with retention running beside them, then one with retention
 * archiving what it removes (engine.settings.archive_expired_tasks on for that window only).
 */
export async function measureRetention(
  sql: Sql,
  dbUrl: string,
  userId: string,
  options: { concurrency: number; windowSeconds: number; backlog: number },
): Promise<{
  withoutRetention: ClaimWindow;
  withRetention: ClaimWindow;
  retention: RetentionRun;
  withArchiving: ClaimWindow;
  archiving: RetentionRun;
}> {
  const window = async (withRetention: boolean) => {
    await enqueueEngineNoops(sql, userId, options.backlog);
    const deadline = performance.now() + options.windowSeconds * 1000;
    let retentionDone = false;
    const stop = () => performance.now() > deadline || (withRetention && retentionDone);
    try {
      const retention = withRetention
        ? retainUntil(dbUrl, stop).finally(() => (retentionDone = true))
        : Promise.resolve(null);
      const claims = await claimUntil(dbUrl, options.concurrency, stop);
      return { claims, retention: await retention };
    } finally {
      await deleteEngineNoops(sql);
    }
  };
  const alone = await window(false);
  const beside = await window(true);
  const [{ archiving: was }] = await sql`select archive_expired_tasks as archiving from engine.settings`;
  await sql`update engine.settings set archive_expired_tasks = true`;
  let archived: Awaited<ReturnType<typeof window>>;
  try {
    archived = await window(true);
  } finally {
    await sql`update engine.settings set archive_expired_tasks = ${was}`;
  }
  return {
    withoutRetention: alone.claims,
    withRetention: beside.claims,
    retention: beside.retention!,
    withArchiving: archived.claims,
    archiving: archived.retention!,
  };
}
