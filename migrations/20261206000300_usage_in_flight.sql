-- A paid job still running counts toward the day's cost units at the units it was admitted with.
-- Before, usage_report summed cost_units, which a job's row gets only when it ends: a user just
-- under the limit could start any number of long paid jobs (music regenerations of up to 900 s
-- each) one after another, every start admitted while the ones before it still ran. A row still
-- open (no finished_at: an intent or a submitted job) now counts its planned_units, the same
-- expectation the film's cap counts (film-budget.ts); a finished one counts what it cost.
create function engine.counted_cost_units(m public.movie_step_metrics) returns numeric
language sql immutable as $$
  select case when m.finished_at is null then coalesce(m.cost_units, m.planned_units) else m.cost_units end
$$;

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
  select coalesce(sum(engine.counted_cost_units(m) * coalesce(w.weight, 1)), 0) into cost
    from public.movie_step_metrics m left join public.usage_cost_weights w on w.cost_unit = m.cost_unit
   where m.user_id = p_user_id and m.billed_to = 'project' and m.started_at > window_start
     and engine.counted_cost_units(m) is not null;
  return jsonb_build_object(
    'limits', lim,
    'used', jsonb_build_object('filmsInProduction', in_production, 'filmsPerDay', films,
                               'regenerationsPerDay', regenerations, 'costUnitsPerDay', round(cost, 3)),
    'windowHours', 24);
end $$;

-- When the day's cost units free up counts the same rows: the oldest counted one + 24 h.
create or replace function engine.admit_usage(p_user_id uuid, p_kind text, p_reason text, p_resuming_movie uuid default null)
returns void
language plpgsql security definer set search_path = '' as $$
declare
  r jsonb;
  lim jsonb;
  used jsonb;
  name text;
  frees timestamptz;
  msg text;
begin
  if p_kind not in ('film', 'regeneration') then
    raise exception 'unknown usage kind %', p_kind using errcode = '22023';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('reelforge.usage:' || p_user_id::text, 0));
  r := engine.usage_report(p_user_id, p_resuming_movie);
  lim := r -> 'limits';
  used := r -> 'used';
  if p_kind = 'film' and (used ->> 'filmsInProduction')::int >= (lim ->> 'filmsInProduction')::int then
    name := 'filmsInProduction';
    msg := format('You have %s films in production and may have at most %s at once; start this one when one of them ends (or cancel one)',
                  used ->> 'filmsInProduction', lim ->> 'filmsInProduction');
  elsif p_kind = 'film' and (used ->> 'filmsPerDay')::int >= (lim ->> 'filmsPerDay')::int then
    name := 'filmsPerDay';
    frees := engine.usage_frees_at(p_user_id, 'film', (used ->> 'filmsPerDay')::int, (lim ->> 'filmsPerDay')::int);
    msg := format('You started %s films in the last 24 hours, the most allowed is %s', used ->> 'filmsPerDay', lim ->> 'filmsPerDay');
  elsif p_kind = 'regeneration' and (used ->> 'regenerationsPerDay')::int >= (lim ->> 'regenerationsPerDay')::int then
    name := 'regenerationsPerDay';
    frees := engine.usage_frees_at(p_user_id, 'regeneration', (used ->> 'regenerationsPerDay')::int, (lim ->> 'regenerationsPerDay')::int);
    msg := format('You made %s regenerations in the last 24 hours, the most allowed is %s', used ->> 'regenerationsPerDay', lim ->> 'regenerationsPerDay');
  elsif (used ->> 'costUnitsPerDay')::numeric >= (lim ->> 'costUnitsPerDay')::numeric then
    name := 'costUnitsPerDay';
    select m.started_at + interval '1 day' into frees from public.movie_step_metrics m
     where m.user_id = p_user_id and m.billed_to = 'project' and m.started_at > now() - interval '1 day'
       and engine.counted_cost_units(m) is not null
     order by m.started_at limit 1;
    msg := format('You used %s cost units on the project''s providers in the last 24 hours, the most allowed is %s; register your own provider keys to go on now',
                  used ->> 'costUnitsPerDay', lim ->> 'costUnitsPerDay');
  end if;
  if name is not null then
    if frees is not null then
      msg := msg || format('; the next one frees up at %s', to_char(frees at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
    end if;
    raise exception '%', msg using errcode = 'RF009', detail = jsonb_build_object(
      'limit', name, 'used', used -> name, 'max', lim -> name, 'resetsAt', frees)::text;
  end if;
  -- Events older than the window count for nothing: kept briefly, then dropped here.
  delete from public.usage_events where user_id = p_user_id and created_at < now() - interval '2 days';
  insert into public.usage_events (user_id, kind, reason) values (p_user_id, p_kind, p_reason);
end $$;
