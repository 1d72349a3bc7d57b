-- Fair and bounded use of the project's shared, paid capacity.
--
-- public.usage_limits holds the project defaults (the row with user_id null) and per-user
-- overrides (a null column inherits the default). Users read their own row and the defaults, never
-- write: the operator sets limits with SQL or public.set_usage_limits (service role or an
-- operator's verified claim). Every admission (a film start or resume, a regeneration) runs
-- engine.admit_usage in the same transaction as what it creates: it takes the user's advisory
-- lock, counts, refuses with RF009 (HTTP 429 quota_exceeded) or records a usage event — so
-- parallel starts of one user serialise and cannot overshoot.
create table public.usage_limits (
  -- null: the project defaults (exactly one such row).
  user_id uuid references auth.users (id) on delete cascade,
  films_in_production integer,
  films_per_day integer,
  regenerations_per_day integer,
  -- Weighted cost units (public.usage_cost_weights) per rolling day on project-default providers.
  cost_units_per_day numeric(14, 3),
  -- How often the owner may resume one task: each resume resets its attempts.
  resumes_per_task integer,
  updated_at timestamptz not null default now(),
  constraint usage_limits_one_row_per_user unique nulls not distinct (user_id),
  constraint usage_limits_defaults_complete check (
    user_id is not null or (films_in_production is not null and films_per_day is not null
      and regenerations_per_day is not null and cost_units_per_day is not null and resumes_per_task is not null)),
  constraint usage_limits_non_negative check (
    coalesce(films_in_production, 0) >= 0 and coalesce(films_per_day, 0) >= 0
    and coalesce(regenerations_per_day, 0) >= 0 and coalesce(cost_units_per_day, 0) >= 0
    and coalesce(resumes_per_task, 0) >= 0)
);

comment on table public.usage_limits is
  'Per-user limits on shared paid capacity: the user_id-null row is the project default, other rows override it column by column (null = inherit).';

-- Two films at once keeps one user from holding every provider slot; 20 films and 200
-- regenerations a day are far above a person's use and well below a script's; 3000 cost units is
-- about five 3-minute films on paid project providers (see usage_cost_weights); 5 resumes of one task.
insert into public.usage_limits (user_id, films_in_production, films_per_day, regenerations_per_day, cost_units_per_day, resumes_per_task)
values (null, 2, 20, 200, 3000, 5);

-- What one unit of each movie_step_metrics.cost_unit weighs in cost units: a second of generated
-- video, music or lip sync is the yardstick; an image costs about two; tokens and characters are
-- cheap. A unit not listed weighs 1 (a new provider's unit is counted, never free by omission).
create table public.usage_cost_weights (
  cost_unit text primary key,
  weight numeric(10, 4) not null,
  constraint usage_cost_weights_non_negative check (weight >= 0)
);

insert into public.usage_cost_weights (cost_unit, weight) values
  ('seconds', 1), ('images', 2), ('renders', 1), ('clips', 1), ('tokens', 0.001), ('characters', 0.01);

-- One row per admitted film start/resume or regeneration: the per-day counts are rolling 24 h
-- windows over it, so "when it frees up" is exact (the oldest counted event + 24 h).
create table public.usage_events (
  id bigint generated always as identity primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  kind text not null,
  reason text not null,
  created_at timestamptz not null default now(),
  constraint usage_events_kind_check check (kind in ('film', 'regeneration'))
);

create index usage_events_user_idx on public.usage_events (user_id, kind, created_at);

create index movie_step_metrics_project_cost_idx on public.movie_step_metrics (user_id, started_at)
  where billed_to = 'project';

-- The payer a row was written with (the call's adapter's, shared/film/film-metrics.ts) stands: a
-- provider's name alone does not say whose key a call used (fal makes images and renders, and a
-- user's own fal row for renders leaves their images on the project's key). Without one, the
-- owner's registry decides: free on our machines, theirs if they have an active row of it.
create function engine.classify_metric_billing() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  new.billed_to := coalesce(new.billed_to, case
    when new.provider is null or new.provider in ('local', 'worker') then 'free'
    when exists (select 1 from public.api_providers p
                  where p.user_id = new.user_id and p.provider = new.provider and p.is_active) then 'user'
    else 'project' end);
  return new;
end $$;

create trigger movie_step_metrics_billing before insert on public.movie_step_metrics
  for each row execute function engine.classify_metric_billing();

create index movies_in_production_idx on public.movies (user_id) where status in ('pending', 'processing');

alter table public.usage_limits enable row level security;

alter table public.usage_cost_weights enable row level security;

alter table public.usage_events enable row level security;

create policy usage_limits_read_own_and_defaults on public.usage_limits
  for select to authenticated using (user_id = (select auth.uid()) or user_id is null);

create policy usage_cost_weights_read on public.usage_cost_weights
  for select to authenticated using (true);

create policy usage_events_read_own on public.usage_events
  for select to authenticated using (user_id = (select auth.uid()));

-- Hosted projects grant new public tables to the API roles by default: read-only for users.
revoke all on public.usage_limits, public.usage_cost_weights, public.usage_events from anon, authenticated;

grant select on public.usage_limits, public.usage_cost_weights, public.usage_events to authenticated;

grant all on public.usage_limits, public.usage_cost_weights, public.usage_events to service_role;

-- ---------------------------------------------------------------------------------------------
-- Reading use and limits
-- ---------------------------------------------------------------------------------------------

-- The user's limits (override over default) and current use. p_resuming_movie: a film being
-- resumed is not one more film in production if it still counts as one.
create function engine.usage_report(p_user_id uuid, p_resuming_movie uuid default null) returns jsonb
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

-- When the per-day count of p_kind drops below p_max again: the event that has to age out + 24 h.
create function engine.usage_frees_at(p_user_id uuid, p_kind text, p_used integer, p_max integer)
returns timestamptz
language sql stable security definer set search_path = '' as $$
  select created_at + interval '1 day' from public.usage_events
   where user_id = p_user_id and kind = p_kind and created_at > now() - interval '1 day'
   order by created_at offset greatest(p_used - p_max, 0) limit 1
$$;

-- ---------------------------------------------------------------------------------------------
-- Admission: same transaction as the enqueue
-- ---------------------------------------------------------------------------------------------

-- Raises RF009 (detail: JSON naming the limit, the use, the maximum and when it frees up) when one
-- more p_kind ('film' or 'regeneration') would exceed a limit; otherwise records the event. The
-- per-user advisory lock is held until the caller's transaction ends, so a parallel admission
-- counts what this one creates.
create function engine.admit_usage(p_user_id uuid, p_kind text, p_reason text, p_resuming_movie uuid default null)
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

-- The caller's own limits and use (any signed-in user; nothing to write).
create function public.my_usage() returns jsonb
language plpgsql stable security definer set search_path = '' as $$
begin
  if auth.uid() is null then
    raise exception 'sign in to read your usage' using errcode = '42501';
  end if;
  return engine.usage_report(auth.uid());
end $$;

-- Whether a user is an operator by their stored user (auth.users app_metadata.reelforge_role,
-- which only the server can write), not by the copy their token carries: a token signed before a
-- demotion stays valid until it expires. A deleted or anonymous user is no operator. Asked by
-- public.set_usage_limits and by every operator function (shared/auth/operator-standing.ts).
create function engine.is_stored_operator(p_user_id text) returns boolean
language sql stable security definer set search_path = '' as $$
  select exists (select from auth.users u
                  where u.id::text = p_user_id and not coalesce(u.is_anonymous, false)
                    and u.raw_app_meta_data ->> 'reelforge_role' = 'operator')
$$;

-- Operator entry point: sets (or, with null values, clears) a user's overrides, or the defaults
-- with p_user_id null. Allowed to the service role and to operators (app_metadata.reelforge_role,
-- which only the server can write), by their token and by their stored user both: a token signed
-- before a demotion is valid until it expires, and must not keep the right.
create function public.set_usage_limits(p_user_id uuid, p_limits jsonb) returns public.usage_limits
language plpgsql security definer set search_path = '' as $$
declare
  row public.usage_limits;
  bad text;
  claims jsonb;
begin
  claims := nullif(current_setting('request.jwt.claims', true), '')::jsonb;
  -- No claims: a direct SQL session (psql, the SQL editor), not an API request through PostgREST.
  if (claims is null and session_user in ('authenticator', 'anon', 'authenticated'))
     or (claims is not null and coalesce(claims ->> 'role', '') <> 'service_role'
         and (coalesce(claims -> 'app_metadata' ->> 'reelforge_role', '') <> 'operator'
              or not engine.is_stored_operator(claims ->> 'sub'))) then
    raise exception 'only an operator may set usage limits' using errcode = '42501';
  end if;
  select string_agg(k, ', ') into bad from jsonb_object_keys(coalesce(p_limits, '{}')) k
   where k not in ('films_in_production', 'films_per_day', 'regenerations_per_day', 'cost_units_per_day', 'resumes_per_task');
  if bad is not null then
    raise exception 'unknown limit(s): %', bad using errcode = '22023';
  end if;
  insert into public.usage_limits as l (user_id, films_in_production, films_per_day, regenerations_per_day, cost_units_per_day, resumes_per_task)
  values (p_user_id, (p_limits ->> 'films_in_production')::int, (p_limits ->> 'films_per_day')::int,
          (p_limits ->> 'regenerations_per_day')::int, (p_limits ->> 'cost_units_per_day')::numeric,
          (p_limits ->> 'resumes_per_task')::int)
  on conflict on constraint usage_limits_one_row_per_user do update set
    films_in_production = case when p_limits ? 'films_in_production' then excluded.films_in_production else l.films_in_production end,
    films_per_day = case when p_limits ? 'films_per_day' then excluded.films_per_day else l.films_per_day end,
    regenerations_per_day = case when p_limits ? 'regenerations_per_day' then excluded.regenerations_per_day else l.regenerations_per_day end,
    cost_units_per_day = case when p_limits ? 'cost_units_per_day' then excluded.cost_units_per_day else l.cost_units_per_day end,
    resumes_per_task = case when p_limits ? 'resumes_per_task' then excluded.resumes_per_task else l.resumes_per_task end,
    updated_at = now()
  returning * into row;
  return row;
end $$;

grant execute on function public.my_usage() to authenticated, service_role;

grant execute on function public.set_usage_limits(uuid, jsonb) to authenticated, service_role;

-- Housekeeping the user never started (film.cancel_jobs cancels a cancelled film's paid jobs at
-- their providers, the cleanups remove files, render and local_media jobs serve the task that
-- asked for them): it ends or re-runs by itself, and its owner may neither resume nor cancel it.
create function engine.is_internal_kind(p_kind text) returns boolean
language sql immutable as $$
  select p_kind in ('film.cancel_jobs', 'asset.cleanup', 'storage.cleanup', 'render', 'local_media')
$$;

-- A film's scene tasks: the one kind of child task its owner may resume (once failed) or cancel.
create function engine.is_scene_kind(p_kind text) returns boolean
language sql immutable as $$
  select p_kind in ('film.chain', 'film.voices', 'film.mix')
$$;

-- The user's oldest open task of p_kind doing p_payload's work (its payload holds p_payload's),
-- other than p_except: what a scene or film regeneration's start (shared/film/scene-actions.ts)
-- and its resume (engine.resume_by_owner) refuse to run beside. The status arms are those of the
-- partial indexes (queued by kind and user, waiting, running leased or handed off), so it reads
-- open tasks only, never the user's history.
create function engine.open_task_of_same_work(p_user_id uuid, p_kind text, p_payload jsonb, p_except uuid default null)
returns uuid
language sql stable as $$
  select o.id from public.background_tasks o
   where o.user_id = p_user_id and o.kind = p_kind and o.payload @> p_payload
     and o.id is distinct from p_except
     and (o.status = 'queued' or o.status = 'waiting'
          or (o.status = 'running' and o.lease_expires_at is not null)
          or (o.status = 'running' and o.lease_expires_at is null))
   order by o.created_at
   limit 1
$$;

-- A film's work its owner started on its own and still open: a scene's clip, voices or mix, or
-- the film's assembly (generate-scene-video, generate-audio, assemble: shared/film/scene-actions.ts),
-- never the film's own pipeline's children. What a film's resume and an accept into it refuse to
-- run beside (engine.resume_by_owner; shared/film/film-movie.ts, lockIdleMovie, and
-- film-redo.ts): both would write the scene's rows, and each pay for work the other throws away.
-- A scene regenerated while its film was cancelled, then the film resumed, was paid for twice.
create function engine.open_film_work(p_user_id uuid, p_movie_id uuid, out kind text, out id uuid)
language sql stable as $$
  select o.kind, o.id from public.background_tasks o
   where o.user_id = p_user_id and o.parent_id is null
     and o.kind in ('film.chain', 'film.voices', 'film.mix', 'film.assemble')
     and o.payload @> jsonb_build_object('movieId', p_movie_id)
     and o.status in ('queued', 'running', 'waiting')
   limit 1
$$;

-- What an owner acts on only through the film, run or job it belongs to: housekeeping, or a
-- child task that is not a scene of a film.
create function engine.is_part_of_other_work(p_kind text, p_parent_id uuid) returns boolean
language sql immutable as $$
  select engine.is_internal_kind(p_kind) or (p_parent_id is not null and not engine.is_scene_kind(p_kind))
$$;

-- The owner's cancel: every function's `cancel` by task id (through TaskStore.cancelByOwner) and
-- the public.cancel_task RPC. Part of other work is RF015 task_not_cancellable: a film's
-- film.cancel_jobs cancelled would leave its paid provider jobs running. The engine's own cancels
-- (a parent's end, produce-movie's cancel of a film, reset_film, a rejected run) call
-- engine.cancel_task. False when the task had already ended, and for a film's task once the film
-- has: its finalize step commits the film `completed` before the task records its end, and a
-- cancel in between would leave a cancelled task behind a finished film. So a film's rows come
-- first, in the order its finalize takes them (progress, then movie): a cancel after the finalize
-- finds the film ended and changes nothing; one before it fences the finalize out.
create function engine.cancel_by_owner(p_task_id uuid) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  film_id uuid;
  film_status text;
begin
  -- Not locked: kind and parent never change, and engine.cancel_task locks the parent first.
  select * into t from public.background_tasks where id = p_task_id;
  -- The owner before the film's rows (engine.lock_owner).
  perform engine.lock_owner(t.user_id);
  if found and engine.is_part_of_other_work(t.kind, t.parent_id) then
    raise exception 'task % (%) is part of other work: cancel the film or run it belongs to', p_task_id, t.kind
      using errcode = 'RF015';
  end if;
  if t.kind = 'film.produce' then
    -- None when the film was started again since (asset_admin.reset_film): the old task alone.
    select m.id into film_id from public.movies m where m.task_id = p_task_id;
    perform from public.movie_creation_progress p where p.movie_id = film_id for update;
    select m.status into film_status from public.movies m where m.id = film_id and m.task_id = p_task_id for update;
    if film_status not in ('pending', 'processing') then
      return false;
    end if;
  end if;
  return engine.cancel_task(p_task_id, 'cancelled by owner');
end $$;

-- Resume is for what a user may restart, a bounded number of times (background_tasks.resumes), and
-- it counts against the usage limits. engine.resume_task is the engine's own transition; owners
-- go through engine.resume_by_owner: every function's `resume` (through TaskStore.resume) and the
-- public.resume_task RPC. Every refusal comes before anything is counted or charged.
-- RF003 task_active, RF004 / RF008 task_not_resumable, RF006 resume_limit_reached,
-- RF007 film_cancelled, RF009 quota, RF016 movie_in_production, RF017 regeneration_in_progress.
create function engine.resume_by_owner(p_task_id uuid) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  film public.movies;
  run_status text;
  take_state text;
  film_status text;
  same_work uuid;
  open_work record;
  max_resumes integer;
begin
  -- The owner first (engine.lock_owner).
  perform engine.lock_owner((select b.user_id from public.background_tasks b where b.id = p_task_id));
  select * into t from public.background_tasks where id = p_task_id for update;
  if not found then
    return null;
  end if;
  if engine.is_part_of_other_work(t.kind, t.parent_id) then
    raise exception 'task % (%) is part of other work: resume the film, run or job it belongs to', p_task_id, t.kind
      using errcode = 'RF008';
  end if;
  -- A film's own task (film.produce) or a scene/film task working on a film.
  select * into film from public.movies
   where task_id = t.id
      or (t.kind <> 'film.produce'
          and (id = case when t.payload ->> 'movieId' ~ '^[0-9a-fA-F-]{36}$' then (t.payload ->> 'movieId')::uuid end
               or task_id = t.parent_id))
   limit 1;
  -- A film's produce task is the one its row names: a script accept starts the film again with a
  -- new task (asset_admin.reset_film), and resuming the old one ran a second pipeline on it.
  if t.kind = 'film.produce' and film.id is null then
    raise exception 'task % no longer makes its film (it was started again): resume the film instead', p_task_id
      using errcode = 'RF008';
  end if;
  if t.kind <> 'film.produce' and film.status = 'cancelled' then
    raise exception 'film % was cancelled: resume the film, not one of its scenes', film.id using errcode = 'RF007';
  end if;
  if t.parent_id is not null then
    if t.status <> 'failed' then
      raise exception 'scene task % is %: only a failed scene task can be resumed', p_task_id, t.status using errcode = 'RF008';
    end if;
  end if;
  perform engine.assert_resumable(t);
  -- A regenerate task only makes its run's preview: once the run has ended (rejected, failed,
  -- cancelled with its task, dropped by a script regeneration) a resume would be paid for and do
  -- nothing.
  if t.kind = 'asset.regenerate' then
    select r.status into run_status from public.asset_runs r
     where r.id = asset_admin.run_id_of(t.payload);
    if run_status is distinct from 'running' then
      raise exception 'task % made asset run %, which is %: start a new run instead (its draft is kept on the run)',
        p_task_id, t.payload ->> 'runId', coalesce(run_status, 'gone') using errcode = 'RF008';
    end if;
  end if;
  -- An accepted take's apply puts that take into the film: once it is no longer its slot's current
  -- version (a newer take accepted since, or the film started again by a script regeneration), a
  -- resume would be counted and render the film again with nothing of the take in it.
  if t.kind = 'asset.apply' then
    select a.state into take_state from public.asset_runs r join public.assets a on a.id = r.preview_asset_id
     where r.id = asset_admin.run_id_of(t.payload);
    if take_state is distinct from 'current' then
      raise exception 'task % applies asset run %, whose take is %: accept a new take instead',
        p_task_id, t.payload ->> 'runId', coalesce(take_state, 'gone') using errcode = 'RF008';
    end if;
  end if;
  select coalesce(u.resumes_per_task, d.resumes_per_task) into max_resumes
    from public.usage_limits d left join public.usage_limits u on u.user_id = t.user_id
   where d.user_id is null;
  if t.resumes >= max_resumes then
    raise exception 'task % was resumed % times, the most allowed', p_task_id, t.resumes using errcode = 'RF006';
  end if;
  if t.kind = 'film.produce' then
    perform engine.admit_usage(t.user_id, 'film', 'resume', film.id);
  elsif engine.is_scene_kind(t.kind) or t.kind in ('film.assemble', 'asset.regenerate', 'asset.apply') then
    perform engine.admit_usage(t.user_id, 'regeneration', 'resume');
  end if;
  -- A scene or film regeneration resumed is that regeneration started again, so what its start
  -- refuses is refused here, under the locks its start takes in the same order (the user's, in
  -- admit_usage, then the film's row; shared/film/scene-actions.ts): a film in production, or the
  -- same work already open in another task (a start made after this one was cancelled). Resumed
  -- beside either, both chains paid for the same scene and wrote the same rows.
  -- An accepted take's apply (asset.apply: its remix, reassembly, cascade of new clips) resumed is
  -- that accept carried out again, so it meets what the accept met (shared/film/film-movie.ts,
  -- lockIdleMovie): the film out of production, and (below, as for the film's resume) no scene work
  -- of the owner's open on it.
  if t.parent_id is null and (engine.is_scene_kind(t.kind) or t.kind in ('film.assemble', 'asset.apply'))
     and film.id is not null then
    select m.status into film_status from public.movies m where m.id = film.id for no key update;
    if film_status in ('pending', 'processing') then
      raise exception 'Movie % is still in production; wait for it to end or cancel it', film.id
        using errcode = 'RF016';
    end if;
    same_work := engine.open_task_of_same_work(t.user_id, t.kind, t.payload, t.id);
    if same_work is not null then
      raise exception 'Movie % already has % task % open for the same work: follow it with status, or cancel it before resuming this one',
        film.id, t.kind, same_work using errcode = 'RF017';
    end if;
    -- Nor beside a take accepted into the film and still being applied, as its start
    -- (shared/film/film-movie.ts, assertNoTakeApplying).
    same_work := engine.open_task_of_same_work(t.user_id, 'asset.apply', jsonb_build_object('movieId', film.id), t.id);
    if same_work is not null then
      raise exception 'Movie % has an accepted take still being applied (task %): resume this once that ends',
        film.id, same_work using errcode = 'RF018';
    end if;
  end if;
  -- A film's rows, locked before anything changes: the progress row before the movie
  -- (shared/film/film-progress.ts, lockFilmProgress), both after the task and the user's usage
  -- lock, the order a cancel (engine.cancel_task, then public.movie_follows_its_task at its
  -- commit) and a script accept (admitUsage, then asset_admin.reset_film) take them. A script
  -- accept holding them is waited for, and the movie is read again under its lock: the film read
  -- above came from before that accept committed, and resuming the task it took the film from ran
  -- a second pipeline beside the new one.
  if t.kind = 'film.produce' then
    perform from public.movie_creation_progress where movie_id = film.id for update;
    perform from public.movies m where m.id = film.id and m.task_id = t.id for no key update;
    if not found then
      raise exception 'task % no longer makes its film (it was started again): resume the film instead', p_task_id
        using errcode = 'RF008';
    end if;
    -- An accepted take still being applied (its asset.apply: a remix, a reassembly, a cascade of
    -- new clips) writes the rows a resumed pipeline writes. Its accept took these two locks
    -- (shared/film/film-movie.ts, lockIdleMovie), so one committed before this is seen here.
    same_work := engine.open_task_of_same_work(t.user_id, 'asset.apply', jsonb_build_object('movieId', film.id));
    if same_work is not null then
      raise exception 'Movie % has an accepted take still being applied (task %): resume it once that ends',
        film.id, same_work using errcode = 'RF018';
    end if;
  end if;
  -- Neither a film nor an accepted take's apply beside a scene or the assembly its owner started on
  -- the film (while it was cancelled, or since the take was accepted), under the film's locks.
  if t.kind in ('film.produce', 'asset.apply') and film.id is not null then
    select w.kind, w.id into open_work from engine.open_film_work(t.user_id, film.id) w;
    if open_work.id is not null then
      raise exception 'Movie % has % task % open: resume this once it ends, or cancel it',
        film.id, open_work.kind, open_work.id using errcode = 'RF017';
    end if;
  end if;
  update public.background_tasks set resumes = resumes + 1 where id = p_task_id;
  t := engine.resume_task(p_task_id);
  -- The film is in production again in this transaction, so a parallel admission counts it, and
  -- its progress row says so with the movie (produce-movie's status reads both; a cancel committing
  -- between two transactions left them apart).
  if t.kind = 'film.produce' then
    update public.movies set status = 'processing', error_message = null
     where task_id = t.id and status in ('failed', 'cancelled');
    update public.movie_creation_progress set overall_status = 'running'
     where movie_id = film.id and overall_status in ('failed', 'cancelled');
  end if;
  return t;
end $$;

create function public.resume_task(task_id uuid) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
begin
  if not exists (select 1 from public.background_tasks
                  where id = task_id and user_id = auth.uid()) then
    raise exception 'task % not found', task_id using errcode = 'P0002';
  end if;
  return engine.resume_by_owner(task_id);
end $$;

grant execute on function public.resume_task(uuid) to authenticated;
