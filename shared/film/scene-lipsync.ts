/**
 * Lip sync of one scene inside film.mix, when the owner configured a lipsync provider: the
 * scene's lines rendered alone as one track of the clip's exact length (render worker), the clip
 * and that track to the lipsync provider, its output copied into Storage and refused unless it
 * has an audio track (a silent synced clip would drop the scene's lines). A scene cut into shots
 * is lip-synced where its lines fall (lipSyncByShots): only the shots that carry a line, each on
 * its own unless a line runs across a cut, then every part joined back into the scene. Each paid call is a
 * recorded providerStep with its intent row (runJob); a refusal or failed job is an outcome, so
 * the caller can fall back to the plain mix.
 */
import type { TaskContext } from "../engine/task-context.ts";
import { mp4TrackKinds } from "../media/mp4-tracks.ts";
import { ProviderInputError } from "../providers/provider-errors.ts";
import type { RenderRequest, TimelineAudio } from "../providers/types.ts";
import { type FilmEnv, filmObject, filmPath } from "./film-env.ts";
import { failureText, runJob } from "./film-jobs.ts";
import type { MetricKey } from "./film-metrics.ts";
import { FILM_FPS } from "./film-timeline.ts";
import { isSceneFailure } from "./scene-failure.ts";
import { storeOutput } from "./store-output.ts";
import type { MovieRow } from "./film-movie.ts";
import { lipsyncSegments } from "./shot-plan.ts";
import { joinShots } from "./shot-renders.ts";

export interface LipsyncInput {
  movieId: string;
  sceneNumber: number;
  clipUrl: string;
  frames: number;
  dialogue: TimelineAudio[];
  metric: Omit<MetricKey, "taskId" | "stepName" | "provider" | "model">;
  /** Which part of a scene cut into shots (`part-2`): in its step names and files. */
  part?: string;
}

export type LipsyncOutcome = { ok: true; url: string } | { ok: false; message: string };

export async function lipSyncScene(
  ctx: TaskContext,
  env: FilmEnv,
  input: LipsyncInput,
): Promise<LipsyncOutcome> {
  const lipsync = env.providers.lipsync;
  if (!lipsync) return { ok: false, message: "no lipsync provider" };
  const s = `scene-${input.sceneNumber}${input.part ? `-${input.part}` : ""}`;
  const step = (name: string) => (input.part ? `lipsync:${input.part}:${name}` : `lipsync:${name}`);
  const tag = ctx.task.id.slice(0, 8);
  const trackRequest: RenderRequest = {
    op: "dialogue_track",
    fps: FILM_FPS,
    durationFrames: input.frames,
    dialogue: input.dialogue,
    output: { bucket: env.bucket, path: filmPath(env, input.movieId, `${s}-dialogue-${tag}.m4a`) },
  };
  try {
    // A render provider without this op (fal) is a configuration fact, not a failed scene.
    env.providers.render.validate(trackRequest);
  } catch (error) {
    if (error instanceof ProviderInputError) {
      return { ok: false, message: `dialogue track: ${error.message}` };
    }
    throw error;
  }
  try {
    const track = await runJob(ctx, {
      sql: env.sql,
      name: step("dialogue-track"),
      provider: env.providers.render,
      request: trackRequest,
      metric: input.metric,
      cost: { units: 1, unit: "renders" },
      pollEveryMs: env.pollMs,
    });
    if (!track.ok) return { ok: false, message: `dialogue track: ${track.message}` };
    const synced = await runJob(ctx, {
      sql: env.sql,
      name: step("sync"),
      provider: lipsync,
      request: { videoUrl: input.clipUrl, audioUrl: track.url },
      metric: input.metric,
      cost: { units: input.frames / FILM_FPS, unit: "seconds" },
      pollEveryMs: env.pollMs,
    });
    if (!synced.ok) {
      return { ok: false, message: `lip sync failed: ${failureText(synced)}` };
    }
    const url = await storeOutput(
      ctx,
      env,
      step("copy"),
      synced.url,
      "video",
      filmPath(env, input.movieId, `${s}-lipsync-${tag}.mp4`),
    );
    // The synced clip's sound is the scene's dialogue: without a sound track it would play silent.
    const tracks = await ctx.effect(step("tracks"), () => storedTrackKinds(env, url));
    if (!tracks?.includes("soun")) {
      return { ok: false, message: "lip sync failed: no_audio: the synced clip has no audio stream" };
    }
    return { ok: true, url };
  } catch (error) {
    // Refusals and bad outputs belong to this scene; anything else is the task's to retry.
    if (!isSceneFailure(error)) throw error;
    return { ok: false, message: `lip sync failed: ${(error as Error).message}` };
  }
}

