/**
 * One scene's video (step 4) as recorded steps of the task that runs it (a film.chain):
 * reference image by its three cases, a ≤ 1000-char prompt without dialogue, the video
 * job, the output URL check, the copy into Storage, the real end frame from the render worker, and
 * the movie_scenes row. A scene's failure is recorded on its row and never thrown.
 */
import type { TaskContext } from "../engine/task-context.ts";
import { isValidMediaUrl } from "./assembly-rules.ts";
import { isSceneFailure, SceneFailure } from "./scene-failure.ts";
import {
  findCachedVideo,
  storageKeyOf,
  storeCachedVideo,
  videoCacheKey,
  type VideoInputs,
} from "../caches/asset-cache.ts";
import { type FilmEnv, filmPath } from "./film-env.ts";
import { runJob } from "./film-jobs.ts";
import { loadScene, type MovieRow, screenplayScene } from "./film-movie.ts";
import { chooseReferenceSource, locationImagePrompt } from "./reference-image.ts";
import { afterHalfDone } from "./scene-halves.ts";
import { storeOutput } from "./store-output.ts";
import { awaitLocationImage } from "./location-image-task.ts";
import { buildShortVideoPrompt, ratioSize, videoShape } from "./video-prompt.ts";

export async function generateSceneVideo(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  sceneNumber: number,
): Promise<"completed" | "failed"> {
  const s = `scene-${sceneNumber}`;
  try {
    await produceClip(ctx, env, movie, sceneNumber, s);
    return "completed";
  } catch (error) {
    if (!isSceneFailure(error)) throw error;
    const message = (error as Error).message;
    await ctx.step(`${s}:failed`, async (tx) => {
      await tx`update public.movie_scenes set status = 'failed', error_message = ${message}, video_url = null
                where movie_id = ${movie.id} and scene_number = ${sceneNumber}`;
      await afterHalfDone(tx, env.store, ctx, movie.id, sceneNumber);
    });
    return "failed";
  }
}

async function produceClip(ctx: TaskContext, env: FilmEnv, movie: MovieRow, sceneNumber: number, s: string) {
  const scene = await loadScene(env.sql, movie.id, sceneNumber);
  const written = screenplayScene(movie, sceneNumber);
  const bible = movie.metadata.visual_bible!;
  const shape = videoShape(
    env.providers.video.provider,
    env.providers.video.model,
    movie.orientation,
    Number(scene.duration_seconds),
    env.providers.video.registered,
  );
  const metric = { movieId: movie.id, userId: movie.user_id, step: "generate_videos", sceneNumber };

  const reference = await ctx.step(`${s}:reference`, async (tx) => {
    await tx`update public.movie_scenes set status = 'generating', error_message = null where id = ${scene.id}`;
    const [previous] = scene.continues_from === null ? [] : await tx`
      select end_frame_url from public.movie_scenes where movie_id = ${movie.id} and scene_number = ${scene.continues_from} and status = 'completed'`;
    const [library] = await tx`
      select id, image_url from public.location_images
       where user_id = ${movie.user_id} and location_slug = ${scene.location_slug} and time_of_day = ${scene.time_of_day} and weather = ${scene.weather}`;
    const source = chooseReferenceSource({
      isContinuation: scene.is_continuation,
      previousEndFrameUrl: previous?.end_frame_url ?? null,
      libraryImageUrl: library?.image_url ?? null,
    });
    if (source === "previous_frame") return { source, url: previous.end_frame_url as string, imageId: null };
    if (source === "library") {
      await tx`update public.location_images set times_used = times_used + 1 where id = ${library.id}`;
      return { source, url: library.image_url as string, imageId: library.id as string };
    }
    return { source, url: null as string | null, imageId: null as string | null };
  });

  if (reference.source === "generated") {
    // Chain heads at the same place, time and weather start together: one task makes the image.
    const prompt = locationImagePrompt({
      name: scene.location_name,
      timeOfDay: scene.time_of_day,
      weather: scene.weather,
    }, bible.visual_style);
    const image = await awaitLocationImage(ctx, env, `${s}:location-image`, {
      movieId: movie.id,
      sceneNumber,
      locationName: scene.location_name,
      locationSlug: scene.location_slug,
      timeOfDay: scene.time_of_day,
      weather: scene.weather,
      prompt,
      ...ratioSize(shape.ratio),
    });
    await ctx.step(
      `${s}:location-image-use`,
      (tx) =>
        tx`update public.location_images set times_used = times_used + 1 where id = ${image.imageId}`.then(
          () => null,
        ),
    );
    Object.assign(reference, image);
  }

  const prompt = buildShortVideoPrompt(written, bible, { name: scene.location_name, weather: scene.weather });
  await ctx.step(`${s}:prompt`, (tx) =>
    tx`
    update public.movie_scenes set video_prompt = ${prompt}, reference_image_url = ${reference.url}, reference_image_source = ${reference.source},
           location_image_id = ${reference.imageId}, duration_seconds = ${shape.durationSeconds} where id = ${scene.id}`
      .then(() => null));

  const registeredSeed = env.providers.video.registered?.seed;
  const clipUrl = await cachedOrNewClip(ctx, env, movie, s, {
    prompt,
    referenceImageUrl: reference.url,
    provider: env.providers.video.provider,
    model: env.providers.video.model,
    ratio: shape.ratio,
    durationSeconds: shape.durationSeconds,
    // A registered seed changes the clip: it belongs in the cache key.
    ...(registeredSeed === undefined ? {} : { seed: registeredSeed }),
  }, metric);

  const frame = await runJob(ctx, {
    sql: env.sql,
    name: `${s}:end-frame`,
    provider: env.providers.render,
    request: {
      op: "extract_last_frame" as const,
      clipUrl,
      output: {
        bucket: env.bucket,
        path: filmPath(env, movie.id, `${s}-${ctx.task.id.slice(0, 8)}-end.png`),
      },
    },
    metric,
    cost: { units: 1, unit: "renders" },
    pollEveryMs: env.pollMs,
  });

  await ctx.step(`${s}:saved`, async (tx) => {
    // No end frame is no reason to lose the clip; a continuation then falls back to the library.
    await tx`
      update public.movie_scenes set status = 'completed', clip_url = ${clipUrl}, video_url = ${clipUrl},
             end_frame_url = ${frame.ok ? frame.url : null}, error_message = ${
      frame.ok ? null : `end frame: ${frame.message}`
    },
             mix_status = 'pending', stale = false
       where id = ${scene.id}`;
    await afterHalfDone(tx, env.store, ctx, movie.id, sceneNumber);
  });
}

