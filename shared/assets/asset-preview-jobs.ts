/**
 * What a clip, cover, library image or music preview asks its provider for: the pipeline's own
 * request for that asset (the scene's prompt and reference image, the poster, the portrait, the
 * location image, the film score) with the draft's prompt and seed on top, and the hash of those
 * inputs (asset-preview-cache.ts). The provider is the owner's, with draft.model when one was sent
 * (filmEnv's model override).
 */
import { contentHash, videoCacheKey } from "../caches/asset-cache.ts";
import type { JsonObject } from "../db/client.ts";
import { type FilmEnv, isConfigured } from "../film/film-env.ts";
import type { MovieRow } from "../film/film-movie.ts";
import { filmScoreRequest, portraitRequest, posterRequest } from "../film/film-requests.ts";
import { locationImagePrompt } from "../film/reference-image.ts";
import { ratioSize, videoShape } from "../film/video-prompt.ts";
import type { MediaKind } from "../providers/http/media-url.ts";
import type { ImageRequest, JobProvider, UrlOutput } from "../providers/types.ts";
import { type AssetRunRow, PreviewFailure } from "./asset-preview-file.ts";

export interface PreviewJob {
  // deno-lint-ignore no-explicit-any
  provider: JobProvider<any, UrlOutput>;
  request: unknown;
  /** Recorded on the preview version (and read back by accept). */
  params: JsonObject;
  inputsHash: string;
  media: MediaKind;
  ext: string;
  contentType: string;
  cost: { units: number; unit: string };
}

const seedOf = (run: AssetRunRow) => run.draft.settings?.seed as number | undefined;
const withSeed = (seed: number | undefined) => (seed === undefined ? {} : { seed });

export async function previewJob(env: FilmEnv, movie: MovieRow, run: AssetRunRow): Promise<PreviewJob> {
  if (run.kind === "video") return await clipJob(env, movie, run);
  if (run.kind === "cover") return await imageJob(env, run, "cover", posterRequest(movie));
  if (run.kind === "image") {
    return await imageJob(env, run, "image", await libraryImageRequest(env, movie, run));
  }
  if (run.kind === "music") return await scoreJob(env, movie, run);
  throw new PreviewFailure(`kind ${run.kind} has no preview to generate`);
}

async function clipJob(env: FilmEnv, movie: MovieRow, run: AssetRunRow): Promise<PreviewJob> {
  const [scene] = await env.sql`
    select scene_number, duration_seconds, video_prompt, reference_image_url from public.movie_scenes
     where movie_id = ${movie.id} and scene_number = ${run.target.sceneNumber!}`;
  if (!scene) throw new PreviewFailure(`movie ${movie.id} has no scene ${run.target.sceneNumber}`);
  const prompt = run.draft.prompt ?? scene.video_prompt;
  if (!prompt) {
    throw new PreviewFailure(`scene ${scene.scene_number} has no video prompt yet: send draft.prompt`);
  }
  const video = env.providers.video;
  const { ratio, durationSeconds } = videoShape(
    video.provider,
    video.model,
    movie.orientation,
    Number(scene.duration_seconds),
    video.registered,
  );
  const referenceImageUrl: string | null = scene.reference_image_url ?? null;
  const seed = seedOf(run) ?? video.registered?.seed;
  return {
    provider: video,
    request: {
      promptText: prompt,
      ...(referenceImageUrl ? { promptImage: referenceImageUrl } : {}),
      ratio,
      durationSeconds,
      ...withSeed(seed),
    },
    params: { prompt, referenceImageUrl, ratio, durationSeconds, ...withSeed(seed) },
    inputsHash: await videoCacheKey({
      prompt,
      referenceImageUrl,
      provider: video.provider,
      model: video.model,
      ratio,
      durationSeconds,
      seed,
    }),
    media: "video",
    ext: "mp4",
    contentType: "video/mp4",
    cost: { units: durationSeconds, unit: "seconds" },
  };
}

async function imageJob(
  env: FilmEnv,
  run: AssetRunRow,
  kind: "cover" | "image",
  pipeline: ImageRequest,
): Promise<PreviewJob> {
  const image = env.providers.image;
  const seed = seedOf(run);
  const { prompt, width, height, purpose } = { ...pipeline, prompt: run.draft.prompt ?? pipeline.prompt };
  return {
    provider: image,
    request: { prompt, width, height, purpose, ...withSeed(seed) },
    params: { prompt, width, height, ...withSeed(seed) },
    inputsHash: await contentHash(kind, {
      prompt,
      width,
      height,
      purpose,
      provider: image.provider,
      model: image.model,
      seed,
    }),
    media: "image",
    ext: "png",
    contentType: "image/png",
    cost: { units: 1, unit: "images" },
  };
}

/** The pipeline's request for a portrait (cast.ts) or a location image (location-image-task.ts). */
async function libraryImageRequest(env: FilmEnv, movie: MovieRow, run: AssetRunRow): Promise<ImageRequest> {
  if (run.target.characterId !== undefined) {
    const [character] = await env
      .sql`select name, description from public.characters where id = ${run.target.characterId}`;
    if (!character) throw new PreviewFailure(`character ${run.target.characterId} no longer exists`);
    return portraitRequest(character as { name: string; description: string });
  }
  const [place] = await env
    .sql`select location_name, time_of_day, weather, generation_prompt from public.location_images where id = ${run
    .target.locationImageId!}`;
  if (!place) throw new PreviewFailure(`location image ${run.target.locationImageId} no longer exists`);
  const video = env.providers.video;
  return {
    prompt: place.generation_prompt ??
      locationImagePrompt(
        { name: place.location_name, timeOfDay: place.time_of_day, weather: place.weather },
        "cinematic",
      ),
    ...ratioSize(videoShape(video.provider, video.model, movie.orientation, 5, video.registered).ratio),
    purpose: "location",
  };
}

async function scoreJob(env: FilmEnv, movie: MovieRow, run: AssetRunRow): Promise<PreviewJob> {
  const music = env.providers.music;
  if (!music || !isConfigured(env, "music")) {
    throw new PreviewFailure(
      "the owner has no music provider any more: register one with the providers function (providerType music)",
    );
  }
  const pipeline = filmScoreRequest(movie);
  const { prompt, durationSeconds } = { ...pipeline, prompt: run.draft.prompt ?? pipeline.prompt };
  return {
    provider: music,
    request: { prompt, durationSeconds },
    params: { prompt, durationSeconds },
    inputsHash: await contentHash("music", {
      prompt,
      durationSeconds,
      provider: music.provider,
      model: music.model,
    }),
    media: "audio",
    ext: "mp3",
    contentType: "audio/mpeg",
    cost: { units: durationSeconds, unit: "seconds" },
  };
}
