/**
 * film.cancel_jobs {movieId}: after a film is cancelled, by any path (enqueued by its end
 * follower, public.movie_follows_its_task, in the cancelling transaction), or started again by a
 * script accept (asset_admin.reset_film, which stops the old pipeline and the regenerations still
 * making previews), the provider jobs their tasks had already paid for and not yet finished (a
 * step recorded as `submitted`) are cancelled at the provider, so a queued clip or image stops
 * costing money. Best effort and after the fact: the cancel itself already fenced those tasks out,
 * so nothing new is submitted either way. Only jobs of tasks still cancelled are touched: a resume
 * that came first keeps polling its jobs, and a film started again keeps its new pipeline's.
 */
import type { TaskHandler } from "../engine/slice-runner.ts";
import { reportTaskError } from "../engine/task-error.ts";
import type { JobProvider } from "../providers/types.ts";
import { type FilmDeps, filmEnv } from "./film-env.ts";
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

/** The film's provider jobs submitted and not finished, by tasks that are cancelled now. */
export async function openJobsOfCancelledTasks(deps: FilmDeps, movieId: string) {
  return await deps.sql`
    select m.provider, m.model, s.external_id, s.task_id, s.name
      from public.movie_step_metrics m
      join public.background_task_steps s on s.task_id = m.task_id and s.name = m.step_name
      join public.background_tasks t on t.id = s.task_id
     where m.movie_id = ${movieId} and s.status = 'submitted' and s.external_id is not null
       and m.finished_at is null and t.status = 'cancelled'`;
}

export function cancelJobsHandler(deps: FilmDeps): TaskHandler {
  return async (ctx) => {
    const movieId = String(ctx.payload.movieId);
    const [movie] = await deps.sql`select user_id from public.movies where id = ${movieId}`;
    if (!movie) return { type: "done", result: { cancelled: 0, skipped: "movie missing" } };
    const env = await filmEnv(deps, movie.user_id);
    const { video, image, lipsync, music, render } = env.providers;
    const adapters: Pick<JobProvider<never, never>, "provider" | "model" | "cancel">[] = [
      video,
      image,
      render,
    ];
    if (lipsync) adapters.push(lipsync);
    if (music) adapters.push(music);
    const outcomes: { provider: string; job: string; cancelled: boolean; error?: string }[] = [];
    for (const job of await openJobsOfCancelledTasks(deps, movieId)) {
      const adapter = adapters.find((a) => a.provider === job.provider && a.model === job.model);
      // A job whose provider is no longer the owner's (re-registered meanwhile) has no key to cancel with.
      if (!adapter) {
        outcomes.push({
          provider: job.provider,
          job: job.external_id,
          cancelled: false,
          error: "provider no longer registered",
        });
        continue;
      }
      // The owner reads metrics and the task result: what reportTaskError lets through, raw text to the log.
      const error = await cancelAtProvider(adapter, job.external_id, ctx.task);
      // external_id too: the engine records a submitted job before its metrics row is updated
      // (providerStep, then recordSubmitted), and a cancel in between would leave the row without it.
      await deps.sql`
        update public.movie_step_metrics set phase = 'failed', finished_at = now(),
               external_id = coalesce(external_id, ${job.external_id}),
               error_message = ${
        error
          ? `cancel at the provider failed: ${error}`
          : "cancelled with the film (cancelled at the provider)"
      }
         where task_id = ${job.task_id} and step_name = ${job.name} and finished_at is null`;
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
