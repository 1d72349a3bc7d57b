/**
 * film.produce (run by produce-movie): the film's 11 steps as one task with a fan-out.
 * Slice 1..n: validate_providers → plan_production → create_visual_bible → generate_screenplay →
 * assign_characters (recorded steps), then await children: one film.chain per continuation chain
 * (generate-scene-video, capped by the video provider's concurrency key), one film.voices per
 * scene (generate-audio), film.music when a music provider is configured; each scene's film.mix
 * is enqueued as a child by whichever of its clip and voices ends last. Woken when all end:
 * assemble_movie → generate_cover → finalize. Writes every film table through its steps.
 * With `redoFailed` (a finished film resumed, film-redo.ts) the first slice fans out only the
 * failed clips and voices; the rest is the same.
 * film.music (produce-movie): the background track → movies.metadata.music_url.
 */
import { classifyTaskError } from "../engine/task-error.ts";
import type { TaskHandler } from "../engine/slice-runner.ts";
import type { ChildSpec } from "../engine/task-store.ts";
import { PermanentTaskError } from "../errors.ts";
import { ProviderError } from "../providers/provider-errors.ts";
import { type FilmDeps, type FilmEnv, filmEnv, filmPath, isConfigured } from "./film-env.ts";
import { failedWork } from "./film-redo.ts";
import { runJob } from "./film-jobs.ts";
import { loadMovie, loadScenes } from "./film-movie.ts";
import { finishProgress, lockFilmProgress, updateStep } from "./film-progress.ts";
import { assembleMovie, finalizeMovie, generateCover } from "./postproduction.ts";
import { assignCharacters } from "./cast.ts";
import { createVisualBible, generateScreenplay, planProduction, validateProviders } from "./preproduction.ts";
import { continuityChains } from "./scene-plan.ts";
import { CHAIN_KIND, reportVideoProgress, VOICES_KIND } from "./scene-tasks.ts";
import { storeOutput } from "./store-output.ts";
import { filmScoreRequest, plannedFilmSeconds } from "./film-requests.ts";
import type { TaskKind } from "../engine/task-routes.ts";

export { PRODUCE_KIND } from "./film-kinds.ts";
export const MUSIC_KIND = "film.music" satisfies TaskKind;

export function produceHandler(deps: FilmDeps): TaskHandler {
  return async (ctx) => {
    const movie = await loadMovie(deps.sql, String(ctx.payload.movieId));
    const env = await filmEnv(deps, movie.user_id);
    if (!ctx.metadata.fannedOut && ctx.payload.redoFailed) {
      // A finished film resumed (film-redo.ts): only its failed scene work again, then the steps below.
      const work = await failedWork(deps.sql, movie.id);
      const chains = work.clipChains;
      await updateStep(deps.sql, movie.id, "generate_videos", {
        status: "running",
        detail: `Redoing ${chains.flat().length} failed scenes`,
      });
      if (work.voiceScenes.length > 0) {
        await updateStep(deps.sql, movie.id, "generate_audio", {
          status: "running",
          detail: `Redoing the voices of ${work.voiceScenes.length} scenes`,
        });
      }
      const music = work.musicFailure !== null && isConfigured(env, "music");
      if (music) {
        await updateStep(deps.sql, movie.id, "generate_music", {
          status: "running",
          detail: "Composing again",
        });
      }
      return {
        type: "await_children",
        children: [
          ...sceneChildren(env, movie.id, chains, work.voiceScenes),
          ...(music ? [musicChild(movie.id)] : []),
        ],
        metadata: { fannedOut: true, chains },
      };
    }
    if (!ctx.metadata.fannedOut) {
      try {
        await validateProviders(ctx, env, movie);
        const plan = await planProduction(ctx, env, movie);
        await createVisualBible(ctx, env, movie);
        const screenplay = await generateScreenplay(ctx, env, movie, plan);
        await assignCharacters(ctx, env, movie, plan, screenplay);
      } catch (error) {
        const last = ctx.task.attempts + 1 >= ctx.task.maxAttempts;
        if (
          error instanceof PermanentTaskError || (error instanceof ProviderError && !error.retryable) || last
        ) {
          // The owner reads error_message; the slice runner logs the raw error when it rethrows.
          await failMovie(deps, movie.id, classifyTaskError(error, ctx.task.id).error.message);
        }
        throw error;
      }
      const scenes = await loadScenes(deps.sql, movie.id);
      const chains = continuityChains(
        scenes.map((s) => ({ sceneNumber: s.scene_number, continuesFrom: s.continues_from })),
      );
      const children: ChildSpec[] = [
        ...sceneChildren(env, movie.id, chains, scenes.map((s) => s.scene_number)),
        ...(isConfigured(env, "music") ? [musicChild(movie.id)] : []),
      ];
      await updateStep(deps.sql, movie.id, "generate_videos", {
        status: "running",
        progress: 0,
        detail: `${scenes.length} scenes in ${chains.length} chains`,
      });
      await updateStep(deps.sql, movie.id, "generate_audio", {
        status: "running",
        progress: 0,
        detail: "Voices in parallel with the clips",
      });
      if (!isConfigured(env, "music")) {
        await updateStep(deps.sql, movie.id, "generate_music", {
          status: "skipped",
          detail: "No music provider: music = null",
        });
      }
      return { type: "await_children", children, metadata: { fannedOut: true, chains } };
    }

    await ctx.step("scenes_settled", async (tx) => {
      // A chain task that failed for good leaves its scenes unfinished: they failed (a failed scene never aborts the film).
      await tx`
        update public.movie_scenes set status = 'failed', video_url = null, error_message = coalesce(error_message, 'scene task failed')
         where movie_id = ${movie.id} and status in ('pending', 'generating')`;
      await tx`update public.movie_scenes set audio_status = 'failed' where movie_id = ${movie.id} and audio_status in ('pending', 'generating')`;
      // A film.music task that failed for good never reached its own verdict (music:saved): say why here.
      const [music] = await tx`
        select t.last_error ->> 'message' as error from public.background_tasks t
          join public.movie_creation_progress p on p.movie_id = ${movie.id}
         where t.parent_id = ${ctx.task.id} and t.kind = ${MUSIC_KIND} and t.status in ('failed', 'cancelled')
           and coalesce(p.steps -> 'generate_music' ->> 'status', 'pending') not in ('completed', 'failed', 'skipped')`;
      if (music) {
        await updateStep(tx, movie.id, "generate_music", {
          status: "failed",
          detail: `No music: ${music.error ?? "the music task failed"}`,
        });
      }
      // Ended, as its scenes say: failed when not one clip was made.
      await reportVideoProgress(tx, movie.id);
      await updateStep(tx, movie.id, "generate_audio", { status: "completed" });
    });
    const fresh = await loadMovie(deps.sql, movie.id);
    const film = await assembleMovie(ctx, env, fresh);
    const cover = await generateCover(ctx, env, fresh, film.url !== null);
    const result = await finalizeMovie(ctx, fresh, film, cover);
    return { type: "done", result };
  };
}

