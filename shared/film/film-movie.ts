/** Reading a film and its scenes as the tasks and actions need them. */
import type { Sql, TransactionSql } from "../db/client.ts";
import type { ProductionPlan, Screenplay, VisualBible } from "../providers/film-schemas.ts";
import { ConflictError, NotFoundError, PermanentTaskError } from "../errors.ts";
import { NoVideosToAssembleError, type SceneVideo, selectClipsForAssembly } from "./assembly-rules.ts";
import { lockFilmOwner } from "./film-progress.ts";

type Db = Sql | TransactionSql;

export interface MovieRow {
  id: string;
  user_id: string;
  title: string;
  prompt: string;
  genre: string;
  duration_minutes: string;
  orientation: "landscape" | "portrait";
  status: string;
  task_id: string | null;
  video_url: string | null;
  poster_url: string | null;
  thumbnail_url: string | null;
  /** The film's spending cap (numeric, as text), null when it has none (film-budget.ts). */
  max_cost_units: string | null;
  metadata: {
    production_plan?: ProductionPlan;
    visual_bible?: VisualBible;
    screenplay_detailed?: Screenplay;
    music_url?: string | null;
    failed_scenes?: number[];
    warnings?: string[];
    [key: string]: unknown;
  };
  created_at: Date;
}

export async function loadMovie(db: Db, movieId: string): Promise<MovieRow> {
  const [movie] = await db<MovieRow[]>`select * from public.movies where id = ${movieId}`;
  if (!movie) throw new PermanentTaskError("movie_missing", `movie ${movieId} does not exist`);
  return movie;
}

export interface SceneRow {
  id: string;
  scene_number: number;
  scene_id: string;
  location_name: string;
  location_slug: string;
  time_of_day: string;
  weather: string;
  is_continuation: boolean;
  continues_from: number | null;
  duration_seconds: string;
  status: string;
  audio_status: string;
  mix_status: string;
  clip_url: string | null;
  video_url: string | null;
  lipsync_url: string | null;
  end_frame_url: string | null;
  error_message: string | null;
}

export async function loadScenes(db: Db, movieId: string): Promise<SceneRow[]> {
  return await db<
    SceneRow[]
  >`select * from public.movie_scenes where movie_id = ${movieId} order by scene_number`;
}

export async function loadScene(db: Db, movieId: string, sceneNumber: number): Promise<SceneRow> {
  const [scene] = await db<
    SceneRow[]
  >`select * from public.movie_scenes where movie_id = ${movieId} and scene_number = ${sceneNumber}`;
  if (!scene) throw new PermanentTaskError("scene_missing", `movie ${movieId} has no scene ${sceneNumber}`);
  return scene;
}

/** The screenplay's scene for a movie_scenes row. */
export function screenplayScene(movie: MovieRow, sceneNumber: number): Screenplay["scenes"][number] {
  const scene = movie.metadata.screenplay_detailed?.scenes.find((s) => s.scene_number === sceneNumber);
  if (!scene) {
    throw new PermanentTaskError(
      "scene_missing",
      `the screenplay of movie ${movie.id} has no scene ${sceneNumber}`,
    );
  }
  return scene;
}

/**
 * The caller's movie, or 404: who may see or touch a film (film's and regenerate-asset's actions).
 * Someone else's film answers as an unknown one, so an id tells a caller nothing of what exists.
 */
export async function ownMovie(deps: { sql: Sql }, movieId: string, userId: string) {
  const [movie] = await deps.sql`select * from public.movies where id = ${movieId} and user_id = ${userId}`;
  if (!movie) throw new NotFoundError("Movie", movieId);
  return movie;
}

/**
 * The caller's movie when it is not in production, else 409 movie_in_production: a scene's or
 * an asset's regeneration would race the pipeline writing the same rows (generate-scene-video,
 * generate-audio and assemble's starts, regenerate-asset's start and accept).
 */
export async function idleMovie(deps: { sql: Sql }, movieId: string, userId: string) {
  const movie = await ownMovie(deps, movieId, userId);
  assertIdle(movieId, movie.status);
  return movie;
}

/**
 * The film's rows locked as a resume locks them (its owner's, the progress row, then the movie) and its status
 * read under the lock: 409 movie_in_production, or the movie (null when it is gone). What passes
 * commits before a resume reads the film, or after it and sees it in production: a regeneration's
 * start checked before its transaction only was admitted and charged beside a resume, and its
 * preview could never be accepted.
 */
