/**
 * Background music with Beatoven.ai: compose from a prompt, poll the task until it is composed.
 * Optional in the pipeline (no music provider, no music), but a real adapter.
 *
 * Thin fetch client: Beatoven publishes no JavaScript SDK.
 *
 * API facts relied on (github.com/Beatoven/public-api docs/api-spec.md, DESIGN.md §8): base
 * https://public-api.beatoven.ai, `Authorization: Bearer <key>`; `POST /api/v1/tracks/compose`
 * {prompt: {text}, format: mp3 | aac | wav, looping} answers {status: "started", task_id};
 * `GET /api/v1/tasks/{task_id}` answers {status: started | composing | running | composed, meta}
 * and, once composed, meta.track_url (plus stems_url). The length is read from the prompt text
 * ("30 seconds peaceful lo-fi ..."), so the duration goes there. The spec names no failed status
 * and no cancel endpoint: any other status is a failure, and cancel() is a no-op.
 */
import { z } from "zod";
import { type AdapterOptions, httpOptions } from "../adapter-options.ts";
import { outputUrlState } from "../http/media-url.ts";
import { createProviderHttp } from "../http/provider-fetch.ts";
import { ProviderInputError } from "../provider-errors.ts";
import type { JobState, MusicProvider, MusicRequest, UrlOutput } from "../types.ts";

const CONTENT_TYPES = { mp3: "audio/mpeg", aac: "audio/aac", wav: "audio/wav" } as const;
const PENDING = new Set(["started", "composing", "running"]);
/** The longest cue we ask for: our bound for a film's score, not Beatoven's (its spec states none). */
export const BEATOVEN_MAX_SECONDS = 900;

const taskSchema = z.looseObject({
  status: z.string(),
  meta: z.looseObject({ track_url: z.string().nullish() }).nullish(),
  error: z.unknown().optional(),
});

export interface BeatovenMusicOptions extends AdapterOptions {
  format?: keyof typeof CONTENT_TYPES;
  looping?: boolean;
}

export function createBeatovenMusic(options: BeatovenMusicOptions): MusicProvider {
  const { model } = options;
  const format = options.format ?? "mp3";
  const http = createProviderHttp({
    provider: "beatoven",
    baseUrl: options.baseUrl ?? "https://public-api.beatoven.ai",
    headers: { authorization: `Bearer ${options.apiKey}` },
    ...httpOptions(options),
  });

  const validate = (request: MusicRequest) => {
    const fail = (message: string) => {
      throw new ProviderInputError("beatoven", model, message);
    };
    if (request.prompt.trim() === "") fail("prompt is empty");
    if (request.prompt.length > 500) fail("prompt is over 500 characters");
    if (
      !Number.isInteger(request.durationSeconds) || request.durationSeconds < 5 ||
      request.durationSeconds > BEATOVEN_MAX_SECONDS
    ) fail(`durationSeconds must be a whole number in 5..${BEATOVEN_MAX_SECONDS}`);
  };

  return {
    provider: "beatoven",
    model,
    validate,
    async submit(request) {
      validate(request);
      const body = {
        prompt: { text: `${request.durationSeconds} seconds ${request.prompt.trim()}` },
        format,
        looping: options.looping ?? false,
      };
      const { data } = await http.request({
        method: "POST",
        path: "/api/v1/tracks/compose",
        body,
        schema: z.looseObject({ task_id: z.string().min(1) }),
      });
      return data.task_id;
    },
    async poll(jobId): Promise<JobState<UrlOutput>> {
      const { data } = await http.request({
        method: "GET",
        path: `/api/v1/tasks/${encodeURIComponent(jobId)}`,
        schema: taskSchema,
      });
      if (PENDING.has(data.status)) return { state: data.status === "started" ? "pending" : "running" };
      if (data.status === "composed") {
        return outputUrlState(
          "beatoven",
          data.meta?.track_url,
          CONTENT_TYPES[format],
          options.allowInsecureUrls,
        );
      }
      return {
        state: "failed",
        failureCode: data.status || "unknown_status",
        message: typeof data.error === "string" ? data.error : `composition ended ${data.status}`,
      };
    },
    async cancel() {},
  };
}
