import type { Sql } from "../db/client.ts";
import { FencedOutError } from "../errors.ts";
import { createSliceBudget, type SliceBudget } from "./slice-budget.ts";
import type { TaskRow } from "./task-row.ts";
import { createLeaseWatch, type LeaseWatch } from "./lease-watch.ts";
import {
  createTaskContext,
  type SliceOutcome,
  SliceWait,
  SliceYield,
  type TaskContext,
} from "./task-context.ts";
import { reportTaskError } from "./task-error.ts";
import { type SliceEnd, sliceEndReason, type SliceResult } from "./slice-end.ts";
import type { TaskStore } from "./task-store.ts";

/** A slice with less time than this left in its worker does no work. */
const MIN_SLICE_MS = 1_000;

export type TaskHandler = (ctx: TaskContext) => Promise<SliceOutcome>;
export type TaskHandlers = Record<string, TaskHandler>;

export interface SliceRunnerOptions {
  sql: Sql;
  store: TaskStore;
  handlers: TaskHandlers;
  workerId: string;
  workerStartedAt: number;
  wallClockMs: number;
  /** The worker's CPU clock and each slice's CPU share (cpu-clock.ts); absent: wall time only. */
  cpu?: { clock: () => number | null; sliceLimitMs: number };
  leaseSeconds: number;
  /** Holds the task's liveness lock during the slice; default none (lease expiry only). */
  watchLease?: LeaseWatch;
  log?: (event: Record<string, unknown>) => void;
}

/**
 * Runs one slice of one task: claim its lease, run its handler until the handler returns (or the
 * budget ends a provider wait), then record the outcome. Claiming is the only guard against
 * duplicate doorbells: a task someone else holds is simply not claimed.
 */
