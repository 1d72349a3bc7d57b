/**
 * The rows behind a demo report, read with the caller's connection (the stack's database URL: the
 * tables' RLS lets only owners read, and this reads as the table owner). Columns as in
 * migrations/20261201000200_engine.sql and 20261201000400_film.sql.
 */
import { cpus, release, totalmem, type } from "node:os";
import process from "node:process";
import type { Sql } from "../../shared/db/client.ts";

export interface MovieRow {
  id: string;
  user_id: string;
  title: string;
  prompt: string;
  status: string;
  task_id: string | null;
  video_url: string | null;
  poster_url: string | null;
  thumbnail_url: string | null;
  error_message: string | null;
  /** numeric: postgres.js hands it over as a string. */
  duration_minutes: string;
  created_at: Date;
  completed_at: Date | null;
}

export interface SceneRow {
  id: string;
  scene_number: number;
  status: string;
  error_message: string | null;
  audio_status: string;
  audio_error: string | null;
  mix_status: string;
  mix_error: string | null;
  clip_url: string | null;
  video_url: string | null;
  end_frame_url: string | null;
  reference_image_url: string | null;
  reference_image_source: string | null;
  /** numeric: postgres.js hands it over as a string. */
  duration_seconds: string | null;
}

export interface ShotRow {
  scene_id: string;
  shot_number: number;
  /** numeric: postgres.js hands it over as a string. */
  duration_seconds: string;
  status: string;
  reference_image_source: string | null;
  error_message: string | null;
}

export interface LineRow {
  scene_id: string;
  line_index: number;
  character_name: string;
  text: string;
  status: string;
  error_message: string | null;
  audio_url: string | null;
}

export interface MetricRow {
  step: string;
  step_name: string;
  scene_number: number | null;
  provider: string | null;
  model: string | null;
  phase: "intent" | "submitted" | "succeeded" | "failed";
  cost_units: string | null;
  cost_unit: string | null;
  started_at: Date;
  finished_at: Date | null;
}

export interface TaskRow {
  id: string;
  kind: string;
  status: string;
  parent_id: string | null;
  /** Only the fields labels use (a voice job's payload carries the whole line). */
  payload: {
    op?: string;
    scenes?: number[];
    sceneNumber?: number;
    locationSlug?: string;
    timeOfDay?: string;
    weather?: string;
  };
  attempts: number;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

/** What a worker job (render, local media) was for: the film step that submitted it. */
export interface JobLink {
  stepName: string;
  sceneNumber: number | null;
}

/** movie_creation_progress.steps: { <step>: { status, progress, detail, started_at, finished_at } }. */
export type ProgressSteps = Record<
  string,
  { status?: string; detail?: string | null; started_at?: string; finished_at?: string }
>;

const UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

export async function readFilmRows(sql: Sql, movieId: string) {
  const [movie] = await sql<MovieRow[]>`
    select id, user_id, title, prompt, status, task_id, video_url, poster_url, thumbnail_url, error_message, duration_minutes,
           created_at, completed_at
      from public.movies where id = ${movieId}`;
  if (!movie) throw new Error(`movie ${movieId} does not exist`);
  const scenes = await sql<SceneRow[]>`
    select id, scene_number, status, error_message, audio_status, audio_error, mix_status, mix_error,
           clip_url, video_url, end_frame_url, reference_image_url, reference_image_source, duration_seconds
      from public.movie_scenes where movie_id = ${movieId} order by scene_number`;
  const shots = await sql<ShotRow[]>`
    select scene_id, shot_number, duration_seconds, status, reference_image_source, error_message
      from public.scene_shots where movie_id = ${movieId} order by scene_id, shot_number`;
  const lines = await sql<LineRow[]>`
    select scene_id, line_index, character_name, text, status, error_message, audio_url
      from public.scene_audio where movie_id = ${movieId} order by scene_number, line_index`;
  const [progress] = await sql<{ steps: ProgressSteps }[]>`
    select steps from public.movie_creation_progress where movie_id = ${movieId}`;
  const metrics = await sql<MetricRow[]>`
    select step, step_name, scene_number, provider, model, phase, cost_units, cost_unit, started_at, finished_at
      from public.movie_step_metrics where movie_id = ${movieId} order by started_at`;
  // Worker jobs (render, local media) have no parent and no movieId: a provider job's id is the
  // job's task id (movie_step_metrics.external_id), and the offline voice's is the line's request_id.
  const links = await sql<{ id: string; step_name: string; scene_number: number | null }[]>`
    select external_id as id, step_name, scene_number from public.movie_step_metrics
     where movie_id = ${movieId} and external_id ~* ${UUID}
    union all
    select request_id, 'line-' || line_index, scene_number from public.scene_audio
     where movie_id = ${movieId} and request_id ~* ${UUID}`;
  const jobIds = [...new Set(links.map((l) => l.id.toLowerCase()))];
  // Film tasks: the produce task, every task whose payload names the film (chains, voices, mixes,
  // music, location images) and their descendants. A cached line's request_id may name an older
  // film's job: only jobs enqueued after this film started count.
  const tasks = await sql<TaskRow[]>`
    with recursive tree as (
      select id from public.background_tasks
       where user_id = ${movie.user_id} and (id = ${movie.task_id}::uuid or payload ->> 'movieId' = ${movie.id}::text)
      union
      select t.id from public.background_tasks t join tree on t.parent_id = tree.id
    )
    select b.id, b.kind, b.status, b.parent_id, b.attempts, b.created_at, b.started_at, b.finished_at,
           jsonb_strip_nulls(jsonb_build_object(
             'op', b.payload -> 'op', 'scenes', b.payload -> 'scenes', 'sceneNumber', b.payload -> 'sceneNumber',
             'locationSlug', b.payload -> 'locationSlug', 'timeOfDay', b.payload -> 'timeOfDay', 'weather', b.payload -> 'weather')) as payload
      from public.background_tasks b
     where b.id in (select id from tree)
        or (b.id = any(${jobIds}::uuid[]) and b.created_at >= ${movie.created_at})
     order by coalesce(b.started_at, b.created_at), b.created_at, b.id`;
  const jobLinks = new Map<string, JobLink>(
    links.map((l) => [l.id.toLowerCase(), { stepName: l.step_name, sceneNumber: l.scene_number }]),
  );
  return { movie, scenes, shots, lines, progressSteps: progress?.steps ?? {}, metrics, tasks, jobLinks };
}

/** "8 × <cpu>, 16 GiB, Linux 6.1, Deno 2.x, PostgreSQL 15.x": what the run was measured on. */
export async function filmMachine(sql: Sql): Promise<string> {
  const [{ version }] = await sql<{ version: string }[]>`select current_setting('server_version') as version`;
  const runtime = process.versions.deno ? `Deno ${process.versions.deno}` : `Node ${process.versions.node}`;
  const cpu = cpus();
  return [
    `${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}`,
    `${Math.round(totalmem() / 2 ** 30)} GiB RAM`,
    `${type()} ${release()}`,
    runtime,
    `PostgreSQL ${version}`,
  ].join(", ");
}
