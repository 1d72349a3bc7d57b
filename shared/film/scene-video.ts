/**
 * One scene's video (step 4) as recorded steps of the task that runs it (a film.chain):
 * reference image by its three cases, a ≤ 1000-char prompt without dialogue, then each of its
 * shots (scene_shots, planned by shot-plan.ts) in order — the video job, the output URL check,
 * the copy into Storage, the real end frame from the render worker, which the next shot starts
 * from — then the shots joined into the scene's clip, and the movie_scenes row. A scene's failure
 * is recorded on its row (and the failed shot's) and never thrown.
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
import { failureText, runJob } from "./film-jobs.ts";
import { loadScene, type MovieRow, type SceneRow, screenplayScene } from "./film-movie.ts";
import { chooseReferenceSource, locationImagePrompt } from "./reference-image.ts";
import { afterHalfDone } from "./scene-halves.ts";
import { storeOutput } from "./store-output.ts";
import { awaitLocationImage } from "./location-image-task.ts";
import { buildShortVideoPrompt, buildShotPrompt, ratioSize, videoShape } from "./video-prompt.ts";
import { extractLastFrame, joinShots } from "./shot-renders.ts";
import { updateStep } from "./film-progress.ts";
import { hashJson } from "../crypto/content-hash.ts";

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
  const shots = await sceneShots(ctx, s, scene, movie, shape.durationSeconds);
  const sceneTotal = movie.metadata.screenplay_detailed?.scenes.length ?? sceneNumber;

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

  if (reference.source === "previous_frame") {
    // The scene it continues as it is now: a take the owner accepted for it while the film was
    // cancelled gave it another last frame, which this scene now continues from (its shots, made
    // from the old one, are made again: produceShot).
    const [now] = await env.sql`
      select end_frame_url from public.movie_scenes
       where movie_id = ${movie.id} and scene_number = ${scene.continues_from} and status = 'completed'`;
    if (now?.end_frame_url && now.end_frame_url !== reference.url) reference.url = now.end_frame_url;
  }

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

  const scenePrompt = buildShortVideoPrompt(written, bible, {
    name: scene.location_name,
    weather: scene.weather,
  });
  await ctx.step(`${s}:prompt`, (tx) =>
    tx`
    update public.movie_scenes set video_prompt = ${scenePrompt}, reference_image_url = ${reference.url}, reference_image_source = ${reference.source},
           location_image_id = ${reference.imageId} where id = ${scene.id}`
      .then(() => null));

  // Each shot continues from the real last frame of the one before; the first takes the scene's.
  let from = { url: reference.url, source: reference.source as string };
  const clips: { url: string; seconds: number }[] = [];
  let endFrame: { url: string | null; error: string | null } = { url: null, error: null };
  for (const shot of shots) {
    const made = await shotAsItIsNow(
      env,
      shot.id,
      await produceShot(ctx, env, movie, {
        s,
        shot,
        shots: shots.length,
        prompt: buildShotPrompt(scenePrompt, written, shot.shot_number, shots.length),
        from,
        ratio: shape.ratio,
        metric,
        progress: { sceneNumber, scenes: sceneTotal },
      }),
    );
    clips.push({ url: made.clipUrl, seconds: Number(shot.duration_seconds) });
    endFrame = { url: made.endFrameUrl, error: made.endFrameError };
    if (made.endFrameUrl) from = { url: made.endFrameUrl, source: "previous_shot" };
    else if (shot.shot_number < shots.length) {
      throw new SceneFailure(
        `shot ${shot.shot_number}: no last frame to continue from: ${made.endFrameError}`,
      );
    }
  }
  const clipUrl = clips.length === 1 ? clips[0].url : await joinShots(ctx, env, movie, s, clips, metric);

  await ctx.step(`${s}:saved`, async (tx) => {
    // No end frame is no reason to lose the clip; a continuation then falls back to the library.
    await tx`
      update public.movie_scenes set status = 'completed', clip_url = ${clipUrl}, video_url = ${clipUrl},
             reference_image_url = ${reference.url},
             duration_seconds = ${
      clips.reduce((sum, c) => sum + c.seconds, 0)
    }, end_frame_url = ${endFrame.url}, error_message = ${
      endFrame.url ? null : `end frame: ${endFrame.error}`
    },
             mix_status = 'pending', stale = false
       where id = ${scene.id}`;
    // Every shot was kept or made again from the frames as they are now: none is stale.
    await tx`update public.scene_shots set stale = false where scene_id = ${scene.id}`;
    await afterHalfDone(tx, env.store, ctx, movie.id, sceneNumber);
  });
}

/**
 * The shot as it is now, when a take the owner accepted replaced the clip this task made: the
 * film was cancelled after the shot was made, the take accepted (its frame extracted by its
 * asset.apply, which a resume waits for), and the film resumed. This task's recorded steps still
 * hold its own clip and frame; the scene is joined from the accepted one, and the next shot
 * starts from its frame.
 */
