import type { TaskHandler, TaskHandlers } from "./slice-runner.ts";
import type { KindsOf, TaskFunction } from "./task-routes.ts";

/**
 * A function's handlers, one for each kind TASK_ROUTES sends to it and no other: a kind routed
 * elsewhere, or a routed kind left out, fails to compile in functions/<name>/index.ts.
 */
export function routedHandlers<F extends TaskFunction>(
  _functionName: F,
  handlers: { [K in KindsOf<F>]: TaskHandler },
): TaskHandlers {
  return handlers;
}