export function createSliceRunner(options: SliceRunnerOptions) {
  const { sql, store, handlers, leaseSeconds } = options;
  const log = options.log ?? ((event) => console.log(JSON.stringify(event)));
  const watchLease = options.watchLease ?? createLeaseWatch(null);

  /** `onClaimed` hears whether the claim committed, before the slice's work starts. */
  return async function runSlice(
    taskId: string,
    onClaimed?: (claimed: boolean) => void,
  ): Promise<SliceResult> {
    const startedAt = Date.now();
    const ran = await claimAndRun(taskId, onClaimed);
    if (ran.task) await recordSliceEnd(ran.task, ran.end, startedAt);
    return ran.end.result;
  };

  async function claimAndRun(
    taskId: string,
    onClaimed?: (claimed: boolean) => void,
  ): Promise<{ task: TaskRow | null; end: SliceEnd }> {
    const lock = await watchLease.lockFirst(taskId);
    try {
      const task = await store.claim(taskId, options.workerId, leaseSeconds, lock.held);
      onClaimed?.(task !== null);
      if (!task) return { task: null, end: { result: "not_claimed" } };
      return { task, end: await runTaskSlice(task, lock.held) };
    } finally {
      // After the outcome committed: the task is no longer running, so nobody reads the lock now.
      await lock.release().catch(() => {});
    }
  }

  /**
   * Why the slice ended, into engine.slice_ends: after the lock is released (the next slice may
   * be claiming already), and never allowed to fail the slice, whose outcome has committed: a
   * row lost here loses a statistic, not work.
   */
  async function recordSliceEnd(task: TaskRow, end: SliceEnd, startedAt: number): Promise<void> {
    const reason = sliceEndReason(end);
    if (reason === null) return;
    const cpuMs = end.budget?.cpuSpentMs() ?? null;
    await store.recordSliceEnd(
      task,
      reason,
      cpuMs === null ? null : Math.round(cpuMs),
      Date.now() - startedAt,
    )
      .catch((error) =>
        log({ event: "slice_end_not_recorded", taskId: task.id, reason, message: String(error) })
      );
  }

  async function runTaskSlice(task: TaskRow, watched: boolean): Promise<SliceEnd> {
    const handler = handlers[task.kind];
    if (!handler) {
      await store.fail(
        task,
        { code: "unknown_kind", message: `no handler for task kind ${task.kind}` },
        false,
      );
      return { result: "failed" };
    }

    const budget = createSliceBudget({
      workerStartedAt: options.workerStartedAt,
      wallClockMs: options.wallClockMs,
      cpu: options.cpu,
    });
    if (budget.remainingMs() < MIN_SLICE_MS) {
      // This worker is about to be killed: run the task after it is gone, not on it.
      const workerLeftMs = options.workerStartedAt + options.wallClockMs - Date.now();
      await store.defer(task, Math.max(0, workerLeftMs) + 500);
      return { result: "deferred", budget, tooLateToStart: true };
    }
    // Without the lock taken before the claim (a zombie of this task holds it), watch as before.
    const releaseLease = watched ? async () => {} : await watchLease(task);
    const heartbeat = startHeartbeat(() => store.renewLease(task, leaseSeconds), leaseSeconds);
    try {
      return await runClaimed(task, heartbeat, budget);
    } finally {
      heartbeat.stop();
      await releaseLease().catch(() => {});
    }
  }

  async function runClaimed(task: TaskRow, heartbeat: Heartbeat, budget: SliceBudget): Promise<SliceEnd> {
    const steps = await store.steps(task.id);
    const ctx = createTaskContext({ sql, store, task, steps, budget, leaseSeconds });

    try {
      const outcome = await handlers[task.kind](ctx);
      heartbeat.stop();
      return { result: await recordOutcome(ctx, outcome), budget, via: "continue" };
    } catch (error) {
      heartbeat.stop();
      const end = (result: SliceResult, via?: SliceEnd["via"]): SliceEnd => ({ result, budget, via });
      if (error instanceof FencedOutError || heartbeat.fencedOut) {
        log({ event: "fenced_out", taskId: task.id, kind: task.kind });
        return end("fenced_out");
      }
      if (error instanceof SliceWait) {
        if (await store.awaitTasks(task, error.taskIds, error.metadata)) return end("waiting");
        // Every one ended meanwhile: run again at once and read the results.
        await store.handOff(task, error.metadata, null);
        return end("handed_off", "wait");
      }
      if (error instanceof SliceYield) {
        if (error.notBeforeMs === null) {
          await store.handOff(task, error.metadata, null);
          return end("handed_off", "yield");
        }
        await store.checkpoint(task, error.metadata, null, leaseSeconds);
        await store.defer(task, error.notBeforeMs);
        return end("deferred", "yield");
      }
      const failure = reportTaskError(error, task);
      log({ event: "task_error", taskId: task.id, kind: task.kind, ...failure.error });
      try {
        const next = await store.fail(task, failure.error, !failure.permanent);
        return end(next === "failed" ? "failed" : "retry_scheduled");
      } catch (failError) {
        if (failError instanceof FencedOutError) return end("fenced_out");
        throw failError;
      }
    }
  }

  async function recordOutcome(ctx: TaskContext, outcome: SliceOutcome): Promise<SliceResult> {
    switch (outcome.type) {
      case "done":
        await store.complete(ctx.task, outcome.result ?? null, outcome.metadata ?? {});
        return "done";
      case "continue":
        await store.handOff(ctx.task, outcome.metadata ?? {}, outcome.progress ?? null);
        return "handed_off";
      case "await_children":
        await store.awaitChildren(ctx.task, outcome.children, outcome.metadata ?? {});
        return "waiting";
    }
  }
}

type Heartbeat = { fencedOut: boolean; stop(): void };

/** Renews the lease while a handler works, so a long step does not look like a dead worker. */
function startHeartbeat(renew: () => Promise<void>, leaseSeconds: number): Heartbeat {
  const state = { fencedOut: false, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    renew().catch((error) => {
      if (error instanceof FencedOutError) {
        state.fencedOut = true;
        clearInterval(timer);
      }
    });
  }, Math.max(500, (leaseSeconds * 1000) / 3));
  return state;
}
