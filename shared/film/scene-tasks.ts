/**
 * Task kinds run by generate-scene-video and generate-audio:
 * - film.chain {movieId, scenes[]} (generate-scene-video): the scenes of one continuation chain in
 *   order, each scene's video → real end frame (scene-video.ts); writes movie_scenes, location_images.
 * - film.voices {movieId, sceneNumber} (generate-audio): every dialogue line of a scene at once,
 *   TTS with the character's voice → Storage → scene_audio; then movie_scenes.audio_status.
 * - film.mix {movieId, sceneNumber} (generate-audio): the scene's lines mixed onto its clip by the
 *   render worker — or, with a configured lipsync provider, the clip lip-synced to them where they
 *   fall, shot by shot (scene-lipsync.ts), the mix only its fallback; movie_scenes.video_url moves to the new file
 *   only once it is in Storage.
 * Whichever of clip and voices ends last enqueues film.mix (scene-halves.ts).
 */
import type { TaskHandler } from "../engine/slice-runner.ts";
import type { TaskContext } from "../engine/task-context.ts";
import { type FilmDeps, filmEnv, filmPath, isConfigured } from "./film-env.ts";
import { runJob } from "./film-jobs.ts";
import { loadMovie, loadScene } from "./film-movie.ts";
import { type StepUpdate, updateStep } from "./film-progress.ts";
import { FILM_FPS, placeLines } from "./film-timeline.ts";
import { lipSyncByShots, lipSyncScene } from "./scene-lipsync.ts";
import { generateSceneVideo } from "./scene-video.ts";
import { generateSceneVoices } from "./scene-voices.ts";
import type { TaskKind } from "../engine/task-routes.ts";
import type { Sql, TransactionSql } from "../db/client.ts";

export const CHAIN_KIND = "film.chain" satisfies TaskKind;
export const VOICES_KIND = "film.voices" satisfies TaskKind;
export { MIX_KIND } from "./film-kinds.ts";

const payloadOf = (ctx: TaskContext) =>
  ctx.payload as { movieId: string; scenes?: number[]; sceneNumber?: number };

/**
 * generate_videos as its scenes stand: the share whose clip has ended, and how many failed, so a
 * step whose every clip failed (a film the cap refused) says so instead of "generated".
 */
export function videoProgress(scenes: { total: number; completed: number; failed: number }): StepUpdate {
  const { total, completed, failed } = scenes;
  const done = completed + failed;
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const status = done < total ? "running" : failed > 0 && completed === 0 ? "failed" : "completed";
  return {
    status,
    progress: total ? (100 * done) / total : 100,
    detail: failed === 0
      ? `Escena ${done}/${total} generada`
      : `Escena ${done}/${total}: ${count(completed, "generada")}, ${count(failed, "fallida")}`,
  };
}

/** Writes generate_videos' progress from the film's scenes as they are now. */
export async function reportVideoProgress(db: Sql | TransactionSql, movieId: string) {
  const [row] = await db<{ total: number; completed: number; failed: number }[]>`
    select count(*)::int as total, count(*) filter (where status = 'completed')::int as completed,
           count(*) filter (where status = 'failed')::int as failed
      from public.movie_scenes where movie_id = ${movieId}`;
  await updateStep(db, movieId, "generate_videos", videoProgress(row));
}

export function chainHandler(deps: FilmDeps): TaskHandler {
  return async (ctx) => {
    const { movieId, scenes = [] } = payloadOf(ctx);
    const movie = await loadMovie(deps.sql, movieId);
    const env = await filmEnv(deps, movie.user_id);
    const results: Record<number, string> = {};
    for (const sceneNumber of scenes) {
      results[sceneNumber] = await generateSceneVideo(ctx, env, movie, sceneNumber);
      await reportVideoProgress(deps.sql, movieId);
    }
    return { type: "done", result: { scenes: results } };
  };
}

export function voicesHandler(deps: FilmDeps): TaskHandler {
  return async (ctx) => {
    const { movieId, sceneNumber } = payloadOf(ctx);
    const movie = await loadMovie(deps.sql, movieId);
    const env = await filmEnv(deps, movie.user_id);
    const status = await generateSceneVoices(ctx, env, movie, sceneNumber!);
    return { type: "done", result: { sceneNumber, audioStatus: status } };
  };
}

