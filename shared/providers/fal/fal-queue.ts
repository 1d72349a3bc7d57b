/**
 * fal.ai's queue API, shared by every fal adapter (flux images here; the hosted FFmpeg adapter may
 * use it too). Thin fetch client, not @fal-ai/client: its `subscribe` sleeps until done, while our
 * tasks must record the request id and poll without sleeping, and provider-fetch already gives
 * timeouts, Retry-After and ProviderError mapping.
 *
 * API facts relied on (docs.fal.ai/model-endpoints/queue, DESIGN.md §8): `Authorization: Key <key>`;
 * `POST https://queue.fal.run/{model_id}[/{subpath}]` answers {request_id, status_url,
 * response_url, cancel_url}; status and result use the model id *without* its subpath
 * (fal-ai/flux/dev → fal-ai/flux): `GET .../requests/{id}/status` answers {status: IN_QUEUE |
 * IN_PROGRESS | COMPLETED, queue_position?, error?, error_type?}; `GET .../requests/{id}` answers
 * the model's output, or an error status with {detail} when the run failed;
 * `PUT .../requests/{id}/cancel` cancels a request that has not started.
 */
import { z } from "zod";
import { type AdapterOptions, httpOptions } from "../adapter-options.ts";
import { createProviderHttp } from "../http/provider-fetch.ts";
import { ProviderError } from "../provider-errors.ts";
import type { JobState } from "../types.ts";

const statusSchema = z.looseObject({
  status: z.enum(["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]),
  queue_position: z.number().nullish(),
  error: z.string().nullish(),
  error_type: z.string().nullish(),
});

/** "fal-ai/flux/dev" → "fal-ai/flux": status and result URLs drop the subpath. */
export function falAppId(modelId: string): string {
  return modelId.split("/").slice(0, 2).join("/");
}

const requestPath = (modelId: string, requestId: string) =>
  `/${falAppId(modelId)}/requests/${encodeURIComponent(requestId)}`;

export function createFalQueue(options: Omit<AdapterOptions, "model">) {
  const provider = "fal";
  const http = createProviderHttp({
    provider,
    baseUrl: options.baseUrl ?? "https://queue.fal.run",
    headers: { authorization: `Key ${options.apiKey}` },
    ...httpOptions(options),
  });

  return {
    async submit(modelId: string, input: Record<string, unknown>): Promise<string> {
      const { data } = await http.request({
        method: "POST",
        path: `/${modelId}`,
        body: input,
        schema: z.looseObject({ request_id: z.string().min(1) }),
      });
      return data.request_id;
    },

    /** The job's state now; a finished run's output is fetched and checked with `output`. */
    async poll<T>(modelId: string, requestId: string, output: z.ZodType<T>): Promise<JobState<T>> {
      const { data: status } = await http.request({
        method: "GET",
        path: `${requestPath(modelId, requestId)}/status`,
        schema: statusSchema,
      });
      if (status.status === "IN_QUEUE") {
        return {
          state: "pending",
          detail: status.queue_position == null ? undefined : `queue position ${status.queue_position}`,
        };
      }
      if (status.status === "IN_PROGRESS") return { state: "running" };
      if (status.error) {
        return { state: "failed", failureCode: status.error_type ?? "fal_error", message: status.error };
      }
      try {
        const { data } = await http.request({
          method: "GET",
          path: requestPath(modelId, requestId),
          schema: output,
        });
        return { state: "succeeded", output: data };
      } catch (error) {
        // A run that failed answers its result with a 4xx: that is the job's outcome, not a transport problem.
        if (
          error instanceof ProviderError && !error.retryable && error.httpStatus !== undefined &&
          error.httpStatus !== 401
        ) {
          return { state: "failed", failureCode: error.failureCode, message: error.message };
        }
        throw error;
      }
    },

    async cancel(modelId: string, requestId: string): Promise<void> {
      try {
        await http.request({
          method: "PUT",
          path: `${requestPath(modelId, requestId)}/cancel`,
          schema: z.unknown(),
        });
      } catch (error) {
        // 400 "already completed" / 404: nothing left to cancel.
        if (error instanceof ProviderError && (error.httpStatus === 400 || error.httpStatus === 404)) return;
        throw error;
      }
    },
  };
}

export type FalQueue = ReturnType<typeof createFalQueue>;
