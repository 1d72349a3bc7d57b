/**
 * The worker process's loop: claim a pulled task (of the kinds it has handlers for), renew its
 * lease on a timer while the handler runs, then complete or fail it — every write fenced by the
 * claim's token. N slots per process, whose claims and ends travel together (slot-batches.ts);
 * more processes scale it out.
 * A lost lease (FencedOutError) aborts the job at once: someone else owns it now.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Sql } from "../db/client.ts";
import { createTaskStore } from "../engine/task-store.ts";
import { createLeaseWatch, type LeaseWatch } from "../engine/lease-watch.ts";
import type { TaskRow } from "../engine/task-row.ts";
import { FencedOutError } from "../errors.ts";
import { taskObjects } from "../storage/owner-objects.ts";
import type { ObjectStorage } from "../storage/storage.ts";
import { describeJobFailure } from "./job-failure.ts";
import { createJobIo } from "./worker-job-io.ts";
import { createSlotBatches } from "./slot-batches.ts";
import type { WorkerJobHandler } from "./worker-job.ts";

export interface WorkerLoopOptions {
  sql: Sql;
  storage: ObjectStorage;
  /** The bucket of users' files (REELFORGE_MEDIA_BUCKET, default media): a job reads its owner's only. */
  mediaBucket?: string;
  /** kind → handler; only these kinds are claimed. */
  handlers: Record<string, WorkerJobHandler>;
  workerId?: string;
  /** Jobs run at once by this process (default 1). */
  concurrency?: number;
  leaseSeconds?: number;
  /** Holds each job's liveness lock (engine.hold_lease), so a dead worker's job is taken back at once. */
  watchLease?: LeaseWatch;
  /** Idle slots look for work this often (default 500 ms). */
  pollMs?: number;
  /** On stop, running jobs get this long to finish before they are aborted and given back. */
  graceMs?: number;
  scratchDir?: string;
  log?: (line: string) => void;
}

interface ActiveJob {
  task: TaskRow;
  controller: AbortController;
  done: Promise<void>;
}

export interface WorkerLoopStats {
  workerId: string;
  kinds: string[];
  slots: number;
  running: number;
  lastPollAt: Date | null;
  lastClaimAt: Date | null;
  stopping: boolean;
}

/** pg_notify channel on which new pulled tasks announce their kind. */
export const PULLED_CHANNEL = "reelforge_pulled";