export function mixHandler(deps: FilmDeps): TaskHandler {
  return async (ctx) => {
    const { movieId, sceneNumber } = payloadOf(ctx) as { movieId: string; sceneNumber: number };
    const movie = await loadMovie(deps.sql, movieId);
    const env = await filmEnv(deps, movie.user_id);
    const scene = await loadScene(deps.sql, movieId, sceneNumber);
    if (scene.status !== "completed" || !scene.clip_url) {
      return { type: "done", result: { skipped: "no clip" } };
    }
    const clipOfSlice = scene.clip_url;
    // The clip and the lines as this task first read them (a recorded step): the slice that saves
    // the mix is a later one, after its render job, and read again there they could be newer than
    // what the job rendered. Before, only the lines were recorded: a mix cancelled with its apply,
    // resumed after the scene got a new clip, polled its job (of the old clip) and saved it over
    // the new clip's mix. Placed to end within the scene (placeLines), as the film's timeline
    // places them.
    const inputs = await ctx.step("mix:inputs", async (tx) => {
      const [now] = await tx`select clip_url from public.movie_scenes where id = ${scene.id}`;
      const spoken = await tx`
        select audio_url, start_seconds, duration_seconds from public.scene_audio
         where scene_id = ${scene.id} and status = 'completed' order by line_index`;
      return {
        clipUrl: (now?.clip_url ?? clipOfSlice) as string,
        lines: spoken.map((l) => ({
          url: l.audio_url as string,
          startSeconds: Number(l.start_seconds),
          durationSeconds: l.duration_seconds === null ? null : Number(l.duration_seconds),
        })),
      };
    });
    const { clipUrl } = inputs;
    const lines = placeLines(inputs.lines, Number(scene.duration_seconds));
    await deps
      .sql`update public.movie_scenes set mix_status = 'running' where id = ${scene.id} and mix_status = 'pending'`;
    // What this mix speaks, checked again as it saves: a mix whose lines changed while it ran (a
    // second line accepted, whose apply's own mix reads the new ones) leaves the scene to that
    // mix. Before, one that finished last put the older take of the line back into the scene.
    const heard = lines.map((l) => l.url).join("\n");
    const stillHeard = (tx: TransactionSql) =>
      tx`(select coalesce(string_agg(a.audio_url, E'\n' order by a.line_index), '') from public.scene_audio a
           where a.scene_id = ${scene.id} and a.status = 'completed') = ${heard}`;
    const frames = Math.round(Number(scene.duration_seconds) * FILM_FPS);
    const dialogue = lines.map((l) => ({
      url: l.url,
      startFrame: Math.min(frames - 1, Math.round(l.startSeconds * FILM_FPS)),
    }));
    const metric = { movieId, userId: movie.user_id, step: "generate_audio", sceneNumber };
    // Only a provider the owner chose: the local fallback would only mux, which the mix already does.
    let lipsyncError: string | null = null;
    if (isConfigured(env, "lipsync") && dialogue.length > 0) {
      // A scene cut into shots is lip-synced where its lines fall; a scene of one shot, whole.
      const byShots = await lipSyncByShots(ctx, env, movie, {
        sceneId: scene.id,
        sceneNumber,
        lines,
        metric,
      });
      const synced = byShots ?? await lipSyncScene(ctx, env, {
        movieId,
        sceneNumber,
        clipUrl,
        frames,
        dialogue,
        metric,
      });
      if (synced.ok) {
        await ctx.step("lipsync:saved", (tx) =>
          tx`
          update public.movie_scenes
             set video_url = ${synced.url}, lipsync_url = ${synced.url}, lipsync_error = null, mix_status = 'completed', mix_error = null
           where id = ${scene.id} and clip_url = ${clipUrl} and status = 'completed' and ${stillHeard(tx)}`
            .then(
              () => null,
            ));
        return { type: "done", result: { sceneNumber, mixed: true, lipSynced: true } };
      }
      lipsyncError = synced.message;
    }
    const mixed = await runJob(ctx, {
      sql: deps.sql,
      name: "mix",
      provider: env.providers.render,
      request: {
        op: "mix_dialogue" as const,
        clipUrl,
        fps: FILM_FPS,
        dialogue,
        output: {
          bucket: env.bucket,
          path: filmPath(env, movieId, `scene-${sceneNumber}-mixed-${ctx.task.id.slice(0, 8)}.mp4`),
        },
      },
      metric,
      cost: { units: 1, unit: "renders" },
      pollEveryMs: env.pollMs,
    });
    await ctx.step("mix:saved", (tx) =>
      tx`
      update public.movie_scenes
         set video_url = case when ${mixed.ok} then ${mixed.ok ? mixed.url : null} else video_url end,
             mix_status = ${mixed.ok ? "completed" : "failed"}, mix_error = ${
        mixed.ok ? null : mixed.message
      }, lipsync_error = ${lipsyncError}
       where id = ${scene.id} and clip_url = ${clipUrl} and status = 'completed' and ${stillHeard(tx)}`.then(
        () => null,
      ));
    return {
      type: "done",
      result: { sceneNumber, mixed: mixed.ok, ...(lipsyncError ? { lipsyncError } : {}) },
    };
  };
}
