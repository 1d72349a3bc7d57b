/**
 * Runway video (image_to_video, and text_to_video where the model has it) over the dev API.
 *
 * Thin fetch client, not @runwayml/sdk: the SDK retries 429s on its own (a 429 on create is the
 * daily quota and must not be retried), has no split between a recorded submit and a sleepless
 * poll, and would be a second retry/timeout/error path next to provider-fetch.
 *
 * API facts relied on (docs.dev.runwayml.com, DESIGN.md §8): header `X-Runway-Version: 2024-11-06`,
 * `Authorization: Bearer <key>`; `POST /v1/image_to_video` {model, promptImage, promptText, ratio,
 * duration, seed?, contentModeration?} and `POST /v1/text_to_video` {model, promptText, ratio,
 * duration, seed?, contentModeration?} answer {id} (which fields and values each model takes on
 * each endpoint: runway-models.ts); `GET /v1/tasks/{id}` answers {id, status, progress?,
 * output?: string[], failure?, failureCode?} with status PENDING | THROTTLED | RUNNING | SUCCEEDED | FAILED | CANCELLED;
 * `DELETE /v1/tasks/{id}` cancels (or deletes a finished task). Errors are {error: "..."}; 429 on
 * create means the daily limit is spent; 502/503/504 are load shedding and safe to retry.
 */
import { type AdapterOptions, httpOptions } from "../adapter-options.ts";
import { createProviderHttp } from "../http/provider-fetch.ts";
import { checkMediaUrl, outputUrlState } from "../http/media-url.ts";
import { ProviderError } from "../provider-errors.ts";
import type { JobState, UrlOutput, VideoProvider, VideoRequest } from "../types.ts";
import { registeredDuration, registeredRatio, runwayEndpoint } from "./runway-models.ts";
import { runwayBody, type RunwaySettings, runwayWireRequest } from "./runway-settings.ts";
import { runwayOutputCandidate, runwayTaskSchema } from "./runway-task.ts";
import { z } from "zod";

export const RUNWAY_API_VERSION = "2024-11-06";

export interface RunwayVideoOptions extends AdapterOptions {
  /** The promptImage HEAD check's limit: 5 s. */
  imageCheckTimeoutMs?: number;
  /** The user's registered settings (api_providers.settings): on the wire wherever the model takes them. */
  settings?: RunwaySettings;
}

/** The Runway video adapter for one model and the user's registered settings. */
export function createRunwayVideo(options: RunwayVideoOptions): VideoProvider {
  const { model } = options;
  const settings = options.settings ?? {};
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
    registered: {
      ratio: registeredRatio("runway", settings),
      durationSeconds: registeredDuration("runway", settings),
      seed: settings.seed,
    },
    validate: (request) => void runwayWireRequest(model, request, settings),

    async submit(request: VideoRequest): Promise<string> {
      const wire = runwayWireRequest(model, request, settings);
      const { promptImage } = wire;
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
      const { data } = await http.request({
        method: "POST",
        path: `/v1/${runwayEndpoint(wire)}`,
        body: runwayBody(model, wire, settings),
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
