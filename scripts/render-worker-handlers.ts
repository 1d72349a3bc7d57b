/**
 * What a worker process can run: one handler per pulled task kind (WORKER_JOB_KINDS). The job
 * host (shared/worker/) knows no handler; render and the local providers register theirs here.
 */
import { runLocalMediaJob } from "../shared/providers/local/local-media-job.ts";
import { runRenderJob } from "../shared/render/render-job.ts";
import type { WorkerJobHandler, WorkerJobKind } from "../shared/worker/worker-job.ts";

export const WORKER_HANDLERS: Record<WorkerJobKind, WorkerJobHandler> = {
  render: runRenderJob,
  local_media: runLocalMediaJob,
};

/**
 * The handlers for the kinds asked for (all of them by default); unknown kinds are refused.
 * `claimed=handler` claims another kind with a known handler (`bench.render=render`), so a
 * benchmark's worker never races the stack's own worker for its tasks.
 */
export function selectHandlers(kinds?: string[]): Record<string, WorkerJobHandler> {
  if (!kinds || kinds.length === 0) return { ...WORKER_HANDLERS };
  const pairs = kinds.map((entry) => {
    const [claimed, handler = claimed] = entry.split("=");
    return [claimed, handler] as const;
  });
  const unknown = pairs.filter(([, handler]) => !(handler in WORKER_HANDLERS)).map(([, handler]) => handler);
  if (unknown.length > 0) throw new Error(`no worker handler for kind(s): ${unknown.join(", ")}`);
  return Object.fromEntries(
    pairs.map(([claimed, handler]) => [claimed, WORKER_HANDLERS[handler as WorkerJobKind]]),
  );
}
