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
import {
  filmScoreRequest,
  plannedFilmSeconds,
  portraitRequest,
  posterRequest,
} from "../film/film-requests.ts";
import { locationImagePrompt } from "../film/reference-image.ts";
import { filmRatio, ratioSize, videoShape } from "../film/video-prompt.ts";
import type { MediaKind } from "../providers/http/media-url.ts";
import type { ImageRequest, JobProvider, UrlOutput } from "../providers/types.ts";
import { type AssetRunRow, PreviewFailure } from "./asset-preview-file.ts";
import type { Take } from "./asset-take.ts";
import { isShotSlot, slotOwnerId } from "./asset-target.ts";

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

/** What is asked of the provider, as JSON: recorded once per preview (asset-preview.ts). */
export type PreviewAsk = Omit<PreviewJob, "provider">;

/** The provider a preview of this kind is made by: the owner's, as filmEnv resolved it. */
// deno-lint-ignore no-explicit-any
export function previewProvider(env: FilmEnv, kind: string): JobProvider<any, UrlOutput> {
  if (kind === "video") return env.providers.video;
  if (kind === "cover" || kind === "image") return env.providers.image;
  if (kind === "music") {
    const music = env.providers.music;
    if (!music || !isConfigured(env, "music")) {
      throw new PreviewFailure(
        "the owner has no music provider any more: register one with the providers function (providerType music)",
      );
    }
    return music;
  }
  throw new PreviewFailure(`kind ${kind} has no preview to generate`);
}

/** previewJob without its provider: what a preview's step records. */
export async function previewAsk(
  env: FilmEnv,
  movie: MovieRow,
  run: AssetRunRow,
  take: Take,
): Promise<PreviewAsk> {
  const { provider: _, ...ask } = await previewJob(env, movie, run, take);
  return ask;
}

const withSeed = (seed: number | undefined) => (seed === undefined ? {} : { seed });
/** A take number goes into the inputs hash and the params, never on the wire. */
const withTake = (take: Take) => (take.take === undefined ? {} : { take: take.take });

/** The run's take (asset-take.ts): its seed goes on the wire, a take number only into the hash. */
async function previewJob(
  env: FilmEnv,
  movie: MovieRow,
  run: AssetRunRow,
  take: Take,
): Promise<PreviewJob> {
  if (run.kind === "video") return await clipJob(env, movie, run, take);
  if (run.kind === "cover") return await imageJob(env, run, "cover", posterRequest(movie), take);
  if (run.kind === "image") {
    return await imageJob(env, run, "image", await libraryImageRequest(env, movie, run), take);
  }
  if (run.kind === "music") return await scoreJob(env, movie, run, take);
  throw new PreviewFailure(`kind ${run.kind} has no preview to generate`);
}

async function clipJob(env: FilmEnv, movie: MovieRow, run: AssetRunRow, take: Take): Promise<PreviewJob> {
  // A continuation starts from its predecessor's last frame as it is now: after that scene got a
  // new clip, its new end frame (what a cascade regenerates the continuation from).
  const [scene] = await env.sql`
    select s.scene_number, s.duration_seconds, s.video_prompt,
           case when s.reference_image_source = 'previous_frame' and p.end_frame_url is not null
                then p.end_frame_url else s.reference_image_url end as reference_image_url
      from public.movie_scenes s
      left join public.movie_scenes p on p.movie_id = s.movie_id and p.scene_number = s.continues_from
     where s.movie_id = ${movie.id} and s.scene_number = ${run.target.sceneNumber!}`;
  if (!scene) throw new PreviewFailure(`movie ${movie.id} has no scene ${run.target.sceneNumber}`);
  if (isShotSlot(run.slot)) {
    // A later shot starts from the previous shot's last frame as it is now; the first, like its scene.
    const [shot] = await env.sql`
      select h.shot_number, h.duration_seconds, h.prompt, p.end_frame_url as previous_end_frame
        from public.scene_shots h
        left join public.scene_shots p on p.scene_id = h.scene_id and p.shot_number = h.shot_number - 1
       where h.id = ${slotOwnerId(run.slot)}`;
    if (!shot) throw new PreviewFailure(`scene ${scene.scene_number} has no shot ${run.target.shotNumber}`);
    Object.assign(scene, {
      duration_seconds: shot.duration_seconds,
      video_prompt: shot.prompt ?? scene.video_prompt,
      reference_image_url: shot.shot_number === 1 ? scene.reference_image_url : shot.previous_end_frame,
    });
    if (!scene.reference_image_url) {
      throw new PreviewFailure(
        `shot ${shot.shot_number} has no previous shot's last frame to start from yet`,
      );
    }
  }
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
  // The take's seed replaces a registered one: a new take is a new seed.
  const seed = take.seed;
  return {
    provider: video,
    request: {
      promptText: prompt,
      ...(referenceImageUrl ? { promptImage: referenceImageUrl } : {}),
      ratio,
      durationSeconds,
      ...withSeed(seed),
    },
    params: { prompt, referenceImageUrl, ratio, durationSeconds, ...withSeed(seed), ...withTake(take) },
    inputsHash: await videoCacheKey({
      prompt,
      referenceImageUrl,
      provider: video.provider,
      model: video.model,
      ratio,
      durationSeconds,
      seed,
      take: take.take,
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
  take: Take,
): Promise<PreviewJob> {
  const image = env.providers.image;
  const seed = take.seed;
  const { prompt, width, height, purpose } = { ...pipeline, prompt: run.draft.prompt ?? pipeline.prompt };
  return {
    provider: image,
    request: { prompt, width, height, purpose, ...withSeed(seed) },
    params: { prompt, width, height, ...withSeed(seed), ...withTake(take) },
    inputsHash: await contentHash(kind, {
      prompt,
      width,
      height,
      purpose,
      provider: image.provider,
      model: image.model,
      seed,
      take: take.take,
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
    ...ratioSize(filmRatio(video, movie.orientation)),
    purpose: "location",
  };
}

async function scoreJob(env: FilmEnv, movie: MovieRow, run: AssetRunRow, take: Take): Promise<PreviewJob> {
  const music = previewProvider(env, "music");
  const pipeline = filmScoreRequest(movie, plannedFilmSeconds(movie), music.provider);
  const { prompt, durationSeconds } = { ...pipeline, prompt: run.draft.prompt ?? pipeline.prompt };
  return {
    provider: music,
    request: { prompt, durationSeconds },
    params: { prompt, durationSeconds, ...withTake(take) },
    inputsHash: await contentHash("music", {
      prompt,
      durationSeconds,
      provider: music.provider,
      model: music.model,
      take: take.take,
    }),
    media: "audio",
    ext: "mp3",
    contentType: "audio/mpeg",
    cost: { units: durationSeconds, unit: "seconds" },
  };
}
