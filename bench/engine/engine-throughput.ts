/**
 * Claim+complete throughput of no-op pull-mode tasks through the engine's SQL functions, as one
 * worker process with C slots calls them, until the queue is empty.
 */
import postgres, { type Sql } from "postgres";
import { type CpuReader, cpuWindow } from "../support/postgres-cpu.ts";
import { createTaskStore } from "../../shared/engine/task-store.ts";
import { createSlotBatches, type SlotBatches } from "../../shared/worker/slot-batches.ts";

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
 * What the slots of one worker process do (shared/worker/worker-loop.ts), through the worker's
 * own gatherers (shared/worker/slot-batches.ts): each slot claims a task, hands its end over
 * without waiting for it to be written, and claims the next; what slots ask while a gatherer's
 * call is in flight goes in its next call.
 */
async function slotLoop(batches: SlotBatches, queued: () => Promise<boolean>): Promise<number> {
  let done = 0;
  const ending: Promise<void>[] = [];
  for (;;) {
    const task = await batches.claim();
    if (task === null) {
      await Promise.all(ending.splice(0));
      // Null can also mean "every due row is locked by another claimer right now".
      if (!(await queued())) return done;
      continue;
    }
    // A lost end (RF001: fenced out of a task it had just claimed) fails the run.
    ending.push(
      batches.end(task, null).then((outcome) => {
        if (!outcome.ended) throw outcome.error;
      }),
    );
    done++;
  }
}

export async function drainWithEngine(
  dbUrl: string,
  concurrency: number,
  cpu: CpuReader | null,
): Promise<DrainResult> {
  // One connection for each gatherer's call in flight.
  const sql = postgres(dbUrl, {
    max: 2,
    onnotice: () => {},
    connection: { application_name: "bench-engine" },
  });
  const batches = createSlotBatches(createTaskStore(sql), {
    kinds: [NOOP_KIND],
    workerId: "bench-worker",
    leaseSeconds: 30,
  });
  const queued = async () =>
    (await sql`
      select exists (select 1 from public.background_tasks
                      where kind = ${NOOP_KIND} and status = 'queued') as queued`)[0].queued;
  try {
    await Promise.all([sql`select 1`, sql`select 1`]);
    const cpuSince = cpuWindow(cpu);
    const started = performance.now();
    const counts = await Promise.all(Array.from({ length: concurrency }, () => slotLoop(batches, queued)));
    const ms = performance.now() - started;
    const tasks = counts.reduce((a, b) => a + b, 0);
    return { tasks, ms, tasksPerSecond: (tasks / ms) * 1000, databaseCpuMs: cpuSince() };
  } finally {
    await sql.end();
  }
}

/**
 * How many heap pages hold the queued no-op tasks: the run's locality. Beside a history, new tasks
 * can land one to a page in the room finished tasks' pages have left (the free space map hands
 * those pages out). By hand a run spread so drained slower than one packed into a few hundred
 * pages; in the bench's runs the difference is within the noise (bench/README.md, "With a history").
 */
export async function engineNoopPages(sql: Sql): Promise<number> {
  const [{ pages }] = await sql<{ pages: number }[]>`
    select count(distinct (ctid::text::point)[0])::integer as pages
      from public.background_tasks where kind = ${NOOP_KIND}`;
  return pages;
}

export async function deleteEngineNoops(sql: Sql): Promise<void> {
  await sql`delete from public.background_tasks where kind = ${NOOP_KIND}`;
}
