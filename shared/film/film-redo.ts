/**
 * A finished film's redo: produce-movie `resume` of a film whose film.produce already ended (it
 * succeeded, so the engine has nothing to resume) with something failed. A new film.produce with
 * `redoFailed` does again only the scene work that failed — each continuation chain's failed clips
 * in order, so a repaired scene hands its new end frame on, the voices that failed and the music
 * if it failed — then
 * assembles, makes the cover and finalizes as the film's first run does. What completed is not
 * paid again: completed scenes keep their clips, an existing poster is kept.
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import { ConflictError } from "../errors.ts";
import type { TaskRow } from "../engine/task-row.ts";
import { admitUsage } from "../usage/usage-admission.ts";
import type { FilmDeps } from "./film-env.ts";
import { PRODUCE_KIND } from "./film-kinds.ts";
import { assertNoFilmWorkOpen, assertNoTakeApplying, loadScenes } from "./film-movie.ts";
import { lockFilmOwner, lockFilmProgress } from "./film-progress.ts";
import { continuityChains } from "./scene-plan.ts";

type Db = Sql | TransactionSql;

/** What failed in a film's scenes, as they are now. */
export interface FailedWork {
  /** Failed clips by continuation chain, in order: what one film.chain makes each. */
  clipChains: number[][];
  /** Scenes whose voices failed. */
  voiceScenes: number[];
  /**
   * Why the film has no music when its music failed (its job, or its film.music task:
   * generate_music `failed`, whose detail says why); null when it did not fail.
   */
  musicFailure: string | null;
}

export async function failedWork(db: Db, movieId: string): Promise<FailedWork> {
  const scenes = await loadScenes(db, movieId);
  const failed = scenes.filter((s) => s.status === "failed");
  const [progress] = await db`
    select steps -> 'generate_music' as music from public.movie_creation_progress where movie_id = ${movieId}`;
  const music = progress?.music as { status?: string; detail?: string } | null;
  return {
    clipChains: continuityChains(
      failed.map((s) => ({ sceneNumber: s.scene_number, continuesFrom: s.continues_from })),
    ),
    voiceScenes: scenes.filter((s) => s.audio_status === "failed").map((s) => s.scene_number),
    musicFailure: music?.status === "failed" ? (music.detail ?? "No music: it failed") : null,
  };
}

/**
 * Starts the redo of a film whose task `finished` succeeded; the movie is in production again,
 * with the new task as its own, in the same transaction. Admitted as a film resume (429 over the
 * limits); 409 when nothing failed, when another resume got there first, or after
 * `resumes_per_task` redos of the film (counted along its redo tasks' payloads).
 */
export async function redoFailedFilm(
  deps: FilmDeps,
  movieId: string,
  finished: TaskRow,
): Promise<{ task: TaskRow; work: FailedWork }> {
  return await deps.sql.begin(async (tx) => {
    await lockFilmOwner(tx, movieId);
    await admitUsage(tx, finished.userId, "film", "resume");
    await lockFilmProgress(tx, movieId);
    const [movie] = await tx`select status, task_id from public.movies where id = ${movieId} for update`;
    if (movie.task_id !== finished.id) {
      throw new ConflictError("task_active", `Movie ${movieId} was resumed already, wait a moment`);
    }
    // As engine.resume_by_owner refuses a film's resume (RF018), under the same locks.
    await assertNoTakeApplying(tx, finished.userId, movieId, "resume it");
    await assertNoFilmWorkOpen(tx, finished.userId, movieId, "resume the film");
    const work = await failedWork(tx, movieId);
    if (
      movie.status !== "failed" && work.clipChains.length === 0 && work.voiceScenes.length === 0 &&
      work.musicFailure === null
    ) {
      throw new ConflictError(
        "task_not_resumable",
        `Movie ${movieId} is ${movie.status} and none of it failed: nothing to resume`,
      );
    }
    const redone = Number(finished.payload.redone ?? 0);
    const [{ most }] =
      await tx`select (engine.usage_report(${finished.userId}) -> 'limits' ->> 'resumesPerTask')::int as most`;
    if (redone >= most) {
      throw new ConflictError(
        "resume_limit_reached",
        `movie ${movieId} was resumed ${redone} times, the most allowed`,
      );
    }
    const task = await deps.store.enqueue({
      userId: finished.userId,
      kind: PRODUCE_KIND,
      payload: { movieId, redoFailed: true, redone: redone + 1 },
      maxAttempts: 5,
    }, tx);
    await tx`
      update public.movies set task_id = ${task.id}, status = 'processing', error_message = null, completed_at = null
       where id = ${movieId}`;
    await tx`update public.movie_creation_progress set overall_status = 'running' where movie_id = ${movieId}`;
    return { task, work };
  });
}
