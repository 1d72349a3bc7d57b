/**
 * RenderProvider over fal's hosted FFmpeg endpoints, for projects that run no render worker.
 * Only what fal's endpoints can express maps; anything else is a ProviderInputError naming it.
 *
 * Field names as documented on fal.ai/models/fal-ai/ffmpeg-api/<endpoint> (llms.txt, checked):
 * - merge-videos: {video_urls[], target_fps?, resolution?: {width, height} (512–2048)} → {video: File}
 * - merge-audio-video: {video_url, audio_url, start_offset? (s)} → {video: File}; the audio
 *   *replaces* the clip's sound (the docs say "audio track"), it is not mixed in.
 * - extract-frame: {video_url, frame_type: first|middle|last} → {images: [{url}]}; the docs'
 *   example answers a .jpg, so the content type is taken from the answer, not assumed PNG.
 * Uncertain (not in the docs): whether merge-videos re-times clips of other fps when target_fps
 * is set, and loudness — fal does not normalise, so `loudnessLufs` is refused rather than ignored.
 * Nor can any endpoint filter colour: a timeline's `grade` is refused, never dropped (a film would
 * come back ungraded without a word).
 * Outputs live on fal's CDN and expire; `output.bucket/path` is for the caller's copyToStorage.
 */
import { z } from "zod";
import type { AdapterOptions } from "../adapter-options.ts";
import { ProviderInputError } from "../provider-errors.ts";
import type { JobState, RenderProvider, RenderRequest, Timeline, UrlOutput } from "../types.ts";
import { createFalQueue } from "./fal-queue.ts";

const APP = "fal-ai/ffmpeg-api";
const ENDPOINTS = ["merge-videos", "merge-audio-video", "extract-frame"] as const;
type Endpoint = (typeof ENDPOINTS)[number];

const file = z.looseObject({ url: z.string().url(), content_type: z.string().nullish() });
const videoOutput = z.looseObject({ video: file });
const framesOutput = z.looseObject({ images: z.array(file).min(1) });

type Mapped = { endpoint: Endpoint; input: Record<string, unknown> };

/** The fal endpoint and input for a request, or the reason fal cannot do it. */
export function mapRenderRequest(request: RenderRequest): Mapped | string {
  switch (request.op) {
    case "extract_last_frame":
      return { endpoint: "extract-frame", input: { video_url: request.clipUrl, frame_type: "last" } };
    case "mix_dialogue": {
      const [line, ...more] = request.dialogue;
      if (!line || more.length > 0) {
        return "mix_dialogue maps to merge-audio-video, which takes exactly one dialogue track";
      }
      if (line.gainDb) return "mix_dialogue: merge-audio-video has no gain; dialogue gainDb must be 0";
      return {
        endpoint: "merge-audio-video",
        input: {
          video_url: request.clipUrl,
          audio_url: line.url,
          start_offset: line.startFrame / request.fps,
        },
      };
    }
    case "assemble":
      return mapAssemble(request.timeline);
    case "dialogue_track":
      return "dialogue_track: fal's ffmpeg-api has no endpoint that renders audio alone; it needs the render worker";
  }
}

function mapAssemble(t: Timeline): Mapped | string {
  const refuse = (what: string) =>
    `assemble: merge-videos only joins whole clips end to end; ${what} needs the render worker`;
  if (t.dialogue.length > 0) return refuse("dialogue");
  if (t.music) return refuse("music");
  if (t.loudnessLufs !== undefined) return refuse("loudness normalisation");
  if (t.grade) return refuse("a colour grade");
  if (t.clips.some((c) => c.inFrame !== 0)) return refuse("trimming (inFrame > 0)");
  if (t.clips.some((c, i) => i < t.clips.length - 1 && c.transition && c.transition.type !== "cut")) {
    return refuse("a fade or dissolve");
  }
  if (t.clips.length < 2) return refuse("a single clip");
  const sized = [t.width, t.height].every((n) => n >= 512 && n <= 2048);
  // outFrame cannot be checked without probing the clips: fal plays each clip to its end.
  return {
    endpoint: "merge-videos",
    input: {
      video_urls: t.clips.map((c) => c.url),
      target_fps: t.fps,
      ...(sized ? { resolution: { width: t.width, height: t.height } } : {}),
    },
  };
}

export function createFalFfmpegRender(options: Omit<AdapterOptions, "model">): RenderProvider {
  const queue = createFalQueue(options);
  const provider = "fal";
  const model = APP;
  const parseJobId = (jobId: string) => {
    const at = jobId.indexOf(":");
    const endpoint = jobId.slice(0, at) as Endpoint;
    if (at < 0 || !ENDPOINTS.includes(endpoint)) {
      throw new ProviderInputError(provider, model, `not a fal-ffmpeg job id: ${jobId}`);
    }
    return { modelId: `${APP}/${endpoint}`, endpoint, requestId: jobId.slice(at + 1) };
  };
  const mapped = (request: RenderRequest): Mapped => {
    const result = mapRenderRequest(request);
    if (typeof result === "string") throw new ProviderInputError(provider, model, result);
    return result;
  };

  return {
    provider,
    model,
    validate: (request) => void mapped(request),
    async submit(request) {
      const { endpoint, input } = mapped(request);
      // The job id carries the endpoint: poll and cancel need it, and it is all a task records.
      return `${endpoint}:${await queue.submit(`${APP}/${endpoint}`, input)}`;
    },
    async poll(jobId): Promise<JobState<UrlOutput & { durationSeconds?: number }>> {
      const { modelId, endpoint, requestId } = parseJobId(jobId);
      if (endpoint === "extract-frame") {
        const state = await queue.poll(modelId, requestId, framesOutput);
        if (state.state !== "succeeded") return state;
        const image = state.output.images[0];
        return {
          state: "succeeded",
          output: { url: image.url, contentType: image.content_type ?? undefined },
        };
      }
      const state = await queue.poll(modelId, requestId, videoOutput);
      if (state.state !== "succeeded") return state;
      return {
        state: "succeeded",
        output: { url: state.output.video.url, contentType: state.output.video.content_type ?? "video/mp4" },
      };
    },
    async cancel(jobId) {
      const { modelId, requestId } = parseJobId(jobId);
      await queue.cancel(modelId, requestId);
    },
  };
}