/** One film.chain per continuation chain (capped by the video provider's key), one film.voices per scene. */
function sceneChildren(
  env: FilmEnv,
  movieId: string,
  chains: number[][],
  voiceScenes: number[],
): ChildSpec[] {
  return [
    ...chains.map((chain): ChildSpec => ({
      key: `chain-${chain[0]}`,
      kind: CHAIN_KIND,
      payload: { movieId, scenes: chain },
      concurrencyKey: env.resolved.video.concurrencyKey ?? undefined,
    })),
    ...voiceScenes.map((sceneNumber): ChildSpec => ({
      key: `voices-${sceneNumber}`,
      kind: VOICES_KIND,
      payload: { movieId, sceneNumber },
      concurrencyKey: env.resolved.audio.concurrencyKey ?? undefined,
    })),
  ];
}

async function failMovie(deps: FilmDeps, movieId: string, message: string) {
  await deps.sql.begin(async (tx) => {
    await lockFilmProgress(tx, movieId);
    await tx`update public.movies set status = 'failed', error_message = ${message} where id = ${movieId}`;
    await finishProgress(tx, movieId, "failed", message);
  });
}

/** The film's music, one child of its produce task (the first run's, or a redo's when it failed). */
const musicChild = (movieId: string): ChildSpec => ({ key: "music", kind: MUSIC_KIND, payload: { movieId } });

export function musicHandler(deps: FilmDeps): TaskHandler {
  return async (ctx) => {
    const movie = await loadMovie(deps.sql, String(ctx.payload.movieId));
    const env = await filmEnv(deps, movie.user_id);
    const provider = env.providers.music!;
    // The screenplay is cut before the fan-out: the score is as long as the film it was cut into.
    const request = filmScoreRequest(movie, plannedFilmSeconds(movie), provider.provider);
    await updateStep(deps.sql, movie.id, "generate_music", {
      status: "running",
      progress: 10,
      detail: "Composing",
    });
    const music = await runJob(ctx, {
      sql: deps.sql,
      name: "music",
      provider,
      request,
      metric: { movieId: movie.id, userId: movie.user_id, step: "generate_music" },
      cost: { units: request.durationSeconds, unit: "seconds" },
      pollEveryMs: env.pollMs,
    });
    const url = music.ok
      ? await storeOutput(ctx, env, "music:copy", music.url, "audio", filmPath(env, movie.id, "music.mp3"))
      : null;
    await ctx.step("music:saved", async (tx) => {
      await lockFilmProgress(tx, movie.id);
      await tx`update public.movies set metadata = metadata || ${
        tx.json({ music_url: url })
      } where id = ${movie.id}`;
      await updateStep(tx, movie.id, "generate_music", {
        status: music.ok ? "completed" : "failed",
        detail: music.ok ? "Music ready" : `No music: ${music.message}`,
      });
    });
    return { type: "done", result: { musicUrl: url } };
  };
}
