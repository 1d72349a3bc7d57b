/**
 * film.cancel_jobs {movieId}: after a film is cancelled, by any path (enqueued by its end
 * follower, public.movie_follows_its_task, in the cancelling transaction), or started again by a
 * script accept (asset_admin.reset_film, which stops the old pipeline and the regenerations still
 * making previews), the provider jobs their tasks had already paid for and not yet finished (a
 * step recorded as `submitted`) are cancelled at the provider, so a queued clip or image stops
 * costing money; one that already succeeded there is kept for a resume (alreadySucceeded). Best
 * effort and after the fact: the cancel itself already fenced those tasks out, so nothing new is
 * submitted either way. Only jobs of tasks still cancelled are touched: a resume
 * that came first keeps polling its jobs, and a film started again keeps its new pipeline's.
 */
import type { TaskHandler } from "../engine/slice-runner.ts";
import { reportTaskError } from "../engine/task-error.ts";
import { catalogEntry } from "../providers/registry/provider-catalog.ts";
import type { JobProvider, ProviderType } from "../providers/types.ts";
import { type FilmDeps, type FilmEnv, filmEnv } from "./film-env.ts";
import type { TaskKind } from "../engine/task-routes.ts";
import type { TaskRow } from "../engine/task-row.ts";

export const CANCEL_JOBS_KIND = "film.cancel_jobs" satisfies TaskKind;

/**
 * Cancels one job at its provider, best effort: null once cancelled, else why not, in words the
 * owner may read (reportTaskError's; the raw error goes to the log). Never throws.
 */
export async function cancelAtProvider(
  adapter: Pick<JobProvider<never, never>, "cancel">,
  externalId: string,
  task: TaskRow,
): Promise<string | null> {
  try {
    await adapter.cancel(externalId);
    return null;
  } catch (error) {
    return reportTaskError(error, task).error.message;
  }
}

/**
 * The film's provider jobs submitted and not finished by tasks that are cancelled now, each marked
 * `cancelled` on its metrics row (its job id with it: the engine records a submission before the
 * row hears of it, so a cancel in between leaves the row without the id). One statement that
 * share-locks those tasks first: a resume of one of them waits for it, and its resumed task then
 * finds the mark and pays for a new job (film-jobs.ts, `withdrawn`) instead of polling this one,
 * which is about to be cancelled. Jobs marked before and not yet cancelled at their provider (a
 * kill in between) come back too, whatever their task's status now.
 */
export async function markOpenJobsCancelled(deps: FilmDeps, movieId: string) {
  return await deps.sql<
    { id: string; provider: string; model: string; external_id: string; kind: string | null }[]
  >`
    with held as (
      select t.id from public.background_tasks t
       where t.status = 'cancelled'
         and t.id in (select m.task_id from public.movie_step_metrics m
                       where m.movie_id = ${movieId} and m.finished_at is null)
       order by t.id
       for share
    ), marked as (
      update public.movie_step_metrics m
         set phase = 'cancelled', external_id = coalesce(m.external_id, s.external_id)
        from public.background_task_steps s
       where m.movie_id = ${movieId} and m.finished_at is null and m.phase <> 'cancelled'
         and m.task_id in (select id from held)
         and s.task_id = m.task_id and s.name = m.step_name and s.status = 'submitted'
         and s.external_id is not null
      returning m.id, m.task_id, m.provider, m.model, m.external_id
    )
    select j.id, j.provider, j.model, j.external_id, t.kind
      from (select id, task_id, provider, model, external_id from marked
            union all
            select id, task_id, provider, model, external_id from public.movie_step_metrics
             where movie_id = ${movieId} and finished_at is null and phase = 'cancelled') j
      left join public.background_tasks t on t.id = j.task_id`;
}

type Canceller = Pick<JobProvider<never, unknown>, "provider" | "model" | "poll" | "cancel">;

