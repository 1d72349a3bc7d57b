/**
 * Background tasks as their owner sees them (shared/http/task-actions.ts describeTask), and the
 * status / cancel / resume by `taskId` that every task-running function answers — the way to
 * follow a single-scene or assemble task, which have no status of their own.
 */
import { type CallOptions, type FunctionsInvoker, invokeAction } from "./invoke-action.ts";

/** ISO 8601: timestamps arrive as JSON strings. */
export type Timestamp = string;

export type TaskStatus = "queued" | "running" | "waiting" | "succeeded" | "failed" | "cancelled";

/** background_tasks.last_error: `{ code, message }`, provider failures add their own fields. */
export type TaskError = { code: string; message: string } & Record<string, unknown>;

export interface TaskView {
  id: string;
  kind: string;
  status: TaskStatus;
  progress: number;
  metadata: Record<string, unknown>;
  result: unknown;
  attempts: number;
  maxAttempts: number;
  lastError: TaskError | null;
  parentId: string | null;
  /** Running, but its lease ran out: the worker is gone and the task will be reclaimed. */
  isStale: boolean;
  createdAt: Timestamp;
  updatedAt: Timestamp;
  finishedAt: Timestamp | null;
}

/**
 * The functions whose generic status / cancel / resume (a task view by `taskId`) this client
 * calls. clone-database answers its own job view (client.clones, by `taskId` too); providers runs
 * no tasks.
 */
export type TaskFunction =
  | "produce-movie"
  | "regenerate-asset"
  | "generate-scene-video"
  | "generate-audio"
  | "assemble";

export interface TaskStatusAnswer {
  task: TaskView;
}
export interface TaskCancelled {
  cancelled: true;
  task: TaskView;
}
export interface TaskResumed {
  resumed: true;
  task: TaskView;
}

export function taskMethods(supabase: FunctionsInvoker) {
  const call = <T>(fn: TaskFunction, action: string, taskId: string, options?: CallOptions) =>
    invokeAction<T>(supabase, fn, action, { taskId }, options);
  return {
    /** 404 for an unknown task, another function's or another user's (one answer). */
    status: (fn: TaskFunction, taskId: string, options?: CallOptions) =>
      call<TaskStatusAnswer>(fn, "status", taskId, options),
    /** 409 task_finished when it has already ended, task_not_cancellable for part of other work. */
    cancel: (fn: TaskFunction, taskId: string, options?: CallOptions) =>
      call<TaskCancelled>(fn, "cancel", taskId, options),
    /**
     * 202 for a failed, cancelled or stale task; 409 task_active while a live worker holds it,
     * 409 task_not_resumable when it goes on by itself (queued, between slices, waiting) or succeeded.
     */
    resume: (fn: TaskFunction, taskId: string, options?: CallOptions) =>
      call<TaskResumed>(fn, "resume", taskId, options),
  };
}
