/**
 * movie_creation_progress: the film's 11 steps, each { status, progress, detail, started_at,
 * finished_at }, with overall_progress the mean of the steps and movies.progress kept equal.
 * Writers are the film tasks; the owner reads it (RLS) and sees it live (Realtime).
 */
import type { Json, Sql, TransactionSql } from "../db/client.ts";

export const FILM_STEPS = [
  "validate_providers",
  "plan_production",
  "create_visual_bible",
  "generate_screenplay",
  "assign_characters",
  "generate_videos",
  "generate_audio",
  "generate_music",
  "assemble_movie",
  "generate_cover",
  "finalize",
] as const;
export type FilmStep = (typeof FILM_STEPS)[number];

type Db = Sql | TransactionSql;

export interface StepUpdate {
  status: "pending" | "running" | "completed" | "failed" | "skipped";
  progress?: number;
  detail?: string;
}

export function initialSteps(): Record<string, Json> {
  return Object.fromEntries(
    FILM_STEPS.map((step) => [step, { status: "pending", progress: 0, detail: null }]),
  );
}

/**
 * Takes the film's progress row for the rest of the transaction. Every film transaction that
 * writes both the movie and its progress takes them in updateStep's order, the progress row
 * first (as the film's end does, public.movie_follows_its_task): one that wrote the movie first
 * and another step's updateStep, which holds the progress row and wants the movie, would each
 * wait for the other until Postgres aborted one. A transaction that writes the movie before its
 * updateStep calls this as its first statement.
 */
export async function lockFilmProgress(db: Db, movieId: string): Promise<void> {
  await lockFilmOwner(db, movieId);
  await db`select from public.movie_creation_progress where movie_id = ${movieId} for update`;
}

/**
 * The film owner's auth.users row, key-share, before any of the film's rows: an account's
 * deletion locks that row first and then the film's rows by cascade, and a film transaction that
 * held the progress row while the deletion held the movie deadlocked with it (engine.lock_owner).
 * Cheap once held: a transaction that has it already locks nothing more.
 */
export async function lockFilmOwner(db: Db, movieId: string): Promise<void> {
  await db`select engine.lock_owner(user_id) from public.movies where id = ${movieId}`;
}

/** Sets one step's state, marks it current, recomputes overall progress (one row lock). */
export async function updateStep(db: Db, movieId: string, step: FilmStep, update: StepUpdate): Promise<void> {
  const progress = update.progress ??
    (update.status === "completed" || update.status === "skipped" ? 100 : undefined);
  const patch: Record<string, Json> = { status: update.status };
  if (progress !== undefined) patch.progress = Math.max(0, Math.min(100, Math.round(progress)));
  if (update.detail !== undefined) patch.detail = update.detail;
  const now = new Date().toISOString();
  // Its own transaction when called outside one: the owner's lock lasts until the update's end.
  if ("begin" in db) {
    await db.begin((tx) => updateStep(tx, movieId, step, update));
    return;
  }
  await lockFilmOwner(db, movieId);
  await db`
    with next as (
      select jsonb_set(p.steps, array[${step}::text],
               coalesce(p.steps -> ${step}::text, '{}'::jsonb)
               || jsonb_build_object('started_at', coalesce(p.steps -> ${step}::text ->> 'started_at', ${now}::text))
               || ${db.json(patch)}
               || case when ${update.status} in ('completed', 'failed', 'skipped')
                       then jsonb_build_object('finished_at', ${now}::text) else '{}'::jsonb end) as steps
        from public.movie_creation_progress p where p.movie_id = ${movieId} for update
    ), overall as (
      select least(100, round(avg(coalesce((v ->> 'progress')::numeric, 0))))::int as progress
        from next, jsonb_each(next.steps) e(k, v)
    ), saved as (
      update public.movie_creation_progress p
         set steps = next.steps, overall_progress = overall.progress,
             overall_status = case when p.overall_status = 'pending' then 'running' else p.overall_status end,
             current_step = ${step}, current_step_detail = coalesce(${
    update.detail ?? null
  }, p.current_step_detail)
        from next, overall where p.movie_id = ${movieId}
      returning p.overall_progress)
    update public.movies m set progress = saved.overall_progress,
           status = case when m.status = 'pending' then 'processing' else m.status end
      from saved where m.id = ${movieId}`;
}

/** The film's end state in movie_creation_progress (the finalize step). */
export async function finishProgress(
  db: Db,
  movieId: string,
  status: "completed" | "failed" | "cancelled",
  detail: string,
) {
  await db`
    update public.movie_creation_progress
       set overall_status = ${status}, overall_progress = case when ${status} = 'completed' then 100 else overall_progress end,
           current_step = ${status}, current_step_detail = ${detail}
     where movie_id = ${movieId}`;
}
