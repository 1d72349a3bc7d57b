/** What a worker process can run: one handler per pulled task kind (WORKER_JOB_KINDS). */
import { runLocalMediaJob } from "../providers/local/local-media-job.ts";
import { runRenderJob } from "./render-job.ts";
import type { WorkerJobHandler, WorkerJobKind } from "./worker-job.ts";

export const WORKER_HANDLERS: Record<WorkerJobKind, WorkerJobHandler> = {
  render: runRenderJob,
  local_media: runLocalMediaJob,
};

/** The handlers for the kinds asked for (all of them by default); unknown kinds are refused. */
export function selectHandlers(kinds?: string[]): Record<string, WorkerJobHandler> {
  if (!kinds || kinds.length === 0) return { ...WORKER_HANDLERS };
  const unknown = kinds.filter((kind) => !(kind in WORKER_HANDLERS));
  if (unknown.length > 0) throw new Error(`no worker handler for kind(s): ${unknown.join(", ")}`);
  return Object.fromEntries(kinds.map((kind) => [kind, WORKER_HANDLERS[kind as WorkerJobKind]]));
}