async function shotAsItIsNow(
  env: FilmEnv,
  shotId: string,
  made: { clipUrl: string; endFrameUrl: string | null; endFrameError: string | null },
) {
  const [now] = await env
    .sql`select status, clip_url, end_frame_url from public.scene_shots where id = ${shotId}`;
  if (now?.status !== "completed" || !now.clip_url || now.clip_url === made.clipUrl) return made;
  return {
    clipUrl: now.clip_url as string,
    endFrameUrl: now.end_frame_url as string | null,
    endFrameError: now.end_frame_url ? null : "none was extracted from the accepted take",
  };
}

/** A scene_shots row as the shot loop reads it. */
interface ShotRow {
  id: string;
  shot_number: number;
  duration_seconds: string;
  status: string;
  reference_image_url: string | null;
  clip_url: string | null;
  end_frame_url: string | null;
}

/**
 * The scene's shots in order. A scene from before shots has none: it gets one, of its own length
 * on the model's grid, so every scene is made the same way.
 */
async function sceneShots(ctx: TaskContext, s: string, scene: SceneRow, movie: MovieRow, seconds: number) {
  return await ctx.step(`${s}:shots`, async (tx) => {
    await tx`
      insert into public.scene_shots (movie_id, scene_id, user_id, shot_number, duration_seconds)
      select ${movie.id}, ${scene.id}, ${movie.user_id}, 1, ${seconds}
       where not exists (select 1 from public.scene_shots where scene_id = ${scene.id})`;
    return await tx<ShotRow[]>`
      select id, shot_number, duration_seconds::text, status, reference_image_url, clip_url, end_frame_url
        from public.scene_shots where scene_id = ${scene.id} order by shot_number`;
  });
}

/**
 * One shot: its clip (from the cache or a paid job), copied into Storage, and its real last frame.
 * A shot already made from the same first frame (a redo of a scene that failed later on) is kept
 * as it is: nothing is paid again for it.
 */
