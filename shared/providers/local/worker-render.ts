/**
 * The `worker` (and `local`) render provider: a RenderRequest becomes a `render` worker job, run
 * by the render worker process's FFmpeg (shared/render/render-job.ts) through the task engine.
 */
import { checkRenderRequest } from "../../render/render-request.ts";
import { ProviderInputError } from "../provider-errors.ts";
import type { RenderProvider } from "../types.ts";
import { localMediaClient, type LocalProviderDeps } from "./local-job-providers.ts";

export function createWorkerRenderProvider(deps: LocalProviderDeps): RenderProvider {
  const client = localMediaClient(deps);
  const validate: RenderProvider["validate"] = (request) => {
    const check = checkRenderRequest(request);
    if (!check.ok) throw new ProviderInputError("worker", "ffmpeg", check.problems.join("; "));
  };
  return {
    provider: "worker",
    model: "ffmpeg",
    validate,
    async submit(request) {
      validate(request);
      return await client.submit("render", request as unknown as Record<string, unknown>);
    },
    poll: (jobId) => client.poll<{ url: string; contentType?: string; durationSeconds?: number }>(jobId),
    cancel: (jobId) => client.cancel(jobId),
  };
}
