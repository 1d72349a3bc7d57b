import { z } from "zod";
import { uuidField } from "./read-body.ts";
import { ConflictError, NotFoundError, TaskExpiredError } from "../errors.ts";
import type { TaskRow } from "../engine/task-row.ts";
import type { TaskStore } from "../engine/task-store.ts";
import { type ActionSpec, defineAction } from "./function-app.ts";

const byTaskId = z.object({ taskId: uuidField("taskId", "a task's UUID") }).strict();

/** A task as its owner sees it: no lease internals, no secrets. */
export function describeTask(task: TaskRow, now = new Date()) {
  const leaseLost = task.status === "running" && task.leaseExpiresAt !== null && task.leaseExpiresAt < now;
  return {
    id: task.id,
    kind: task.kind,
    status: task.status,
    progress: task.progress,
    metadata: task.metadata,
    result: task.result,
    attempts: task.attempts,
    maxAttempts: task.maxAttempts,
    lastError: task.lastError,
    parentId: task.parentId,
    isStale: leaseLost,
    createdAt: task.createdAt,
    updatedAt: task.updatedAt,
    finishedAt: task.finishedAt,
  };
}

/**
 * status / cancel / resume for the caller's own tasks run by this function. Unknown id, someone
 * else's task or another function's: 404, the same answer; a task still held by a live worker cannot be resumed: 409, nor one
 * that goes on by itself; housekeeping and part of other work can be neither resumed nor
 * cancelled: 409; the caller's own task removed by retention: 410 task_expired (anyone else's:
 * 404, as if unknown).
 */
export function taskActions(store: TaskStore, functionName: string): Record<string, ActionSpec> {
  async function ownTask(taskId: string, userId: string) {
    const task = await store.get(taskId);
    if (!task) {
      const expired = await store.expired(taskId);
      if (expired && expired.userId === userId && expired.functionName === functionName) {
        throw new TaskExpiredError("Task", taskId);
      }
      throw new NotFoundError("Task", taskId);
    }
    if (task.functionName !== functionName || task.userId !== userId) throw new NotFoundError("Task", taskId);
    return task;
  }

  return {
    status: defineAction({
      input: byTaskId,
      async run({ taskId }, caller) {
        return { body: { task: describeTask(await ownTask(taskId, caller.userId)) } };
      },
    }),
    cancel: defineAction({
      input: byTaskId,
      async run({ taskId }, caller) {
        await ownTask(taskId, caller.userId);
        const cancelled = await store.cancelByOwner(taskId);
        if (!cancelled) throw new ConflictError("task_finished", `Task ${taskId} has already ended`);
        return { body: { cancelled: true, task: describeTask((await store.get(taskId))!) } };
      },
    }),
    // A resumed task runs its paid steps again.
    resume: defineAction({
      spends: true,
      input: byTaskId,
      async run({ taskId }, caller) {
        await ownTask(taskId, caller.userId);
        const task = await store.resume(taskId);
        if (!task) throw new NotFoundError("Task", taskId);
        return { status: 202, body: { resumed: true, task: describeTask(task) } };
      },
    }),
  };
}
