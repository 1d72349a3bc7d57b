/**
 * Lip sync with sync.so (SyncLabs) v2: a generation from a clip and a dialogue track, polled.
 *
 * Thin fetch client, not @sync.so/sdk: two endpoints, and we need our own timeouts, Retry-After
 * handling and ProviderError mapping (provider-fetch) plus the Idempotency-Key below.
 *
 * API facts relied on (sync.so/docs/api-reference, DESIGN.md §8): `x-api-key` header;
 * `POST https://api.sync.so/v2/generate` {model, input: [{type: "video", url}, {type: "audio",
 * url}], options: {sync_mode}} answers {id, status, ...}; `GET /v2/generate/{id}` answers {id,
 * status: PENDING | PROCESSING | COMPLETED | FAILED | REJECTED | CANCELED, outputUrl, error,
 * error_code?}; POST /v2/generate honours an `Idempotency-Key` header (same key + same payload =
 * the same generation), so a create whose answer was lost can be retried without paying twice.
 * No cancel endpoint is documented for v2 generations: cancel() is a no-op.
 */
import { z } from "zod";
import { type AdapterOptions, httpOptions } from "../adapter-options.ts";
import { hashJson } from "../../crypto/content-hash.ts";
import { checkMediaUrl, isAllowedUrl, outputUrlState } from "../http/media-url.ts";
import { createProviderHttp } from "../http/provider-fetch.ts";
import { ProviderInputError } from "../provider-errors.ts";
import type { JobState, LipsyncProvider, LipsyncRequest, UrlOutput } from "../types.ts";

export const SYNC_MODELS = ["lipsync-2", "lipsync-2-pro", "lipsync-1.9.0-beta", "sync-3"] as const;

const generationSchema = z.looseObject({
  id: z.string().min(1),
  status: z.enum(["PENDING", "PROCESSING", "COMPLETED", "FAILED", "REJECTED", "CANCELED"]),
  outputUrl: z.string().nullish(),
  error: z.string().nullish(),
  error_code: z.string().nullish(),
});

export interface SyncLipsyncOptions extends AdapterOptions {
  syncMode?: "cut_off" | "loop" | "bounce" | "silence" | "remap";
  inputCheckTimeoutMs?: number;
}

export function createSyncLipsync(options: SyncLipsyncOptions): LipsyncProvider {
  const { model } = options;
  const http = createProviderHttp({
    provider: "sync",
    baseUrl: options.baseUrl ?? "https://api.sync.so",
    headers: { "x-api-key": options.apiKey },
    ...httpOptions(options),
  });

  const validate = (request: LipsyncRequest) => {
    if (!(SYNC_MODELS as readonly string[]).includes(model)) {
      throw new ProviderInputError("sync", model, `unknown model; use one of ${SYNC_MODELS.join(", ")}`);
    }
    for (const [name, url] of [["videoUrl", request.videoUrl], ["audioUrl", request.audioUrl]]) {
      if (!isAllowedUrl(url, options.allowInsecureUrls)) {
        throw new ProviderInputError("sync", model, `${name} must be an https URL`);
      }
    }
  };

  return {
    provider: "sync",
    model,
    validate,
    async submit(request) {
      validate(request);
      const check = {
        provider: "sync",
        model,
        timeoutMs: options.inputCheckTimeoutMs ?? 5_000,
        fetch: options.fetch,
        allowInsecureUrls: options.allowInsecureUrls,
      };
      await checkMediaUrl({ ...check, url: request.videoUrl, kind: "video" });
      await checkMediaUrl({ ...check, url: request.audioUrl, kind: "audio" });
      const body = {
        model,
        input: [{ type: "video", url: request.videoUrl }, { type: "audio", url: request.audioUrl }],
        options: { sync_mode: options.syncMode ?? "cut_off" },
      };
      const { data } = await http.request({
        method: "POST",
        path: "/v2/generate",
        body,
        schema: generationSchema,
        headers: { "idempotency-key": await hashJson(body) },
        idempotent: true,
      });
      return data.id;
    },
    async poll(jobId): Promise<JobState<UrlOutput>> {
      const { data } = await http.request({
        method: "GET",
        path: `/v2/generate/${encodeURIComponent(jobId)}`,
        schema: generationSchema,
      });
      switch (data.status) {
        case "PENDING":
          return { state: "pending" };
        case "PROCESSING":
          return { state: "running" };
        case "COMPLETED":
          return outputUrlState("sync", data.outputUrl, "video/mp4", options.allowInsecureUrls);
        default:
          return {
            state: "failed",
            failureCode: data.error_code ?? data.status,
            message: data.error ?? `generation ${data.status.toLowerCase()}`,
          };
      }
    },
    async cancel() {},
  };
}