/**
 * generated_videos: a clip of the same prompt, reference image, model, ratio and duration is the
 * owner's already — no job is submitted. The lookup is a recorded step, so a resumed slice keeps
 * the decision it made; a new clip becomes the entry once it is in our Storage.
 */
async function cachedOrNewClip(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  s: string,
  inputs: VideoInputs,
  metric: { movieId: string; userId: string; step: string; sceneNumber: number },
) {
  const hash = await videoCacheKey(inputs);
  const cached = await ctx.step(`${s}:video-cache`, (tx) => findCachedVideo(tx, movie.user_id, hash));
  if (cached) return cached;
  const video = await runJob(ctx, {
    sql: env.sql,
    name: `${s}:video`,
    provider: env.providers.video,
    request: {
      promptText: inputs.prompt,
      promptImage: inputs.referenceImageUrl!,
      ratio: inputs.ratio,
      durationSeconds: inputs.durationSeconds,
      ...(inputs.seed === undefined ? {} : { seed: inputs.seed }),
    },
    metric,
    cost: { units: inputs.durationSeconds, unit: "seconds" },
    pollEveryMs: env.pollMs,
  });
  if (!video.ok) throw new SceneFailure(`video generation failed: ${video.failureCode}: ${video.message}`);
  if (!isValidMediaUrl(video.url)) throw new SceneFailure("Invalid video URL");
  const path = filmPath(env, movie.id, `${s}-${ctx.task.id.slice(0, 8)}.mp4`);
  const clipUrl = await storeOutput(ctx, env, `${s}:video-copy`, video.url, "video", path);
  await ctx.step(`${s}:video-cached`, async (tx) => {
    const key = storageKeyOf((b, p) => env.storage.publicUrl(b, p), env.bucket, clipUrl);
    await storeCachedVideo(tx, movie.user_id, hash, inputs, {
      videoUrl: clipUrl,
      bucket: key === null ? null : env.bucket,
      path: key,
    });
    return null;
  });
  return clipUrl;
}
