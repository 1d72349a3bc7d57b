/**
 * The offline providers as JobProviders: each submit enqueues a `local_media` worker job through
 * the task engine (the same submit/poll/cancel path a paid provider takes), and a render worker
 * with FFmpeg makes the file. Outputs land at paths derived from the request, per user.
 */
import type { Sql } from "../../db/client.ts";
import { createWorkerJobClient, type WorkerJobClient } from "../../worker/worker-job-client.ts";
import { ProviderInputError } from "../provider-errors.ts";
import type {
  ImageProvider,
  ImageRequest,
  JobProvider,
  JobState,
  LipsyncProvider,
  MusicProvider,
  UrlOutput,
  VideoProvider,
} from "../types.ts";
import {
  LOCAL_MEDIA_KIND,
  LOCAL_MEDIA_MAX_SECONDS,
  type LocalMediaOp,
  type LocalMediaResult,
} from "./local-media-payload.ts";

export interface LocalProviderDeps {
  sql: Sql;
  /** The film's owner: the jobs are theirs, and so is the folder their files go to. */
  userId: string;
  /** engine.concurrency_limits key of the registry row, when the user registered `local` explicitly. */
  concurrencyKey?: string | null;
  /** Default `media`. */
  bucket?: string;
}

export type LocalOutput = UrlOutput & { durationSeconds: number | null };

const EXTENSIONS: Record<LocalMediaOp, string> = {
  image: "png",
  video: "mp4",
  voice: "mp3",
  music: "mp3",
  lipsync: "mp4",
};
const MEDIA_URL = /^https?:\/\//;

/** `local/<user>/<op>/<sha-256 of the request>.<ext>`: one file per distinct request. */
export async function localOutputPath(
  userId: string,
  op: LocalMediaOp,
  request: Record<string, unknown>,
): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(JSON.stringify([op, request])),
  );
  const hex = [...new Uint8Array(digest)].slice(0, 16).map((b) => b.toString(16).padStart(2, "0")).join("");
  return `local/${userId}/${op}/${hex}.${EXTENSIONS[op]}`;
}

export function localMediaClient(deps: LocalProviderDeps): WorkerJobClient {
  return createWorkerJobClient({
    sql: deps.sql,
    userId: deps.userId,
    concurrencyKey: deps.concurrencyKey ?? undefined,
  });
}

export async function pollLocalMedia(client: WorkerJobClient, jobId: string): Promise<JobState<LocalOutput>> {
  const state = await client.poll<LocalMediaResult>(jobId);
  if (state.state !== "succeeded") return state;
  const { url, contentType, durationSeconds } = state.output;
  return { state: "succeeded", output: { url, contentType, durationSeconds } };
}

interface LocalJobSpec<Request> {
  op: LocalMediaOp;
  /** Throws ProviderInputError; no job is created for a request the worker would refuse. */
  check(request: Request): void;
  /** The op's payload fields, without the output location. */
  fields(request: Request): Record<string, unknown>;
}

function localJobProvider<Request>(
  deps: LocalProviderDeps,
  spec: LocalJobSpec<Request>,
): JobProvider<Request, LocalOutput> {
  const client = localMediaClient(deps);
  const bucket = deps.bucket ?? "media";
  return {
    provider: "local",
    model: "local",
    jobsAreTasks: true,
    validate: spec.check,
    async submit(request) {
      spec.check(request);
      const fields = spec.fields(request);
      const output = { bucket, path: await localOutputPath(deps.userId, spec.op, fields) };
      return client.submit(LOCAL_MEDIA_KIND, { op: spec.op, ...fields, output });
    },
    poll: (jobId) => pollLocalMedia(client, jobId),
    cancel: (jobId) => client.cancel(jobId),
  };
}

const refuse = (message: string): never => {
  throw new ProviderInputError("local", "local", message);
};

function checkSize(width: number, height: number) {
  for (const [name, value] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(value) || value < 16 || value > 4096) {
      refuse(`${name} must be a whole number of pixels from 16 to 4096`);
    }
  }
}

/** "1280:720" → even pixel sizes (H.264 yuv420p needs even dimensions). */
export function parseRatio(ratio: string): { width: number; height: number } {
  const match = ratio.match(/^(\d{2,4}):(\d{2,4})$/);
  if (!match) return refuse(`ratio "${ratio}" must look like 1280:720`);
  const [width, height] = [Number(match[1]), Number(match[2])];
  if (width % 2 || height % 2) refuse(`ratio "${ratio}" needs even sides for H.264`);
  checkSize(width, height);
  return { width, height };
}

export function createLocalVideoProvider(deps: LocalProviderDeps): VideoProvider {
  return localJobProvider(deps, {
    op: "video",
    check(request) {
      parseRatio(request.ratio);
      if (!request.promptText.trim()) refuse("promptText is empty");
      if (!(request.durationSeconds > 0 && request.durationSeconds <= 60)) {
        refuse("durationSeconds must be more than 0 and at most 60");
      }
      if (request.promptImage !== undefined && !MEDIA_URL.test(request.promptImage)) {
        refuse("promptImage must be an http(s) URL");
      }
    },
    fields: (request) => ({
      caption: request.promptText.slice(0, 300),
      imageUrl: request.promptImage ?? null,
      ...parseRatio(request.ratio),
      durationSeconds: request.durationSeconds,
    }),
  });
}

export function createLocalImageProvider(deps: LocalProviderDeps): ImageProvider {
  return localJobProvider<ImageRequest>(deps, {
    op: "image",
    check(request) {
      checkSize(request.width, request.height);
      if (!request.prompt.trim()) refuse("prompt is empty");
    },
    fields: (request) => ({
      prompt: request.prompt,
      width: request.width,
      height: request.height,
      purpose: request.purpose ?? "location",
    }),
  });
}

export function createLocalLipsyncProvider(deps: LocalProviderDeps): LipsyncProvider {
  return localJobProvider(deps, {
    op: "lipsync",
    check(request) {
      if (!MEDIA_URL.test(request.videoUrl) || !MEDIA_URL.test(request.audioUrl)) {
        refuse("videoUrl and audioUrl must be http(s) URLs");
      }
    },
    fields: (request) => ({ videoUrl: request.videoUrl, audioUrl: request.audioUrl }),
  });
}

export function createLocalMusicProvider(deps: LocalProviderDeps): MusicProvider {
  return localJobProvider(deps, {
    op: "music",
    check(request) {
      if (!request.prompt.trim()) refuse("prompt is empty");
      if (!(request.durationSeconds > 0 && request.durationSeconds <= LOCAL_MEDIA_MAX_SECONDS)) {
        refuse(`durationSeconds must be more than 0 and at most ${LOCAL_MEDIA_MAX_SECONDS}`);
      }
    },
    fields: (request) => ({ prompt: request.prompt, durationSeconds: request.durationSeconds }),
  });
}
