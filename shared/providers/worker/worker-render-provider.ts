/**
 * RenderProvider backed by render worker processes: a request becomes a pulled `render` task
 * (createWorkerJobClient), its task id is the provider job id. Requests are checked before they
 * are enqueued, so a bad timeline is a 400 to the caller, never a task that fails later.
 */
import type { Sql } from "../../db/client.ts";
import { ProviderInputError } from "../provider-errors.ts";
import type { RenderProvider, RenderRequest } from "../types.ts";
import { checkRenderRequest } from "../render-request.ts";
import { createWorkerJobClient } from "../../worker/worker-job-client.ts";

export interface WorkerRenderProviderOptions {
  sql: Sql;
  /** The film's owner: the render tasks are theirs. */
  userId: string;
  /** Caps running renders (engine.concurrency_limits); default "render". */
  concurrencyKey?: string | null;
  maxAttempts?: number;
}

const PROVIDER = "worker";
const MODEL = "ffmpeg";

export function createWorkerRenderProvider(options: WorkerRenderProviderOptions): RenderProvider {
  const jobs = createWorkerJobClient({
    sql: options.sql,
    userId: options.userId,
    concurrencyKey: options.concurrencyKey ?? "render",
    maxAttempts: options.maxAttempts,
  });
  const validate = (request: RenderRequest) => {
    const check = checkRenderRequest(request);
    if (!check.ok) throw new ProviderInputError(PROVIDER, MODEL, check.problems.join("; "));
  };
  return {
    provider: PROVIDER,
    model: MODEL,
    jobsAreTasks: true,
    validate,
    async submit(request) {
      validate(request);
      return await jobs.submit("render", request);
    },
    poll: (jobId) => jobs.poll(jobId),
    cancel: (jobId) => jobs.cancel(jobId),
  };
}
