/**
 * movie_step_metrics: one row per engine step that costs time or money — provider, model, cost
 * units. A paid call's row is written as `intent` (committed) before the submission, `submitted`
 * with the provider's id right after it, and `succeeded`/`failed` when it ends, so a kill between
 * submit and record shows up as an intent without an external id; `cancelled` when
 * film.cancel_jobs cancelled it at its provider with the film. An intent whose task ended failed
 * or cancelled before any submission was recorded is closed with the task's reason
 * (public.film_work_follows_its_task).
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import { FencedOutError } from "../errors.ts";
import type { Payer, ProviderIdentity } from "../providers/types.ts";

type Db = Sql | TransactionSql;

export interface MetricKey {
  movieId: string;
  userId: string;
  step: string;
  sceneNumber?: number | null;
  taskId: string;
  stepName: string;
  provider: string;
  model: string;
  /**
   * Whose key the call uses, as the adapter says (ProviderIdentity.paidBy). Absent, the billing
   * trigger guesses from the owner's registry (engine.classify_metric_billing).
   */
  paidBy?: Payer;
}

/** A metric key's provider fields, from the adapter that makes the call. */
export const metricProvider = (adapter: ProviderIdentity) => ({
  provider: adapter.provider,
  model: adapter.model,
  paidBy: adapter.paidBy,
});

/**
 * `planned`: a paid job's expected cost, counted against the film's cap (film-budget.ts), and its
 * unit (the cost the job is recorded with if it ends unseen by its task: film.cancel_jobs). A
 * retried slice finds its own row and leaves it; a row its task's end closed with nothing
 * submitted (public.film_work_follows_its_task: the task failed or was cancelled, and is now run
 * again by a resume) is opened again for this attempt, with this attempt's provider and billing.
 */
export async function recordIntent(
  db: Db,
  key: MetricKey,
  planned: { units: number; unit: string } | null = null,
): Promise<void> {
  // Only while its task runs, under the task's row (after the film's, the order an owner's cancel
  // takes them): a cancel either waits for this row and closes it as it closes the task's open
  // intents (public.film_work_follows_its_task), or has committed, and this records nothing and
  // ends the slice. Before, a cancel committed between the slice's last fenced write and this
  // insert closed the intents before this one existed, and it stayed `intent` for good: status
  // counted the step in flight, its time growing.
  const record = async (tx: TransactionSql) => {
    // The owner's row first, in an account deletion's order (engine.lock_owner): the insert below
    // checks it, and taken there it waited for a deletion that waited for this task's row.
    await tx`select engine.lock_owner(${key.userId})`;
    await tx`select from public.movies where id = ${key.movieId} for key share`;
    // For update, as the step's end (engine.complete_step) takes it: a share lock here, upgraded by
    // that end, deadlocked two lines of one task refused by the film's cap at the same moment.
    const [running] = await tx`
      select 1 from public.background_tasks where id = ${key.taskId} and status = 'running' for update`;
    if (!running) throw new FencedOutError(key.taskId);
    await tx`
      insert into public.movie_step_metrics
        (movie_id, user_id, step, scene_number, task_id, step_name, provider, model, billed_to, planned_units, cost_unit)
      values (${key.movieId}, ${key.userId}, ${key.step}, ${
      key.sceneNumber ?? null
    }, ${key.taskId}, ${key.stepName},
              ${key.provider}, ${key.model}, ${key.paidBy ?? null}, ${planned?.units ?? null}, ${
      planned?.unit ?? null
    })
      on conflict on constraint movie_step_metrics_one_per_step do update
         set phase = 'intent', planned_units = excluded.planned_units, cost_unit = excluded.cost_unit,
             error_message = null, finished_at = null,
             -- This attempt's provider, and who pays for it (excluded carries the billing trigger's
             -- answer): the owner may have changed providers since the attempt that closed the row.
             provider = excluded.provider, model = excluded.model, billed_to = excluded.billed_to
       where movie_step_metrics.external_id is null and movie_step_metrics.finished_at is not null
         and movie_step_metrics.phase in ('failed', 'cancelled')`;
  };
  // A transaction of the caller's (a step's, a capped film's admission) or one of its own.
  if ("begin" in db) await db.begin(record);
  else await record(db);
}

