/**
 * The worker process's loop: claim a pulled task (engine.claim_next_task, for the kinds it has
 * handlers for), renew its lease on a timer while the handler runs, then complete or fail it —
 * every write fenced by the claim's token. N slots per process; more processes scale it out.
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
import type { ObjectStorage } from "../storage/storage.ts";
import { describeJobFailure } from "./job-failure.ts";
import { createJobIo } from "./worker-job-io.ts";
import type { WorkerJobHandler } from "./worker-job.ts";

export interface WorkerLoopOptions {
  sql: Sql;
  storage: ObjectStorage;
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

  /** The next due task for this worker; null when none is, undefined when the claim failed. */
  const claimNext = () =>
    store.claimNext(kinds, workerId, leaseSeconds).catch((error) => {
      log(`claim failed: ${error instanceof Error ? error.message : error}`);
      return undefined;
    });

  async function runSlot(): Promise<void> {
    // The task claimed as the last one completed (null: none was due); undefined: not asked yet.
    let claimed: TaskRow | null | undefined;
    while (!stopping.signal.aborted) {
      const task = claimed !== undefined ? claimed : await claimNext();
      claimed = undefined;
      if (task !== undefined) lastPollAt = new Date();
      if (task) lastClaimAt = lastPollAt;
      if (task) claimed = await runTask(task);
      else await idle(task === undefined ? pollMs * 4 : pollMs);
    }
    // Claimed as the last job completed, just as the stop came: given straight back.
    const unstarted = claimed;
    if (unstarted) {
      await store.defer(unstarted, 0).catch((e) => log(`task ${unstarted.id}: not given back: ${e.message}`));
    }
  }

  /**
   * Runs one job to its end. A job that succeeds is completed together with the claim of the
   * slot's next task (one round trip), which is returned: null when none was due, undefined when
   * none was asked for (the job failed, or the worker is stopping).
   */
  async function runTask(task: TaskRow): Promise<TaskRow | null | undefined> {
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
    const started = Date.now();
    try {
      const io = createJobIo({ workDir, storage: o.storage, signal: controller.signal, heartbeat });
      const result = await o.handlers[task.kind](task.payload, io);
      if (controller.signal.aborted) throw controller.signal.reason;
      let next: TaskRow | null | undefined;
      if (stopping.signal.aborted) await store.complete(task, result);
      else next = await store.completeAndClaimNext(task, result, kinds, workerId, leaseSeconds);
      log(`task ${task.id} (${task.kind}) succeeded in ${Date.now() - started} ms`);
      return next;
    } catch (error) {
      await settleFailure(task, controller, error);
    } finally {
      clearInterval(timer);
      await releaseLease().catch(() => {});
      await rm(workDir, { recursive: true, force: true });
      active.delete(job);
      release();
    }
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
        slots: Math.max(1, o.concurrency ?? 1),
        running: active.size,
        lastPollAt,
        lastClaimAt,
        stopping: stopping.signal.aborted,
      };
    },
    start() {
      log(`${workerId} claiming ${kinds.join(", ")} with ${o.concurrency ?? 1} slot(s)`);
      slots = Array.from({ length: Math.max(1, o.concurrency ?? 1) }, () => runSlot());
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
