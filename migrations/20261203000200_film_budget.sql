-- A film's spending cap (produce-movie start's maxCostUnits, docs/film-pipeline.md "Quote and cap").
-- The cap is in the providers' own units, summed over the film's paid jobs; null means no cap.
alter table public.movies add column max_cost_units numeric check (max_cost_units > 0);

-- What a paid job was expected to cost, written with its intent before the submission: the cap
-- counts it at once (cost_units is only known when the job ends), so parallel steps see each other.
alter table public.movie_step_metrics add column planned_units numeric;
