/**
 * What a worker process can run: one handler per pulled task kind (WORKER_JOB_KINDS). The job
 * host (shared/worker/) knows no handler; render and the local providers register theirs here.
 */
import { runLocalMediaJob } from "../shared/providers/local/local-media-job.ts";
import { createRenderJob, type RenderJobOptions } from "../shared/render/render-job.ts";
import type { WorkerJobHandler, WorkerJobKind } from "../shared/worker/worker-job.ts";

function workerHandlers(render: RenderJobOptions): Record<WorkerJobKind, WorkerJobHandler> {
  return { render: createRenderJob(render), local_media: runLocalMediaJob };
}

/**
 * The handlers for the kinds asked for (all of them by default); unknown kinds are refused.
 * `claimed=handler` claims another kind with a known handler (`bench.render=render`), so a
 * benchmark's worker never races the stack's own worker for its tasks.
 */
export function selectHandlers(
  kinds?: string[],
  render: RenderJobOptions = {},
): Record<string, WorkerJobHandler> {
  const handlers = workerHandlers(render);
  if (!kinds || kinds.length === 0) return handlers;
  const pairs = kinds.map((entry) => {
    const [claimed, handler = claimed] = entry.split("=");
    return [claimed, handler] as const;
  });
  const unknown = pairs.filter(([, handler]) => !(handler in handlers)).map(([, handler]) => handler);
  if (unknown.length > 0) throw new Error(`no worker handler for kind(s): ${unknown.join(", ")}`);
  return Object.fromEntries(
    pairs.map(([claimed, handler]) => [claimed, handlers[handler as WorkerJobKind]]),
  );
}