async function produceShot(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  job: {
    s: string;
    shot: ShotRow;
    shots: number;
    prompt: string;
    from: { url: string | null; source: string };
    ratio: string;
    metric: { movieId: string; userId: string; step: string; sceneNumber: number };
    progress: { sceneNumber: number; scenes: number };
  },
): Promise<{ clipUrl: string; endFrameUrl: string | null; endFrameError: string | null }> {
  const { shot, from } = job;
  const named = job.shots === 1 ? job.s : `${job.s}:shot-${shot.shot_number}`;
  type Kept = { clipUrl: string; endFrameUrl: string | null };
  const start = (t: string) =>
    ctx.step(`${t}:start`, async (tx): Promise<{ from: string | null; kept: Kept | null }> => {
      // The shot as it is now, not as this task listed it first (a recorded step): a take the owner
      // accepted while the film was cancelled (a cascade's, made from the frame the shot starts
      // from now) is kept. Before, the resumed film paid for the shot again and replaced the take.
      const [now] = await tx<ShotRow[]>`
        select status, reference_image_url, clip_url, end_frame_url from public.scene_shots where id = ${shot.id}`;
      if (now?.status === "completed" && now.clip_url && now.reference_image_url === from.url) {
        return { from: from.url, kept: { clipUrl: now.clip_url, endFrameUrl: now.end_frame_url } };
      }
      await tx`
      update public.scene_shots set status = 'generating', error_message = null, prompt = ${job.prompt},
             reference_image_url = ${from.url}, reference_image_source = ${from.source}, clip_url = null, end_frame_url = null
       where id = ${shot.id}`;
      await updateStep(tx, job.metric.movieId, "generate_videos", {
        status: "running",
        detail:
          `scene ${job.progress.sceneNumber}/${job.progress.scenes}, shot ${shot.shot_number}/${job.shots}`,
      });
      return { from: from.url, kept: null };
    });
  // A start recorded before it said its frame (a task in flight across the upgrade) counts as this one.
  const recorded = (await start(named)) as { from: string | null; kept: Kept | null } | Kept | null;
  const first = recorded !== null && "from" in recorded ? recorded : { from: from.url, kept: recorded };
  let t = named;
  let kept = first.kept;
  // Started from another frame than the one the shot starts from now (the shot before it got a take
  // the owner accepted while the film was cancelled): what this task recorded of the shot was made
  // from a frame the film no longer has. It is made again, under step names of its own.
  if (first.from !== from.url) {
    t = `${named}@${(await hashJson(from.url)).slice(0, 8)}`;
    kept = (await start(t)).kept;
  }
  if (kept) return { ...kept, endFrameError: kept.endFrameUrl ? null : "none was extracted" };
  try {
    const registeredSeed = env.providers.video.registered?.seed;
    const clipUrl = await cachedOrNewClip(ctx, env, movie, t, {
      prompt: job.prompt,
      referenceImageUrl: from.url,
      provider: env.providers.video.provider,
      model: env.providers.video.model,
      ratio: job.ratio,
      // What the wire asks for (videoShape, as a preview asks it): a clip length the owner registered
      // after the shots were planned replaces the shot's (runwayWireRequest), and the film's cap,
      // the owner's daily use and the cache key count what is paid for. Before, the planned length.
      durationSeconds: videoShape(
        env.providers.video.provider,
        env.providers.video.model,
        movie.orientation,
        Number(shot.duration_seconds),
        env.providers.video.registered,
      ).durationSeconds,
      // A registered seed changes the clip: it belongs in the cache key.
      ...(registeredSeed === undefined ? {} : { seed: registeredSeed }),
    }, job.metric);
    const frame = await extractLastFrame(ctx, env, movie.id, {
      name: `${t}:end-frame`,
      clipUrl,
      file: t.replace(":", "-"),
      metric: job.metric,
    });
    const endFrameUrl = frame.ok ? frame.url : null;
    // Not over a take the owner accepted while the film was cancelled after this clip was made and
    // before this step saved it: the shot is then `completed` with the take, which shotAsItIsNow
    // hands the scene. Before, the resumed film saved its own clip over the take (superseded, in
    // no film, and left for retention to delete).
    await ctx.step(`${t}:shot-saved`, (tx) =>
      tx`
      update public.scene_shots set status = 'completed', clip_url = ${clipUrl}, end_frame_url = ${endFrameUrl},
             provider_job_id = (select external_id from public.movie_step_metrics
                                 where task_id = ${ctx.task.id} and step_name = ${`${t}:video`}),
             error_message = ${frame.ok ? null : `end frame: ${frame.message}`}
       where id = ${shot.id}
         and not (status = 'completed' and clip_url is not null and clip_url <> ${clipUrl})`.then(() =>
        null
      ));
    return { clipUrl, endFrameUrl, endFrameError: frame.ok ? null : frame.message };
  } catch (error) {
    if (!isSceneFailure(error)) throw error;
    const message = (error as Error).message;
    await ctx.step(
      `${t}:shot-failed`,
      (tx) =>
        tx`update public.scene_shots set status = 'failed', error_message = ${message} where id = ${shot.id}`
          .then(() => null),
    );
    throw job.shots === 1 ? error : new SceneFailure(`shot ${shot.shot_number}/${job.shots}: ${message}`);
  }
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
  if (!video.ok) throw new SceneFailure(`video generation failed: ${failureText(video)}`);
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
