-- A film's spending cap (produce-movie start's maxCostUnits, docs/film-pipeline.md "Quote and cap").
-- The cap is in the providers' own units, summed over the film's paid jobs; null means no cap.
alter table public.movies add column max_cost_units numeric check (max_cost_units > 0);

-- What a paid job was expected to cost, written with its intent before the submission: the cap
-- counts it at once (cost_units is only known when the job ends), so parallel steps see each other.
alter table public.movie_step_metrics add column planned_units numeric;

-- The cost units a metered call counts for in the user's day (engine.usage_report): what it cost
-- once it ended, and while it runs (its row has no finished_at: an intent or a submitted job) the
-- planned_units it was admitted with, the expectation the film's cap counts (film-budget.ts), so
-- paid jobs in flight count from their start.
create function engine.counted_cost_units(m public.movie_step_metrics) returns numeric
language sql immutable as $$
  select case when (m).finished_at is null then coalesce((m).cost_units, (m).planned_units) else (m).cost_units end
$$;
