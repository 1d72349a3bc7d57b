-- A paid job still running counts toward the day's cost units at the units it was admitted with.
-- Before, usage_report summed cost_units, which a job's row gets only when it ends: a user just
-- under the limit could start any number of long paid jobs (music regenerations of up to 900 s
-- each) one after another, every start admitted while the ones before it still ran. A row still
-- open (no finished_at: an intent or a submitted job) now counts its planned_units, the same
-- expectation the film's cap counts (film-budget.ts); a finished one counts what it cost.
create or replace function engine.usage_report(p_user_id uuid, p_resuming_movie uuid default null) returns jsonb
language plpgsql stable security definer set search_path = '' as $$
declare
  d public.usage_limits;
  u public.usage_limits;
  in_production integer;
  films integer;
  regenerations integer;
  cost numeric;
  lim jsonb;
  window_start timestamptz := now() - interval '1 day';
begin
  select * into d from public.usage_limits where user_id is null;
  select * into u from public.usage_limits where user_id = p_user_id;
  lim := jsonb_build_object(
    'filmsInProduction', coalesce(u.films_in_production, d.films_in_production),
    'filmsPerDay', coalesce(u.films_per_day, d.films_per_day),
    'regenerationsPerDay', coalesce(u.regenerations_per_day, d.regenerations_per_day),
    'costUnitsPerDay', coalesce(u.cost_units_per_day, d.cost_units_per_day),
    'resumesPerTask', coalesce(u.resumes_per_task, d.resumes_per_task));
  select count(*) into in_production from public.movies
   where user_id = p_user_id and status in ('pending', 'processing') and id is distinct from p_resuming_movie;
  select count(*) filter (where kind = 'film'), count(*) filter (where kind = 'regeneration')
    into films, regenerations
    from public.usage_events where user_id = p_user_id and created_at > window_start;
  select coalesce(sum(m.units * coalesce(w.weight, 1)), 0) into cost
    from (select case when finished_at is null then coalesce(cost_units, planned_units) else cost_units end as units,
                 cost_unit
            from public.movie_step_metrics
           where user_id = p_user_id and billed_to = 'project' and started_at > window_start) m
    left join public.usage_cost_weights w on w.cost_unit = m.cost_unit
   where m.units is not null;
  return jsonb_build_object(
    'limits', lim,
    'used', jsonb_build_object('filmsInProduction', in_production, 'filmsPerDay', films,
                               'regenerationsPerDay', regenerations, 'costUnitsPerDay', round(cost, 3)),
    'windowHours', 24);
end $$;
