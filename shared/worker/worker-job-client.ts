/**
 * Submits worker jobs (render, local_media) as pulled background_tasks and reads their state, so
 * adapters backed by worker processes answer the same submit/poll/cancel contract as a provider.
 */
import type { Sql } from "../db/client.ts";
import { createTaskStore } from "../engine/task-store.ts";
import type { WorkerJobKind } from "./worker-job.ts";

/**
 * A worker job's state right now: the same shape as a provider job's (providers/types.ts
 * JobState), so an adapter backed by worker processes hands it back as is.
 */
export type WorkerJobState<T> =
  | { state: "pending" | "running"; progress?: number; detail?: string }
  | { state: "succeeded"; output: T }
  | { state: "failed"; failureCode: string; message: string };

export interface WorkerJobClientOptions {
  sql: Sql;
  /** The owner of the jobs (the film's user): their rows stay visible to them only. */
  userId: string;
  /** Caps running jobs of this client, e.g. `render` or `local:video` (engine.concurrency_limits). */
  concurrencyKey?: string;
  maxAttempts?: number;
}

export function createWorkerJobClient(options: WorkerJobClientOptions) {
  const { sql, userId } = options;
  const store = createTaskStore(sql);

  return {
    /** Enqueues the job once per idempotency key and returns its task id (the "provider job id"). */
    async submit(
      kind: WorkerJobKind,
      payload: Record<string, unknown>,
      idempotencyKey?: string,
    ): Promise<string> {
      const task = await store.enqueue({
        userId,
        kind,
        payload,
        idempotencyKey: idempotencyKey ?? null,
        concurrencyKey: options.concurrencyKey ?? null,
        maxAttempts: options.maxAttempts ?? 3,
      });
      return task.id;
    },

    async poll<T = Record<string, unknown>>(taskId: string): Promise<WorkerJobState<T>> {
      const task = await store.get(taskId);
      if (!task) {
        return {
          state: "failed",
          failureCode: "job_missing",
          message: `worker job ${taskId} does not exist`,
        };
      }
      switch (task.status) {
        case "queued":
          return { state: "pending" };
        case "running":
        case "waiting":
          return { state: "running", progress: task.progress / 100 };
        case "succeeded":
          return { state: "succeeded", output: task.result as T };
        case "cancelled":
          return { state: "failed", failureCode: "cancelled", message: `worker job ${taskId} was cancelled` };
        default: {
          const error = (task.lastError ?? {}) as { code?: string; message?: string };
          return {
            state: "failed",
            failureCode: error.code ?? "worker_job_failed",
            message: error.message ?? "worker job failed",
          };
        }
      }
    },

    async cancel(taskId: string): Promise<void> {
      await sql`select engine.cancel_task(${taskId}::uuid, 'cancelled by its submitter')`;
    },
  };
}

export type WorkerJobClient = ReturnType<typeof createWorkerJobClient>;
