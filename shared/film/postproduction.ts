/**
 * Steps 7–9 inside film.produce after its children end: assemble_movie (the assembly filter,
 * a timeline with transitions, dialogue, ducked music and the bible's grade, one render), generate_cover (an
 * existing poster/thumbnail is kept), finalize (movies urls, status by failed scenes, progress);
 * film.assemble runs the same three.
 */
import type { TaskContext } from "../engine/task-context.ts";
import { finalMovieStatus, NoVideosToAssembleError, selectClipsForAssembly } from "./assembly-rules.ts";
import { type FilmEnv, filmPath } from "./film-env.ts";
import { runJob } from "./film-jobs.ts";
import { loadScenes, type MovieRow } from "./film-movie.ts";
import type { Sql, TransactionSql } from "../db/client.ts";
import type { Timeline } from "../providers/types.ts";
import { finishProgress, lockFilmProgress, updateStep } from "./film-progress.ts";
import { failedWork } from "./film-redo.ts";
import { gradeFromBible } from "./film-grade.ts";
import { buildFilmTimeline, timelineScene } from "./film-timeline.ts";
import { storeOutput } from "./store-output.ts";
import { filmRatio, ratioSize } from "./video-prompt.ts";
import { posterRequest } from "./film-requests.ts";
import { READ_STEP } from "./assembly-turns.ts";

type Db = Sql | TransactionSql;

/**
 * The film's render: its stored URL, or the error when no clip is left or the render failed.
 * `superseded`: another assembly that read the scenes later has already put its film in place, so
 * this one changed nothing (reassemblies may finish out of order: the newest reading wins).
 */
export async function assembleMovie(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
): Promise<{ url: string | null; error: string | null; superseded?: boolean }> {
  // What the film is made of, read once and recorded: a resumed slice renders the same timeline,
  // and `readAt` orders this assembly against any other of the same film.
  const plan = await ctx.step(READ_STEP, (tx) => filmTimeline(tx, env, movie));
  if ("error" in plan) {
    await updateStep(env.sql, movie.id, "assemble_movie", {
      status: "failed",
      progress: 0,
      detail: plan.error,
    });
    return { url: null, error: plan.error };
  }
  // Once per task, as a step: the produce task's later slices (its poster's job parks it) run this
  // function again from the top, and must not mark a finished assembly running again.
  await ctx.step("assemble_movie:started", (tx) =>
    updateStep(tx, movie.id, "assemble_movie", {
      status: "running",
      progress: 10,
      detail: `Assembling ${plan.scenes} scenes`,
    }).then(() => null));
  const render = await runJob(ctx, {
    sql: env.sql,
    name: "assemble_movie:render",
    provider: env.providers.render,
    request: {
      op: "assemble" as const,
      timeline: plan.timeline,
      output: { bucket: env.bucket, path: filmPath(env, movie.id, `film-${ctx.task.id.slice(0, 8)}.mp4`) },
    },
    metric: { movieId: movie.id, userId: movie.user_id, step: "assemble_movie" },
    cost: { units: plan.scenes, unit: "clips" },
    pollEveryMs: env.pollMs,
  });
  if (!render.ok) {
    await updateStep(env.sql, movie.id, "assemble_movie", { status: "failed", detail: render.message });
    return { url: null, error: `assembly failed: ${render.message}` };
  }
  const applied = await ctx.step("assemble_movie", async (tx) => {
    await lockFilmProgress(tx, movie.id);
    const current = await applyAssembly(tx, movie.id, render.url, plan.readAt);
    if (current) {
      await updateStep(tx, movie.id, "assemble_movie", {
        status: "completed",
        detail: `${plan.scenes} scenes assembled`,
      });
    }
    return current;
  });
  return { url: render.url, error: null, ...(applied ? {} : { superseded: true }) };
}

/**
 * Puts a rendered film in place unless an assembly that read the scenes later already did
 * (movies.metadata.assembled_from: when the film in place was read). True when this one is in place.
 */
export async function applyAssembly(db: Db, movieId: string, url: string, readAt: string): Promise<boolean> {
  const rows = await db`
    update public.movies
       set video_url = ${url}, metadata = metadata || jsonb_build_object('assembled_from', ${readAt}::text)
     where id = ${movieId}
       and (metadata->>'assembled_from' is null or (metadata->>'assembled_from')::timestamptz <= ${readAt}::timestamptz)
    returning id`;
  return rows.length > 0;
}

/** The film's timeline from its scenes and lines as they are now, or why there is none. */
async function filmTimeline(
  db: Db,
  env: FilmEnv,
  movie: MovieRow,
): Promise<{ readAt: string; timeline: Timeline; scenes: number } | { error: string }> {
  const [{ at }] = await db`select clock_timestamp()::text as at`;
  const scenes = await loadScenes(db, movie.id);
  let kept;
  try {
    kept = selectClipsForAssembly(scenes, movie.max_cost_units ? Number(movie.max_cost_units) : null);
  } catch (error) {
    if (!(error instanceof NoVideosToAssembleError)) throw error;
    return { error: error.message };
  }
  const lines = await db`
    select scene_number, audio_url, start_seconds, duration_seconds from public.scene_audio
     where movie_id = ${movie.id} and status = 'completed' order by scene_number, line_index`;
  const { video } = env.providers;
  const timeline = buildFilmTimeline(
    kept.map((s) =>
      timelineScene(
        s,
        lines
          .filter((l) => l.scene_number === s.scene_number)
          .map((l) => ({
            url: l.audio_url as string,
            startSeconds: Number(l.start_seconds),
            durationSeconds: l.duration_seconds === null ? null : Number(l.duration_seconds),
          })),
      )
    ),
    ratioSize(filmRatio(video, movie.orientation)),
    movie.metadata.music_url ?? null,
    // A film from before visual bibles (or without one) keeps its clips' own colours.
    movie.metadata.visual_bible ? gradeFromBible(movie.metadata.visual_bible) : null,
  );
  return { readAt: at as string, timeline, scenes: kept.length };
}