/**
 * Whether the job already succeeded at its provider: the task that paid for it was stopped before
 * it polled it done. Such a job is not cancelled (at Runway, cancelling a finished task deletes it
 * and its output), and its row records it succeeded with its planned cost, so the task's resume
 * polls it and uses it instead of paying for it again (setAsideGivenUpJob sets aside only
 * `cancelled` rows). A poll that fails says nothing: the job is cancelled as before.
 */
async function alreadySucceeded(adapter: Canceller, externalId: string): Promise<boolean> {
  try {
    return (await adapter.poll(externalId)).state === "succeeded";
  } catch {
    return false;
  }
}

/** The provider types whose jobs a film's tasks submit and poll (film-jobs.ts, asset previews). */
const JOB_TYPES = ["video", "image", "render", "lipsync", "music"] as const satisfies readonly ProviderType[];

/**
 * The owner's adapter a job was made with, or null when they no longer have its provider: the
 * registered one of its type, or that provider at another of its models (a regeneration's
 * draft.model: filmEnv's model override), made once per model.
 */
function jobAdapters(deps: FilmDeps, userId: string, env: FilmEnv) {
  const made = new Map<string, Promise<Canceller | null>>();
  async function find(job: { provider: string; model: string }): Promise<Canceller | null> {
    for (const type of JOB_TYPES) {
      const registered = env.providers[type];
      if (registered?.provider !== job.provider) continue;
      if (registered.model === job.model) return registered;
      if (catalogEntry(type, job.provider)?.models.includes(job.model)) {
        return (await filmEnv(deps, userId, { models: { [type]: job.model } })).providers[type];
      }
    }
    return null;
  }
  return (job: { provider: string; model: string }) => {
    const key = `${job.provider}/${job.model}`;
    if (!made.has(key)) made.set(key, find(job));
    return made.get(key)!;
  };
}

export function cancelJobsHandler(deps: FilmDeps): TaskHandler {
  return async (ctx) => {
    const movieId = String(ctx.payload.movieId);
    const [movie] = await deps.sql`select user_id from public.movies where id = ${movieId}`;
    if (!movie) return { type: "done", result: { cancelled: 0, skipped: "movie missing" } };
    const adapterFor = jobAdapters(deps, movie.user_id, await filmEnv(deps, movie.user_id));
    const outcomes: { provider: string; job: string; cancelled: boolean; finished?: true; error?: string }[] =
      [];
    for (const job of await markOpenJobsCancelled(deps, movieId)) {
      const adapter = await adapterFor(job);
      const stoppedWith = job.kind === "asset.regenerate" ? "its regeneration" : "the film";
      if (adapter && await alreadySucceeded(adapter, job.external_id)) {
        await deps.sql`
          update public.movie_step_metrics
             set phase = 'succeeded', cost_units = planned_units, finished_at = now(),
                 error_message = ${`finished at ${job.provider} before ${stoppedWith} was cancelled: kept (a resume uses it)`}
           where id = ${job.id} and finished_at is null`;
        outcomes.push({ provider: job.provider, job: job.external_id, cancelled: false, finished: true });
        continue;
      }
      // A job whose provider is no longer the owner's (re-registered meanwhile) has no key to cancel
      // with; the owner's resumed film could not poll it either, and pays for a new one.
      // The owner reads metrics and the task result: what reportTaskError lets through, raw text to the log.
      const error = adapter
        ? await cancelAtProvider(adapter, job.external_id, ctx.task)
        : "provider no longer registered";
      // By the row's id: a resumed task may have renamed it already (setAsideGivenUpJob).
      await deps.sql`
        update public.movie_step_metrics
           set phase = ${error ? "failed" : "cancelled"}, finished_at = now(),
               error_message = ${
        error
          ? `cancel at the provider failed: ${error}`
          : `cancelled with ${stoppedWith} (cancelled at the provider)`
      }
         where id = ${job.id} and finished_at is null`;
      outcomes.push({
        provider: job.provider,
        job: job.external_id,
        cancelled: error === null,
        ...(error ? { error } : {}),
      });
    }
    return {
      type: "done",
      result: { cancelled: outcomes.filter((o) => o.cancelled).length, jobs: outcomes },
    };
  };
}