export async function lockMovieOutOfProduction(tx: TransactionSql, movieId: string) {
  await lockFilmOwner(tx, movieId);
  await tx`select from public.movie_creation_progress where movie_id = ${movieId} for share`;
  const [movie] = await tx`select status, user_id from public.movies where id = ${movieId} for no key update`;
  if (movie) assertIdle(movieId, movie.status);
  return movie ?? null;
}

/**
 * idleMovie inside a transaction that changes the film (an accept): its rows locked in the order
 * a resume locks them (the progress row, then the movie; engine.resume_by_owner,
 * film-redo.ts) and its status read under the lock. A resume committed first is seen here; one
 * that comes after waits for this transaction and then finds what it left open (the accept's
 * asset.apply) and refuses with `film_being_edited`. Checked before the transaction only, an
 * accept and a resume could both pass and the take be applied to a film back in production.
 */
export async function lockIdleMovie(tx: TransactionSql, movieId: string) {
  const movie = await lockMovieOutOfProduction(tx, movieId);
  if (!movie) return;
  // Nor beside a scene's clip, voices or the film's assembly started by the owner on their own
  // (generate-scene-video, generate-audio, assemble: scene-actions.ts, which take the movie's lock
  // too), or the scene's mix such a regeneration ends with (top-level too); not an apply's own
  // children: both would write the scene's rows, and each pay for work the other throws away.
  await assertNoFilmWorkOpen(tx, movie.user_id, movieId, "accept");
}

/**
 * Refuses (409 regeneration_in_progress) what would write a film's rows beside a scene's clip,
 * voices or mix, or the film's assembly, that its owner started on their own and is still open
 * (engine.open_film_work): an accept into the film, the redo of a film (film-redo.ts; a resume by
 * task id refuses it in engine.resume_by_owner). Call under the movie row's lock, which those
 * starts take too.
 */
export async function assertNoFilmWorkOpen(
  tx: TransactionSql,
  userId: string,
  movieId: string,
  what: string,
) {
  const [open] =
    await tx`select kind, id from engine.open_film_work(${userId}, ${movieId}) where id is not null`;
  if (open) {
    throw new ConflictError(
      "regeneration_in_progress",
      `Movie ${movieId} has ${open.kind} task ${open.id} open: ${what} once it ends, or cancel it`,
    );
  }
}

/**
 * Refuses (409 film_being_edited) what would write a film's rows while a take accepted into it is
 * still being applied (its asset.apply: the scene remixed, the film reassembled, a cascade of new
 * clips): a resume of the film, a scene's regeneration. Call under the movie row's lock, which
 * the accept took too (lockIdleMovie), so an apply enqueued by an accept committed first is seen.
 */
export async function assertNoTakeApplying(
  tx: TransactionSql,
  userId: string,
  movieId: string,
  what: string,
) {
  const [{ applying }] = await tx`
    select engine.open_task_of_same_work(${userId}, 'asset.apply', ${tx.json({ movieId })}) as applying`;
  if (applying) {
    throw new ConflictError(
      "film_being_edited",
      `Movie ${movieId} has an accepted take still being applied (task ${applying}): ${what} once that ends`,
    );
  }
}

function assertIdle(movieId: string, status: string) {
  if (status === "pending" || status === "processing") {
    throw new ConflictError(
      "movie_in_production",
      `Movie ${movieId} is still in production; wait for it to end or cancel it`,
    );
  }
}

/**
 * Why the film has nothing to assemble (no scene with a video yet: the rule film.assemble applies,
 * assembly-rules.ts), or null when it has something: an assembly asked for then would only fail.
 */
export async function nothingToAssemble(db: Db, movieId: string): Promise<string | null> {
  const scenes = await db<SceneVideo[]>`
    select scene_number, status, video_url from public.movie_scenes where movie_id = ${movieId}`;
  try {
    selectClipsForAssembly(scenes);
    return null;
  } catch (error) {
    if (!(error instanceof NoVideosToAssembleError)) throw error;
    const which = scenes.length === 0 ? "no scene" : `none of its ${scenes.length} scenes`;
    return `Movie ${movieId} has nothing to assemble: ${which} has a video yet`;
  }
}