export async function recordSubmitted(
  db: Db,
  taskId: string,
  stepName: string,
  externalId: string,
): Promise<void> {
  await db`
    update public.movie_step_metrics set phase = 'submitted', external_id = ${externalId}, submitted_at = now()
     where task_id = ${taskId} and step_name = ${stepName} and phase = 'intent'`;
}

export async function recordFinished(
  db: Db,
  taskId: string,
  stepName: string,
  outcome: {
    ok: boolean;
    costUnits?: number | null;
    costUnit?: string | null;
    error?: string | null;
    externalId?: string;
  },
): Promise<void> {
  // external_id too: a kill right after the engine recorded the submission may have skipped recordSubmitted.
  await db`
    update public.movie_step_metrics
       set phase = ${outcome.ok ? "succeeded" : "failed"}, external_id = coalesce(external_id, ${
    outcome.externalId ?? null
  }), cost_units = ${outcome.costUnits ?? null},
           cost_unit = ${outcome.costUnit ?? null}, error_message = ${
    outcome.error ?? null
  }, finished_at = now()
     where task_id = ${taskId} and step_name = ${stepName} and finished_at is null`;
}

/**
 * A recorded job the step's task gives up on its next slice, instead of polling it: one that
 * film.cancel_jobs cancelled with its film (phase `cancelled`; the film was resumed since), or one
 * sent to a provider or model other than the one the owner's registry names now (they registered
 * another meanwhile: the job's id means nothing to the new one, and the old one's key is no longer
 * theirs to use). Its row is renamed `<step name>#<job id>`, kept for the record and still counted
 * in the film's cap, and a job left behind by a provider change is closed `failed` saying so; the
 * job submitted in its place gets the step's own row. True when the job was so given up (also when
 * a slice killed after the rename asks again). A row the engine's record of the submission got
 * ahead of (no job id yet) is matched too.
 */
export async function setAsideGivenUpJob(
  db: Db,
  taskId: string,
  stepName: string,
  externalId: string,
  now: { provider: string; model: string },
): Promise<boolean> {
  const setAside = `${stepName}#${externalId}`;
  const rows = await db`
    update public.movie_step_metrics
       set step_name = ${setAside}, external_id = ${externalId},
           -- A cancelled job's row is film.cancel_jobs' to close; a finished one keeps its outcome.
           phase = case when phase = 'cancelled' or finished_at is not null then phase else 'failed' end,
           error_message = case when phase = 'cancelled' or finished_at is not null then error_message
             else 'given up: the ' || step || ' provider changed from ' || provider || '/' || model
                  || ' to ' || ${now.provider} || '/' || ${now.model} || ' while the job ran; made again there' end,
           finished_at = case when phase = 'cancelled' then finished_at else coalesce(finished_at, now()) end
     where task_id = ${taskId} and step_name in (${stepName}, ${setAside})
       and coalesce(external_id, ${externalId}) = ${externalId}
       and (phase = 'cancelled' or (provider, model) is distinct from (${now.provider}, ${now.model}))
    returning id`;
  return rows.length > 0;
}

/** Per step: calls, providers/models, cost units by unit, seconds spent (first start → last end). */
export async function metricsByStep(db: Db, movieId: string) {
  return await db`
    select step, count(*)::int as calls,
           array_agg(distinct provider || '/' || model) as providers,
           jsonb_object_agg(coalesce(cost_unit, 'none'), cost) filter (where cost is not null) as cost,
           extract(epoch from (max(coalesce(finished_at, now())) - min(started_at)))::float as seconds,
           count(*) filter (where phase in ('intent', 'submitted'))::int as in_flight
      from (select *, sum(cost_units) over (partition by step, cost_unit) as cost from public.movie_step_metrics
             where movie_id = ${movieId}) m
     group by step order by min(started_at)`;
}