/**
 * The film's poster: the one it has, else a new one from the image provider, paid for only when
 * a film was assembled (`assembled`). Before, a film whose every clip failed (or was refused by
 * its cap) still paid for a poster of a film that did not exist; a later assembly that succeeds
 * (a resume, an accepted take) makes it then.
 */
export async function generateCover(
  ctx: TaskContext,
  env: FilmEnv,
  movie: MovieRow,
  assembled: boolean,
): Promise<{ poster_url: string | null; thumbnail_url: string | null }> {
  const [existing] = await env
    .sql`select poster_url, thumbnail_url from public.movies where id = ${movie.id}`;
  if (existing.poster_url || existing.thumbnail_url) {
    await updateStep(env.sql, movie.id, "generate_cover", {
      status: "completed",
      detail: "Existing cover kept",
    });
    return {
      poster_url: existing.poster_url ?? existing.thumbnail_url,
      thumbnail_url: existing.thumbnail_url ?? existing.poster_url,
    };
  }
  if (!assembled) {
    await updateStep(env.sql, movie.id, "generate_cover", {
      status: "skipped",
      detail: "No film was assembled: no cover is made for it",
    });
    return { poster_url: null, thumbnail_url: null };
  }
  const image = await runJob(ctx, {
    sql: env.sql,
    name: "generate_cover:poster",
    provider: env.providers.image,
    request: posterRequest(movie),
    metric: { movieId: movie.id, userId: movie.user_id, step: "generate_cover" },
    cost: { units: 1, unit: "images" },
    pollEveryMs: env.pollMs,
  });
  if (!image.ok) {
    await updateStep(env.sql, movie.id, "generate_cover", { status: "failed", detail: image.message });
    return { poster_url: null, thumbnail_url: null };
  }
  const url = await storeOutput(
    ctx,
    env,
    "generate_cover:copy",
    image.url,
    "image",
    filmPath(env, movie.id, "poster.png"),
  );
  await updateStep(env.sql, movie.id, "generate_cover", { status: "completed", detail: "Poster generated" });
  return { poster_url: url, thumbnail_url: url };
}

/**
 * The film's verdict from its scenes as they are now (finalMovieStatus): status, failed_scenes,
 * warnings, error_message, completed_at and the progress row. Run by the film's own task and by
 * every reassembly. A failed render keeps the film's last one (video_url) but the film is failed.
 */
export async function finalizeMovie(
  ctx: TaskContext,
  movie: MovieRow,
  film: { url: string | null; error: string | null },
  cover: { poster_url: string | null; thumbnail_url: string | null },
) {
  return await ctx.step("finalize", async (tx) => {
    await lockFilmProgress(tx, movie.id);
    const scenes = await loadScenes(tx, movie.id);
    const failed = scenes.filter((s) => s.status === "failed").map((s) => s.scene_number);
    const verdict = finalMovieStatus(scenes.length, failed, film.url !== null);
    // Beside failed scenes, what a resume would redo (film-redo.ts): failed voices, failed music.
    const missing = await failedWork(tx, movie.id);
    const silent = missing.voiceScenes;
    const warnings = [
      verdict.warning,
      silent.length
        ? `the voices of ${silent.length === 1 ? "scene" : "scenes"} ${silent.join(", ")} failed`
        : null,
      missing.musicFailure,
    ].filter((w) => w !== null);
    const error = verdict.status === "failed" ? film.error ?? "every scene failed" : null;
    await tx`
      update public.movies
         set video_url = coalesce(${film.url}, video_url), poster_url = ${cover.poster_url}, thumbnail_url = ${
      cover.thumbnail_url ?? cover.poster_url
    },
             status = ${verdict.status}, progress = 100, error_message = ${error}, completed_at = now(),
             metadata = metadata || ${tx.json({ failed_scenes: failed, warnings })}
       where id = ${movie.id}`;
    await updateStep(tx, movie.id, "finalize", {
      status: verdict.status === "completed" ? "completed" : "failed",
      detail: error ?? verdict.warning ?? "Done",
    });
    await finishProgress(
      tx,
      movie.id,
      verdict.status,
      verdict.status === "completed"
        ? (verdict.warning
          ? `¡Película completada! ${verdict.warning}`
          : "¡Película completada exitosamente!")
        : error!,
    );
    await tx`update public.movies set progress = 100 where id = ${movie.id}`;
    return { status: verdict.status, failedScenes: failed, warning: verdict.warning, error };
  });
}
