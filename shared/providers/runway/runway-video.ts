/**
 * Runway video (image_to_video, and text_to_video where the model has it) over the dev API.
 *
 * Thin fetch client, not @runwayml/sdk: the SDK retries 429s on its own (a 429 on create is the
 * daily quota and must not be retried), has no split between a recorded submit and a sleepless
 * poll, and would be a second retry/timeout/error path next to provider-fetch.
 *
 * API facts relied on (docs.dev.runwayml.com, DESIGN.md §8): header `X-Runway-Version: 2024-11-06`,
 * `Authorization: Bearer <key>`; `POST /v1/image_to_video` {model, promptImage, promptText, ratio,
 * duration, seed?} and `POST /v1/text_to_video` {model, promptText, ratio, duration, seed?} answer
 * {id}; `GET /v1/tasks/{id}` answers {id, status, progress?, output?: string[], failure?,
 * failureCode?} with status PENDING | THROTTLED | RUNNING | SUCCEEDED | FAILED | CANCELLED;
 * `DELETE /v1/tasks/{id}` cancels (or deletes a finished task). Errors are {error: "..."}; 429 on
 * create means the daily limit is spent; 502/503/504 are load shedding and safe to retry.
 */
import { type AdapterOptions, httpOptions } from "../adapter-options.ts";
import { createProviderHttp } from "../http/provider-fetch.ts";
import { checkMediaUrl, outputUrlState } from "../http/media-url.ts";
import { ProviderError } from "../provider-errors.ts";
import type { JobState, UrlOutput, VideoProvider, VideoRequest } from "../types.ts";
import { validateRunwayRequest } from "./runway-models.ts";
import { runwayOutputCandidate, runwayTaskSchema } from "./runway-task.ts";
import { z } from "zod";

export const RUNWAY_API_VERSION = "2024-11-06";

export interface RunwayVideoOptions extends AdapterOptions {
  /** The promptImage HEAD check's limit: 5 s. */
  imageCheckTimeoutMs?: number;
}

export function createRunwayVideo(options: RunwayVideoOptions): VideoProvider {
  const { model } = options;
  const http = createProviderHttp({
    provider: "runway",
    baseUrl: options.baseUrl ?? "https://api.dev.runwayml.com",
    headers: { authorization: `Bearer ${options.apiKey}`, "x-runway-version": RUNWAY_API_VERSION },
    ...httpOptions(options),
    classify: (failure) =>
      failure.status === 429 && failure.method === "POST"
        ? {
          failureCode: "daily_quota",
          retryable: false,
          message: "Runway's daily generation limit is spent; try again tomorrow",
        }
        : undefined,
  });

  return {
    provider: "runway",
    model,
    validate: (request) => validateRunwayRequest(model, request),

    async submit(request: VideoRequest): Promise<string> {
      validateRunwayRequest(model, request);
      const { promptImage } = request;
      if (promptImage !== undefined && !promptImage.startsWith("data:")) {
        await checkMediaUrl({
          provider: "runway",
          model,
          url: promptImage,
          kind: "image",
          timeoutMs: options.imageCheckTimeoutMs ?? 5_000,
          fetch: options.fetch,
          allowInsecureUrls: options.allowInsecureUrls,
        });
      }
      const body = {
        model,
        promptText: request.promptText,
        ratio: request.ratio,
        duration: request.durationSeconds,
        ...(promptImage === undefined ? {} : { promptImage }),
        ...(request.seed === undefined ? {} : { seed: request.seed }),
      };
      const path = promptImage === undefined ? "/v1/text_to_video" : "/v1/image_to_video";
      const { data } = await http.request({
        method: "POST",
        path,
        body,
        schema: z.object({ id: z.string().min(1) }),
      });
      return data.id;
    },

    async poll(jobId: string): Promise<JobState<UrlOutput>> {
      const { data: task } = await http.request({
        method: "GET",
        path: `/v1/tasks/${encodeURIComponent(jobId)}`,
        schema: runwayTaskSchema,
      });
      switch (task.status) {
        case "PENDING":
          return { state: "pending" };
        case "THROTTLED":
          // Over Runway's concurrency: queued on their side, not an error.
          return { state: "pending", detail: "throttled" };
        case "RUNNING":
          return { state: "running", progress: task.progress ?? undefined };
        case "SUCCEEDED":
          return outputUrlState(
            "runway",
            runwayOutputCandidate(task),
            "video/mp4",
            options.allowInsecureUrls,
          );
        case "FAILED":
        case "CANCELLED":
          return {
            state: "failed",
            failureCode: task.failureCode ?? task.status,
            message: task.failure ?? `Runway task ${task.status.toLowerCase()}`,
          };
      }
    },

    async cancel(jobId: string): Promise<void> {
      try {
        await http.request({
          method: "DELETE",
          path: `/v1/tasks/${encodeURIComponent(jobId)}`,
          schema: z.unknown(),
        });
      } catch (error) {
        if (error instanceof ProviderError && error.httpStatus === 404) return; // already gone
        throw error;
      }
    },
  };
}
