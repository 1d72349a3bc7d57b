/**
 * A film's spending cap (produce-movie start's `maxCostUnits`, movies.max_cost_units): the sum of
 * the units its paid provider jobs were expected to cost, in the providers' own units. A paid job
 * is admitted against it in the transaction that records its intent, under the movie row's lock,
 * so two steps running side by side cannot both pass the cap; one that would pass it is never
 * submitted and fails with `budget_exceeded`, like any failed job.
 */
import type { Sql, TransactionSql } from "../db/client.ts";
import { PROVIDER_CATALOG } from "../providers/registry/provider-catalog.ts";
import { type MetricKey, recordIntent } from "./film-metrics.ts";

type Db = Sql | TransactionSql;

/** The failure code of a paid job the cap refused. */
export const BUDGET_EXCEEDED = "budget_exceeded";

/** A paid job the cap refused: nothing was submitted. */
export class BudgetExceededError extends Error {
  readonly code = BUDGET_EXCEEDED;
  constructor(readonly spent: number, readonly cap: number, readonly units: number, unit: string) {
    super(
      units === 0
        ? `budget_exceeded: the film has spent ${spent} of its cap of ${cap} units: no more paid calls`
        : `budget_exceeded: this step would cost ${units} ${unit}, the film has spent ${spent} of its cap of ${cap} units`,
    );
  }
}

/** Keyless providers run on our own machines (local jobs, the render worker): they cost nothing. */
export function isPaidProvider(provider: string): boolean {
  return Object.values(PROVIDER_CATALOG).some((entries) =>
    Object.hasOwn(entries, provider) && entries[provider].needsApiKey
  );
}

/** Units spent so far (every admitted paid job, finished or not) and the cap (null: none). */
export async function spendOf(db: Db, movieId: string): Promise<{ units: number; cap: number | null }> {
  const [row] = await db`
    select (select max_cost_units from public.movies where id = ${movieId}) as cap,
           coalesce(sum(planned_units), 0) as units
      from public.movie_step_metrics where movie_id = ${movieId}`;
  return { units: Number(row.units), cap: row.cap === null ? null : Number(row.cap) };
}

/**
 * A synchronous call's intent (LLM, TTS): admitted like a job when its provider is paid, with no
 * units of its own — tokens and characters are not the jobs' units, and the cap counts only jobs
 * (film-pipeline.md "Quote and cap") — so it is refused once the film's spend reached the cap.
 */
export async function admitSyncIntent(sql: Sql, key: MetricKey): Promise<void> {
  if (isPaidProvider(key.provider)) await admitPaidIntent(sql, key, { units: 0, unit: "units" });
  else await recordIntent(sql, key);
}

/**
 * Records a paid job's intent with its expected units, admitted against the film's cap: throws
 * BudgetExceededError (nothing recorded) when spent + units would pass it. A step whose intent is
 * already recorded (a retried slice) does not count against itself.
 */
export async function admitPaidIntent(sql: Sql, key: MetricKey, cost: { units: number; unit: string }) {
  // The cap is set at start and never changes: a film without one records its intent unlocked.
  const [capped] =
    await sql`select 1 from public.movies where id = ${key.movieId} and max_cost_units is not null`;
  if (!capped) return await recordIntent(sql, key, cost);
  await sql.begin(async (tx) => {
    const [movie] = await tx`select max_cost_units from public.movies where id = ${key.movieId} for update`;
    if (movie?.max_cost_units !== null && movie?.max_cost_units !== undefined) {
      const cap = Number(movie.max_cost_units);
      const [row] = await tx`
        select coalesce(sum(planned_units), 0) as spent from public.movie_step_metrics
         where movie_id = ${key.movieId} and not (task_id = ${key.taskId} and step_name = ${key.stepName})`;
      const spent = Number(row.spent);
      // A synchronous call (units 0: known only after it) is refused once the cap is reached.
      if (spent + cost.units > cap || spent >= cap) {
        throw new BudgetExceededError(spent, cap, cost.units, cost.unit);
      }
    }
    await recordIntent(tx, key, cost);
  });
}
