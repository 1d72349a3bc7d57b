-- The film pipeline: the tables users know by these names — movies,
-- scripts, visual_bibles, characters, locations_library, location_images, movie_scenes,
-- scene_audio, movie_creation_progress — plus movie_step_metrics (time, provider, model and cost
-- of every step and paid call). Functions write with the service role; owners only read their
-- own rows (RLS), live through Realtime where the publication exists.
create table public.movies (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  title text not null,
  prompt text not null,
  genre text not null,
  duration_minutes numeric(5, 2) not null,
  orientation text not null default 'landscape',
  status text not null default 'pending',
  progress integer not null default 0,
  -- The produce-movie task driving this film (background_tasks.id); null before it is enqueued.
  task_id uuid,
  video_url text,
  poster_url text,
  thumbnail_url text,
  -- screenplay_detailed, production_plan, failed_scenes, warnings (in the movie row itself).
  metadata jsonb not null default '{}'::jsonb,
  error_message text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint movies_orientation_check check (orientation in ('landscape', 'portrait')),
  constraint movies_status_check check (status in ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  constraint movies_progress_range check (progress between 0 and 100),
  constraint movies_duration_range check (duration_minutes > 0 and duration_minutes <= 30),
  constraint movies_title_length check (char_length(title) between 1 and 200),
  constraint movies_metadata_object check (jsonb_typeof(metadata) = 'object')
);

create index movies_user_idx on public.movies (user_id, created_at desc);

create index movies_task_idx on public.movies (task_id);

-- The screenplay in its "legacy" shape: one row per movie.
create table public.scripts (
  id uuid primary key default gen_random_uuid(),
  movie_id uuid not null references public.movies (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  title text not null,
  content jsonb not null,
  created_at timestamptz not null default now(),
  constraint scripts_one_per_movie unique (movie_id)
);

create table public.visual_bibles (
  id uuid primary key default gen_random_uuid(),
  movie_id uuid not null references public.movies (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  visual_style text not null,
  color_palette jsonb not null,
  camera_style text not null,
  lighting text not null,
  emotional_tone text not null,
  cinematic_references jsonb not null,
  created_at timestamptz not null default now(),
  constraint visual_bibles_one_per_movie unique (movie_id)
);

-- A user's cast library: found by name before one is created (the assign_characters step).
create table public.characters (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  name text not null,
  name_key text generated always as (lower(btrim(name))) stored,
  role text,
  description text not null,
  voice_description text,
  voice_id text not null,
  character_image_url text,
  created_by_movie_id uuid references public.movies (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint characters_one_per_name unique (user_id, name_key)
);

create table public.locations_library (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  location_slug text not null,
  name text not null,
  description text not null,
  needs_web_search boolean not null default false,
  created_by_movie_id uuid references public.movies (id) on delete set null,
  created_at timestamptz not null default now(),
  constraint locations_library_one_per_slug unique (user_id, location_slug)
);

-- Reference images per place, time of day and weather, reused across scenes and films.
create table public.location_images (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  location_id uuid references public.locations_library (id) on delete set null,
  location_name text not null,
  location_slug text not null,
  time_of_day text not null,
  weather text not null,
  image_url text not null,
  generation_prompt text,
  times_used integer not null default 0,
  created_by_movie_id uuid references public.movies (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint location_images_one_per_variant unique (user_id, location_slug, time_of_day, weather),
  constraint location_images_times_used_positive check (times_used >= 0)
);

create table public.movie_scenes (
  id uuid primary key default gen_random_uuid(),
  movie_id uuid not null references public.movies (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  scene_number integer not null,
  scene_id text not null,
  location_name text not null,
  location_slug text not null,
  time_of_day text not null,
  weather text not null,
  is_continuation boolean not null default false,
  continues_from integer,
  duration_seconds numeric(6, 2) not null,
  -- Video generation (step 4, generate_videos).
  status text not null default 'pending',
  error_message text,
  video_prompt text,
  reference_image_url text,
  reference_image_source text,
  location_image_id uuid references public.location_images (id) on delete set null,
  -- The generated clip as copied into Storage; video_url moves to the mixed file once it exists.
  clip_url text,
  video_url text,
  end_frame_url text,
  -- Voices and the mix (step 5, generate_audio), each its own half of "clip and voices exist".
  audio_status text not null default 'pending',
  audio_error text,
  mix_status text not null default 'pending',
  mix_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  -- Lip sync: when the owner configured a lipsync provider, film.mix sends the clip and a track of
  -- the scene's dialogue to it and video_url moves to the synced file, whose sound is that
  -- dialogue; assembly must then not place the scene's lines again. The scene counts as
  -- lip-synced only while video_url is this file: a regenerated clip or a later plain mix moves
  -- video_url and so ends it, with no reset.
  lipsync_url text,
  -- Why the last lip sync of this scene did not happen (the scene then keeps the plain mix).
  lipsync_error text,
  constraint movie_scenes_one_per_number unique (movie_id, scene_number),
  constraint movie_scenes_status_check check (status in ('pending', 'generating', 'completed', 'failed')),
  constraint movie_scenes_audio_status_check check (audio_status in ('pending', 'generating', 'completed', 'failed', 'skipped')),
  constraint movie_scenes_mix_status_check check (mix_status in ('pending', 'running', 'completed', 'failed', 'skipped')),
  constraint movie_scenes_reference_source_check
    check (reference_image_source is null or reference_image_source in ('library', 'generated', 'previous_frame')),
  -- Seed: a failed scene never keeps a URL.
  constraint movie_scenes_failed_without_video check (status <> 'failed' or video_url is null),
  constraint movie_scenes_continues_earlier check (continues_from is null or continues_from < scene_number)
);

-- One row per dialogue line.
create table public.scene_audio (
  id uuid primary key default gen_random_uuid(),
  movie_id uuid not null references public.movies (id) on delete cascade,
  scene_id uuid not null references public.movie_scenes (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  scene_number integer not null,
  line_index integer not null,
  character_name text not null,
  character_id uuid references public.characters (id) on delete set null,
  text text not null,
  emotion text,
  voice_id text not null,
  -- Seconds from the scene's start (screenplay timing).
  start_seconds numeric(8, 3) not null default 0,
  status text not null default 'pending',
  error_message text,
  audio_url text,
  -- ElevenLabs request-id, kept to stitch a regenerated line to its neighbours.
  request_id text,
  alignment jsonb,
  duration_seconds numeric(8, 3),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint scene_audio_one_per_line unique (scene_id, line_index),
  constraint scene_audio_status_check check (status in ('pending', 'completed', 'failed'))
);

create index scene_audio_movie_idx on public.scene_audio (movie_id, scene_number, line_index);

create table public.movie_creation_progress (
  movie_id uuid primary key references public.movies (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  overall_status text not null default 'pending',
  overall_progress integer not null default 0,
  current_step text,
  current_step_detail text,
  -- { <step>: { status, progress, detail, started_at, finished_at } } for the pipeline's 11 steps.
  steps jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint movie_creation_progress_status_check
    check (overall_status in ('pending', 'running', 'completed', 'failed', 'cancelled')),
  constraint movie_creation_progress_range check (overall_progress between 0 and 100)
);

-- Time, provider, model and cost units of every step and paid call. A paid call's row is written
-- as 'intent' before submitting, so a kill between submit and record is visible here.
create table public.movie_step_metrics (
  id uuid primary key default gen_random_uuid(),
  movie_id uuid not null references public.movies (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  step text not null,
  scene_number integer,
  -- The engine step it belongs to: background_tasks.id + background_task_steps.name. A job given
  -- up and submitted again (cancelled with its film, then resumed; or sent to a provider the owner
  -- replaced meanwhile) keeps its row, renamed '<step name>#<its job id>', so the new job gets the
  -- step's own row and both count in the cap.
  task_id uuid not null,
  step_name text not null,
  provider text,
  model text,
  phase text not null default 'intent',
  external_id text,
  cost_units numeric(12, 3),
  cost_unit text,
  error_message text,
  started_at timestamptz not null default now(),
  submitted_at timestamptz,
  finished_at timestamptz,
  -- Who paid for a metered call: 'project' (a project-default provider, counted against the user's
  -- cost units), 'user' (the user's own registered provider and key) or 'free' (our own machines).
  -- What the call's adapter says (film-metrics.ts: the provider row it was built from); a row
  -- written without it is classified from the owner's registry (engine.classify_metric_billing).
  billed_to text not null,
  constraint movie_step_metrics_one_per_step unique (task_id, step_name),
  constraint movie_step_metrics_phase_check check (phase in ('intent', 'submitted', 'succeeded', 'failed', 'cancelled')),
  constraint movie_step_metrics_billed_to_check check (billed_to in ('project', 'user', 'free'))
);

create index movie_step_metrics_movie_idx on public.movie_step_metrics (movie_id, step);

-- RLS: owners read their own rows; every write is a function's (service role / table owner).
do $$
declare
  t text;
begin
  foreach t in array array['movies', 'scripts', 'visual_bibles', 'characters', 'locations_library',
    'location_images', 'movie_scenes', 'scene_audio', 'movie_creation_progress', 'movie_step_metrics']
  loop
    execute format('alter table public.%I enable row level security', t);
    execute format('create policy %I on public.%I for select to authenticated using (user_id = (select auth.uid()))',
      t || '_owner_select', t);
    execute format('revoke all on public.%I from anon, authenticated', t);
    execute format('grant select on public.%I to authenticated', t);
    execute format('grant all on public.%I to service_role', t);
  end loop;
end $$;

create trigger movies_touch before update on public.movies
  for each row execute function engine.touch_updated_at();

create trigger movie_scenes_touch before update on public.movie_scenes
  for each row execute function engine.touch_updated_at();

create trigger scene_audio_touch before update on public.scene_audio
  for each row execute function engine.touch_updated_at();

create trigger movie_creation_progress_touch before update on public.movie_creation_progress
  for each row execute function engine.touch_updated_at();

create trigger location_images_touch before update on public.location_images
  for each row execute function engine.touch_updated_at();

create trigger characters_touch before update on public.characters
  for each row execute function engine.touch_updated_at();

-- Live progress for the owner where Realtime exists (hosted).
do $$
begin
  if exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    execute 'alter publication supabase_realtime add table public.movies, public.movie_scenes, public.movie_creation_progress';
  end if;
end $$;

comment on column public.movie_scenes.lipsync_url is
  'Lip-synced clip in Storage; the scene is lip-synced while video_url = lipsync_url (its sound is the dialogue).';

-- Has the provider jobs a film's stopped tasks paid for and left open cancelled at their providers
-- (shared/film/cancel-jobs.ts): one film.cancel_jobs per film and cause, p_cause naming what
-- stopped them (a cancel: its task and fencing token, so a film cancelled again after a resume
-- gets another; a reset: the film's new task). Called in the stopping transaction by the film's
-- end followers below and by asset_admin.reset_film.
create function public.enqueue_film_cancel_jobs(p_user_id uuid, p_movie_id uuid, p_cause text) returns void
language plpgsql security definer set search_path = '' as $$
begin
  perform engine.enqueue_task(
    p_user_id => p_user_id, p_kind => 'film.cancel_jobs', p_function => 'produce-movie',
    p_payload => jsonb_build_object('movieId', p_movie_id),
    p_idempotency_key => format('cancel-jobs:%s:%s', p_movie_id, p_cause), p_max_attempts => 3);
end $$;

-- A film whose produce-movie task ends failed or cancelled — by any path: a step's error after
-- the fan-out, max attempts, worker_lost, a cancel — leaves `processing` at once. The task row is
-- the truth; the movie follows it in the same transaction. Every engine function that ends a task
-- notes a produce task's end in engine.watched_ends (engine.after_terminal); this runs on that
-- note, at commit, and reads the task as the transaction leaves it. A film cancelled by any path
-- (produce-movie's cancel, any function's cancel by task id, the public.cancel_task RPC) also gets
-- its film.cancel_jobs here, once per cancel: the jobs it already paid for and still running are
-- cancelled at their providers (shared/film/cancel-jobs.ts).
create function public.movie_follows_its_task() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  reason text;
  film_id uuid;
begin
  delete from engine.watched_ends where task_id = new.task_id;
  select * into t from public.background_tasks where id = new.task_id;
  if t.kind is distinct from 'film.produce' or t.status not in ('failed', 'cancelled') then
    return null;
  end if;
  reason := coalesce(t.last_error ->> 'message', t.status);
  -- The film this task makes: none when it was started again (asset_admin.reset_film).
  select m.id into film_id from public.movies m where m.task_id = t.id;
  -- The progress row before the movie, the order a step's progress update takes them
  -- (shared/film/film-progress.ts, updateStep): the other order could deadlock with it.
  perform from public.movie_creation_progress p where p.movie_id = film_id for update;
  update public.movies
     set status = t.status, error_message = coalesce(error_message, reason)
   where id = film_id and status in ('pending', 'processing');
  if found then
    update public.movie_creation_progress
       set overall_status = t.status, current_step = t.status, current_step_detail = reason
     where movie_id = film_id;
    if t.status = 'cancelled' then
      perform public.enqueue_film_cancel_jobs(t.user_id, film_id, format('%s:%s', t.id, t.fencing_token));
    end if;
  end if;
  return null;
end $$;

-- At commit, not during the task's update: cancelling a film locks its produce task, then its
-- children (after_terminal), and only then the film's rows, after the whole cascade. A child's
-- step writes the film's rows (progress, metadata) and locks its own task row last
-- (engine.complete_step): with the film's rows locked earlier in the cascade, a cancel and such a
-- step would deadlock every time they met. As it is they still can, when the step has written the
-- film's rows before the cancel reaches its task: Postgres aborts one and it runs again (the
-- cancel action retries its transaction, the step's slice its step). A step cannot take its task
-- row first instead: it would hold the row for as long as its work inside the transaction takes
-- (a provider's call, a local voice job it waits for), and the task's other steps running beside
-- it, its cancel and its children's ends (each locks the parent first) would queue behind it;
-- tried, the suite's film tests stalled.
create constraint trigger watched_ends_film
  after insert on engine.watched_ends
  deferrable initially deferred
  for each row
  execute function public.movie_follows_its_task();

insert into engine.end_watchers (kind) values ('film.produce');

-- A film's task that ended failed or cancelled, by any path, leaves none of its own work reading
-- as still going:
-- - its metrics rows still 'intent' whose submission the engine never recorded (the provider
--   refused it, the call failed every attempt, the slice was fenced out before paying) close with
--   the task's reason: 'failed', or 'cancelled' with the task. A status call counted them in
--   flight for ever. A resume that runs the step again reopens its row (film-metrics.ts,
--   recordIntent). A job the engine did record is film.cancel_jobs' to close, or a resume's to poll.
-- - a scene whose film.mix task so ended before its verdict (mix_status still 'pending' or
--   'running') gets mix_status 'failed' and the reason (a mix run again later says its own verdict).
-- - a cancelled regenerate (its run cancelled or rejected by its owner) whose job is still open at
--   its provider gets a film.cancel_jobs of its own, as a cancelled film does: the job is
--   cancelled there and its row closed, instead of running on, paid for, and counted in flight.
-- At commit, on the note engine.after_terminal leaves, as public.movie_follows_its_task.
create function public.film_work_follows_its_task() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  reason text;
begin
  delete from engine.watched_ends where task_id = new.task_id;
  select * into t from public.background_tasks where id = new.task_id;
  if t.status is distinct from 'failed' and t.status is distinct from 'cancelled' then
    return null;
  end if;
  reason := coalesce(t.last_error ->> 'message', t.status);
  update public.movie_step_metrics m
     set phase = case when t.status = 'cancelled' then 'cancelled' else 'failed' end,
         error_message = 'not submitted: ' || reason, finished_at = now()
   where m.task_id = t.id and m.phase = 'intent' and m.finished_at is null
     and not exists (select from public.background_task_steps s
                      where s.task_id = m.task_id and s.name = m.step_name and s.external_id is not null);
  if t.kind = 'asset.regenerate' and t.status = 'cancelled' then
    -- Once per cancel, as a film's.
    perform public.enqueue_film_cancel_jobs(t.user_id, m.movie_id, format('%s:%s', t.id, t.fencing_token))
       from (select distinct movie_id from public.movie_step_metrics
              where task_id = t.id and finished_at is null) m;
  end if;
  if t.kind = 'film.mix' then
    update public.movie_scenes
       set mix_status = 'failed', mix_error = reason
     where movie_id = (t.payload ->> 'movieId')::uuid and scene_number = (t.payload ->> 'sceneNumber')::integer
       and mix_status in ('pending', 'running');
  end if;
  return null;
end $$;

create constraint trigger watched_ends_film_work
  after insert on engine.watched_ends
  deferrable initially deferred
  for each row
  execute function public.film_work_follows_its_task();

-- Every film kind whose steps record metrics or own a scene's state (asset.regenerate, which
-- records its previews' metrics, is watched by the assets migration).
insert into engine.end_watchers (kind)
values ('film.music'), ('film.chain'), ('film.location_image'), ('film.voices'), ('film.mix');