export function createWorkerLoop(o: WorkerLoopOptions) {
  const store = createTaskStore(o.sql);
  const kinds = Object.keys(o.handlers);
  const workerId = o.workerId ?? `worker:${hostname()}:${process.pid}:${crypto.randomUUID().slice(0, 8)}`;
  const leaseSeconds = o.leaseSeconds ?? 30;
  const watchLease = o.watchLease ?? createLeaseWatch(null);
  const pollMs = o.pollMs ?? 500;
  const log = o.log ?? ((line: string) => console.log(line));
  const scratchDir = o.scratchDir ?? join(tmpdir(), "reelforge-worker");
  const active = new Set<ActiveJob>();
  const stopping = new AbortController();
  // For health: a slot that asked for work without error, and one that got some.
  let lastPollAt: Date | null = null;
  let lastClaimAt: Date | null = null;
  let slots: Promise<void>[] = [];
  const slotCount = Math.max(1, o.concurrency ?? 1);

  // Idle slots wait for the poll interval or a NOTIFY on engine.PULLED_CHANNEL, whichever is first.
  const sleepers = new Set<() => void>();
  const wakeAll = () => {
    for (const wake of [...sleepers]) wake();
  };
  const idle = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => (clearTimeout(timer), sleepers.delete(done), resolve());
      const timer = setTimeout(done, ms);
      sleepers.add(done);
      stopping.signal.addEventListener("abort", done, { once: true });
    });
  let unlisten: (() => Promise<void>) | null = null;

  const batches = createSlotBatches(store, { kinds, workerId, leaseSeconds });

  /** The next due task for this worker; null when none is, undefined when the claim failed. */
  const claimNext = () =>
    batches.claim().catch((error) => {
      log(`claim failed: ${error instanceof Error ? error.message : error}`);
      return undefined;
    });

  async function runSlot(): Promise<void> {
    // Ends of this slot's jobs still being written: the slot claims and starts its next job
    // meanwhile (slot-batches.ts).
    const ending = new Set<Promise<void>>();
    while (!stopping.signal.aborted) {
      let task = await claimNext();
      if (task === null && ending.size > 0) {
        // Those ends can be what makes a task due (a capped key's slot freed, a parent woken):
        // ask again once they are written, before going idle.
        await Promise.all(ending);
        task = await claimNext();
      }
      if (task !== undefined) lastPollAt = new Date();
      if (!task) {
        await idle(task === undefined ? pollMs * 4 : pollMs);
        continue;
      }
      lastClaimAt = lastPollAt;
      if (stopping.signal.aborted) {
        // Claimed just as the stop came: given straight back.
        await store.defer(task, 0).catch((e) => log(`task ${task.id}: not given back: ${e.message}`));
        break;
      }
      const succeeded = await runTask(task);
      if (succeeded) {
        ending.add(succeeded.ending);
        succeeded.ending.finally(() => ending.delete(succeeded.ending));
      }
    }
    await Promise.all(ending);
  }

  /**
   * Runs one job. A job that fails is settled before this returns. A job that succeeds returns
   * the writing of its end, which the slot lets run while it claims its next job; the job's
   * liveness lock and scratch dir are let go only once the end is written, so no sweeper takes
   * the task back in between.
   */
  async function runTask(task: TaskRow): Promise<{ ending: Promise<void> } | null> {
    const controller = new AbortController();
    let release!: () => void;
    const job: ActiveJob = { task, controller, done: new Promise((resolve) => (release = resolve)) };
    active.add(job);
    const heartbeat = async () => {
      try {
        await store.renewLease(task, leaseSeconds);
      } catch (error) {
        if (error instanceof FencedOutError) controller.abort(error);
        throw error;
      }
    };
    const releaseLease = await watchLease(task).catch((error) => {
      log(
        `task ${task.id}: no liveness lock (${
          error instanceof Error ? error.message : error
        }); the lease covers it`,
      );
      return async () => {};
    });
    const timer = setInterval(
      () => heartbeat().catch((e) => log(`task ${task.id}: heartbeat: ${e.message}`)),
      (leaseSeconds * 1000) / 3,
    );
    await mkdir(scratchDir, { recursive: true });
    const workDir = await mkdtemp(join(scratchDir, `${task.kind}-${task.id}-`));
    const cleanUp = async () => {
      clearInterval(timer);
      await releaseLease().catch(() => {});
      await rm(workDir, { recursive: true, force: true });
      active.delete(job);
      release();
    };
    const started = Date.now();
    let result: unknown;
    try {
      const io = createJobIo({
        workDir,
        storage: o.storage,
        signal: controller.signal,
        heartbeat,
        readable: taskObjects(task.userId, o.mediaBucket ?? "media"),
        fetchesElsewhere: task.userId === null,
      });
      result = await o.handlers[task.kind](task.payload, io);
      if (controller.signal.aborted) throw controller.signal.reason;
    } catch (error) {
      await settleFailure(task, controller, error);
      await cleanUp();
      return null;
    }
    const ending = batches.end(task, result).then((outcome) => {
      if (outcome.ended) log(`task ${task.id} (${task.kind}) succeeded in ${Date.now() - started} ms`);
      else if (outcome.error instanceof FencedOutError) {
        log(`task ${task.id}: lease lost, job abandoned to its new owner`);
      } else {
        // Its lease runs out and it runs again, as after a worker that died here.
        log(`task ${task.id}: could not record its end (${outcome.error.message})`);
      }
    }).finally(cleanUp).catch((error) => log(`task ${task.id}: cleanup failed: ${error}`));
    return { ending };
  }

  async function settleFailure(task: TaskRow, controller: AbortController, error: unknown): Promise<void> {
    const reason = controller.signal.reason;
    try {
      if (reason instanceof FencedOutError || error instanceof FencedOutError) {
        log(`task ${task.id}: lease lost, job abandoned to its new owner`);
      } else if (controller.signal.aborted) {
        // Shut down mid-job: not the job's fault, so not an attempt; give it straight back.
        await store.defer(task, 0);
        log(`task ${task.id}: given back on shutdown`);
      } else {
        const failure = describeJobFailure(error, task.id);
        if (failure.internal) {
          console.error(
            JSON.stringify({
              event: "task_internal_error",
              taskId: task.id,
              kind: task.kind,
              code: failure.code,
              error: failure.internal,
            }),
          );
        }
        const outcome = await store.fail(
          task,
          { code: failure.code, message: failure.message },
          failure.retryable,
        );
        log(
          `task ${task.id} (${task.kind}) ${outcome === "queued" ? "will retry" : "failed"}: ${failure.code}`,
        );
      }
    } catch (settleError) {
      log(
        `task ${task.id}: could not record its end (${
          settleError instanceof Error ? settleError.message : settleError
        })`,
      );
    }
  }

  return {
    workerId,
    kinds,
    /** How many jobs run right now. */
    get running() {
      return active.size;
    },
    /** What health reports: slots, jobs running now, the last poll and the last claim. */
    stats(): WorkerLoopStats {
      return {
        workerId,
        kinds,
        slots: slotCount,
        running: active.size,
        lastPollAt,
        lastClaimAt,
        stopping: stopping.signal.aborted,
      };
    },
    start() {
      log(`${workerId} claiming ${kinds.join(", ")} with ${o.concurrency ?? 1} slot(s)`);
      slots = Array.from({ length: slotCount }, () => runSlot());
      // A new pulled task rings here (engine.announce_pulled_task, migrations/*_engine.sql); polling stays as the fallback.
      o.sql.listen(PULLED_CHANNEL, (kind) => kinds.includes(kind) && wakeAll())
        .then((listening) => (unlisten = () => listening.unlisten()))
        .catch((error) =>
          log(`no LISTEN ${PULLED_CHANNEL} (${error instanceof Error ? error.message : error}); polling only`)
        );
    },
    /** Stops claiming; running jobs get graceMs to finish, then are aborted and given back. */
    async stop(): Promise<void> {
      stopping.abort();
      await unlisten?.().catch(() => {});
      const finished = Promise.all([...active].map((job) => job.done));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise((resolve) => (timer = setTimeout(resolve, o.graceMs ?? 20_000)));
      await Promise.race([finished, grace]);
      clearTimeout(timer);
      for (const job of active) job.controller.abort(new Error("worker shutting down"));
      await Promise.all(slots);
    },
  };
}

export type WorkerLoop = ReturnType<typeof createWorkerLoop>;
