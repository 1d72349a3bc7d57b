/**
 * Claim+complete throughput of no-op pull-mode tasks through the engine's SQL functions: C loops,
 * each on its own connection, each completing its task and claiming the next in one call until
 * the queue is empty.
 */
import postgres, { type Sql } from "postgres";
import { type CpuReader, cpuWindow } from "../support/postgres-cpu.ts";

export const NOOP_KIND = "bench.noop";

export interface DrainResult {
  tasks: number;
  ms: number;
  tasksPerSecond: number;
  /** Database CPU over the timed window (bench/support/postgres-cpu.ts); null where unreadable. */
  databaseCpuMs: number | null;
}

/** Enqueues in one statement (not timed); pull mode with no doorbell: no worker, no dispatch. */
export async function enqueueEngineNoops(sql: Sql, userId: string, count: number): Promise<void> {
  await sql`
    select count(engine.enqueue_task(p_user_id => ${userId}, p_kind => ${NOOP_KIND},
                                     p_function => null, p_dispatch => false))
      from generate_series(1, ${count})`;
  // Both sides start from fresh statistics and a vacuumed table.
  await sql`vacuum analyze public.background_tasks`;
}

/**
 * What a worker slot does (shared/worker/worker-loop.ts): claim a task, then complete each one
 * together with the claim of the next (engine.complete_and_claim), one round trip per task.
 */
async function claimLoop(sql: Sql, workerId: string): Promise<number> {
  const claim = async () =>
    (await sql`
      select id, fencing_token from engine.claim_next_task(array[${NOOP_KIND}]::text[], ${workerId}, 30)`)[0];
  let done = 0;
  let task = await claim();
  for (;;) {
    if (task.id === null) {
      // Null can also mean "every due row is locked by another claimer right now".
      const [{ queued }] = await sql`
        select exists (select 1 from public.background_tasks
                        where kind = ${NOOP_KIND} and status = 'queued') as queued`;
      if (!queued) return done;
      task = await claim();
      continue;
    }
    // RF001 (fenced out of a task it had just claimed) throws and fails the run.
    [task] = await sql`
      select id, fencing_token from engine.complete_and_claim(${task.id}, ${task.fencing_token}::bigint, null,
        '{}', array[${NOOP_KIND}]::text[], ${workerId}, 30)`;
    done++;
  }
}

export async function drainWithEngine(
  dbUrl: string,
  concurrency: number,
  cpu: CpuReader | null,
): Promise<DrainResult> {
  const connections = Array.from(
    { length: concurrency },
    (_, i) =>
      postgres(dbUrl, { max: 1, onnotice: () => {}, connection: { application_name: `bench-engine-${i}` } }),
  );
  try {
    await Promise.all(connections.map((sql) => sql`select 1`));
    const cpuSince = cpuWindow(cpu);
    const started = performance.now();
    const counts = await Promise.all(connections.map((sql, i) => claimLoop(sql, `bench-worker-${i}`)));
    const ms = performance.now() - started;
    const tasks = counts.reduce((a, b) => a + b, 0);
    return { tasks, ms, tasksPerSecond: (tasks / ms) * 1000, databaseCpuMs: cpuSince() };
  } finally {
    await Promise.all(connections.map((sql) => sql.end()));
  }
}

export async function deleteEngineNoops(sql: Sql): Promise<void> {
  await sql`delete from public.background_tasks where kind = ${NOOP_KIND}`;
}