/** The track kinds of a file storeOutput put in our bucket; null when it is not an MP4 of the owner's. */
async function storedTrackKinds(env: FilmEnv, url: string): Promise<string[] | null> {
  const ours = filmObject(env, url);
  const object = ours === null || ours === "not_yours"
    ? null
    : await env.storage.downloadStream(ours.bucket, ours.path);
  return object ? await mp4TrackKinds(object.body) : null;
}

export interface LineAt {
  url: string;
  startSeconds: number;
  durationSeconds: number | null;
}

/**
 * A scene of several shots: each lip-sync segment (shot-plan.ts lipsyncSegments) that carries a
 * line is lip-synced alone — its shots joined first when a line runs across their cut — and the
 * parts are joined into the scene's synced clip, whose sound is its lines. Null when the scene is
 * one shot (lipSyncScene on its clip does it). Any part failing fails the lip sync (the caller
 * then mixes plainly).
 */
export async function lipSyncByShots(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  input: { sceneId: string; sceneNumber: number; lines: LineAt[]; metric: LipsyncInput["metric"] },
): Promise<LipsyncOutcome | null> {
  const shots = await env.sql`
    select clip_url, duration_seconds from public.scene_shots where scene_id = ${input.sceneId} order by shot_number`;
  if (shots.length <= 1 || shots.some((shot) => !shot.clip_url)) return null;
  const clipOf = (i: number) => ({
    url: shots[i].clip_url as string,
    seconds: Number(shots[i].duration_seconds),
  });
  const pieces: { url: string; seconds: number }[] = [];
  const s = `scene-${input.sceneNumber}`;
  try {
    const segments = lipsyncSegments(shots.map((_, i) => clipOf(i).seconds), input.lines);
    for (const [g, segment] of segments.entries()) {
      const part = `part-${g + 1}`;
      const clips = shots.slice(segment.firstShot - 1, segment.lastShot).map((_, k) =>
        clipOf(segment.firstShot - 1 + k)
      );
      const clipUrl = clips.length === 1
        ? clips[0].url
        : await joinShots(ctx, env, movie, `${s}-${part}`, clips, input.metric);
      if (segment.lines.length === 0) {
        pieces.push({ url: clipUrl, seconds: segment.seconds });
        continue;
      }
      const frames = Math.max(1, Math.round(segment.seconds * FILM_FPS));
      const dialogue = segment.lines.map((k) => ({
        url: input.lines[k].url,
        startFrame: Math.min(
          frames - 1,
          Math.max(0, Math.round((input.lines[k].startSeconds - segment.startSeconds) * FILM_FPS)),
        ),
      }));
      const synced = await lipSyncScene(ctx, env, {
        movieId: movie.id,
        sceneNumber: input.sceneNumber,
        clipUrl,
        frames,
        dialogue,
        metric: input.metric,
        part,
      });
      if (!synced.ok) return { ok: false, message: `${part}: ${synced.message}` };
      pieces.push({ url: synced.url, seconds: segment.seconds });
    }
    return { ok: true, url: await joinShots(ctx, env, movie, `${s}-synced`, pieces, input.metric) };
  } catch (error) {
    if (!isSceneFailure(error)) throw error;
    return { ok: false, message: `lip sync failed: ${(error as Error).message}` };
  }
}
