-- Assets that never go stale: every generated file is a versioned row of
-- public.assets in a *slot* (e.g. `scene:<id>:clip`, `line:<scene_audio id>:audio`,
-- `movie:<id>:cover`); at most one version per slot is current. The URL columns the pipeline
-- keeps on movies / movie_scenes / scene_audio / characters / location_images are not a second
-- source: every write to them is registered here by the triggers below (one writer path), and
-- regenerate-asset's accept writes them from the accepted asset in the same transaction.
-- Column names storage_bucket, storage_path, state, delete_after are read by orphan cleanup.

-- How long a superseded file keeps being served after a newer version became current.
create table asset_admin.settings (
  id boolean primary key default true,
  retention_seconds integer not null default 86400,
  constraint settings_one_row check (id),
  constraint settings_retention_positive check (retention_seconds >= 0)
);

insert into asset_admin.settings default values;

grant select, update on asset_admin.settings to service_role;

create table public.assets (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  movie_id uuid references public.movies (id) on delete cascade,
  slot text not null,
  kind text not null,
  version integer not null,
  state text not null,
  storage_bucket text,
  storage_path text,
  -- The URL clients fetch (for our bucket: the object's public URL; the path carries the version).
  public_url text,
  content_hash text,
  provider text,
  model text,
  params jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  current_at timestamptz,
  superseded_at timestamptz,
  -- A superseded (or dropped preview) file is deleted once this passes; deleted_at says it was.
  delete_after timestamptz,
  deleted_at timestamptz,
  -- Identical regenerate inputs cost nothing: every preview version records the hash of
  -- what it was made from (kind, prompt/text, provider, model, size, seed, voice settings ...), so
  -- the next run with the same inputs copies an existing file instead of calling the provider.
  -- Video and audio previews use the generated_videos / audio_cache key here too, so one hash finds
  -- a clip or a line in either place. Versions the pipeline registered through the URL triggers have
  -- none (their inputs live in the cache tables).
  inputs_hash text,
  constraint assets_kind_check check (kind in ('video', 'audio', 'image', 'music', 'script', 'cover')),
  constraint assets_state_check check (state in ('draft', 'preview', 'current', 'superseded')),
  constraint assets_version_positive check (version >= 1),
  constraint assets_one_row_per_version unique (slot, version),
  constraint assets_params_object check (jsonb_typeof(params) = 'object')
);

create unique index assets_one_current_per_slot on public.assets (slot) where state = 'current';

create index assets_movie_idx on public.assets (movie_id, slot);

create index assets_object_idx on public.assets (storage_bucket, storage_path);

create index assets_due_deletion_idx on public.assets (delete_after) where delete_after is not null and deleted_at is null;

comment on table public.assets is
  'One row per version of a generated file (or script) in a slot; state current marks the one in use, at most one per slot.';

comment on column public.assets.inputs_hash is
  'sha256 of the inputs a regenerate preview was made from; a later run with the same hash copies this file (if not deleted) instead of calling the provider.';

create table public.asset_runs (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  movie_id uuid not null references public.movies (id) on delete cascade,
  slot text not null,
  kind text not null,
  -- { movieId, sceneNumber?, lineIndex? } as the client sent it.
  target jsonb not null,
  -- prompt / text / voice / model / settings: kept through reject so the user can tweak and retry.
  draft jsonb not null default '{}'::jsonb,
  status text not null default 'running',
  -- The slot's current version when the run started: accepting after a newer accept is stale (409).
  base_version integer,
  preview_asset_id uuid references public.assets (id) on delete set null,
  task_id uuid,
  apply_task_id uuid,
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  decided_at timestamptz,
  constraint asset_runs_status_check check (status in ('running', 'preview', 'accepted', 'rejected', 'failed')),
  constraint asset_runs_kind_check check (kind in ('video', 'audio', 'image', 'music', 'script', 'cover')),
  constraint asset_runs_draft_object check (jsonb_typeof(draft) = 'object')
);

create index asset_runs_movie_idx on public.asset_runs (movie_id, created_at desc);

create index asset_runs_slot_idx on public.asset_runs (slot);

create trigger asset_runs_touch before update on public.asset_runs
  for each row execute function engine.touch_updated_at();

do $$
declare
  t text;
begin
  foreach t in array array['assets', 'asset_runs'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('create policy %I on public.%I for select to authenticated using (user_id = (select auth.uid()))', t || '_owner_select', t);
    execute format('revoke all on public.%I from anon, authenticated', t);
    execute format('grant select on public.%I to authenticated', t);
    execute format('grant all on public.%I to service_role', t);
  end loop;
end $$;

-- A regenerate run follows its task: when the task is cancelled — by its owner, with a parent, by
-- any path — a run still `running` ends `failed` with the cancel's reason in the same transaction,
-- rather than stay running with nothing left to make its preview (engine.after_terminal notes the
-- end in engine.watched_ends; this runs on the note at commit, as public.movie_follows_its_task
-- does for a film, and in the same lock order: the task, then the run). A task that fails for good
-- leaves its run running: its owner may resume it (engine.resume_by_owner, which refuses the task
-- of a run that has ended).
-- The asset run a regenerate task makes (its payload's runId), null when the payload names none.
create function asset_admin.run_id_of(p_payload jsonb) returns uuid
language sql immutable as $$
  select case
    when p_payload ->> 'runId' ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
    then (p_payload ->> 'runId')::uuid
  end
$$;

create function asset_admin.run_follows_its_task() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
begin
  delete from engine.watched_ends where task_id = new.task_id;
  select * into t from public.background_tasks where id = new.task_id;
  if t.kind is distinct from 'asset.regenerate' or t.status <> 'cancelled' then
    return null;
  end if;
  update public.asset_runs
     set status = 'failed', error = coalesce(t.last_error ->> 'message', 'cancelled')
   where id = asset_admin.run_id_of(t.payload) and task_id = t.id and status = 'running';
  return null;
end $$;

create constraint trigger watched_ends_asset_run
  after insert on engine.watched_ends
  deferrable initially deferred
  for each row
  execute function asset_admin.run_follows_its_task();

insert into engine.end_watchers (kind) values ('asset.regenerate');

-- Storage object of one of our public URLs (`.../storage/v1/object/public/<bucket>/<path>`).
create function asset_admin.object_of(p_url text, out bucket text, out path text)
language sql immutable as $$
  select m[1], m[2] from (select regexp_match(p_url, '/storage/v1/object/public/([^/?]+)/([^?#]+)') as m) x
$$;

/**
 * Makes p_url the slot's current version (the single path every URL column write goes through).
 * Same object as the current version: nothing to do (accept already flipped it). A null URL
 * supersedes the current version (a failed scene has no video).
 */
create function asset_admin.record_url(p_user uuid, p_movie uuid, p_slot text, p_kind text, p_url text, p_params jsonb default '{}')
returns void language plpgsql as $$
declare
  v_obj record;
  v_current public.assets%rowtype;
  v_retention integer;
begin
  perform pg_advisory_xact_lock(hashtextextended('asset-slot:' || p_slot, 0));
  select * into v_current from public.assets where slot = p_slot and state = 'current';
  if p_url is not null and v_current.id is not null and v_current.public_url = p_url then
    return;
  end if;
  select retention_seconds into v_retention from asset_admin.settings;
  update public.assets
     set state = 'superseded', superseded_at = now(), delete_after = now() + make_interval(secs => v_retention)
   where id = v_current.id;
  if p_url is null then
    return;
  end if;
  select * into v_obj from asset_admin.object_of(p_url);
  insert into public.assets (user_id, movie_id, slot, kind, version, state, storage_bucket, storage_path, public_url, params, current_at)
  values (p_user, p_movie, p_slot, p_kind,
          coalesce((select max(version) from public.assets where slot = p_slot), 0) + 1,
          'current', v_obj.bucket, v_obj.path, p_url, p_params, now());
end $$;

create function asset_admin.movies_changed() returns trigger language plpgsql as $$
begin
  if new.video_url is distinct from (case when tg_op = 'UPDATE' then old.video_url end) then
    perform asset_admin.record_url(new.user_id, new.id, 'movie:' || new.id || ':video', 'video', new.video_url);
  end if;
  if new.poster_url is distinct from (case when tg_op = 'UPDATE' then old.poster_url end) then
    perform asset_admin.record_url(new.user_id, new.id, 'movie:' || new.id || ':cover', 'cover', new.poster_url);
  end if;
  if (new.metadata ->> 'music_url') is distinct from (case when tg_op = 'UPDATE' then old.metadata ->> 'music_url' end) then
    perform asset_admin.record_url(new.user_id, new.id, 'movie:' || new.id || ':music', 'music', new.metadata ->> 'music_url');
  end if;
  return null;
end $$;

create trigger movies_assets after insert or update of video_url, poster_url, metadata on public.movies
  for each row execute function asset_admin.movies_changed();

create function asset_admin.movie_scenes_changed() returns trigger language plpgsql as $$
begin
  if new.clip_url is distinct from (case when tg_op = 'UPDATE' then old.clip_url end) then
    perform asset_admin.record_url(new.user_id, new.movie_id, 'scene:' || new.id || ':clip', 'video', new.clip_url);
  end if;
  if new.video_url is distinct from (case when tg_op = 'UPDATE' then old.video_url end) then
    perform asset_admin.record_url(new.user_id, new.movie_id, 'scene:' || new.id || ':video', 'video', new.video_url);
  end if;
  if new.end_frame_url is distinct from (case when tg_op = 'UPDATE' then old.end_frame_url end) then
    perform asset_admin.record_url(new.user_id, new.movie_id, 'scene:' || new.id || ':end_frame', 'image', new.end_frame_url);
  end if;
  return null;
end $$;

create trigger movie_scenes_assets after insert or update of clip_url, video_url, end_frame_url on public.movie_scenes
  for each row execute function asset_admin.movie_scenes_changed();

create function asset_admin.scene_audio_changed() returns trigger language plpgsql as $$
begin
  if new.audio_url is distinct from (case when tg_op = 'UPDATE' then old.audio_url end) then
    perform asset_admin.record_url(new.user_id, new.movie_id, 'line:' || new.id || ':audio', 'audio', new.audio_url);
  end if;
  return null;
end $$;

create trigger scene_audio_assets after insert or update of audio_url on public.scene_audio
  for each row execute function asset_admin.scene_audio_changed();

create function asset_admin.library_image_changed() returns trigger language plpgsql as $$
begin
  if tg_table_name = 'characters' then
    if new.character_image_url is distinct from (case when tg_op = 'UPDATE' then old.character_image_url end) then
      perform asset_admin.record_url(new.user_id, null, 'character:' || new.id || ':image', 'image', new.character_image_url);
    end if;
  elsif new.image_url is distinct from (case when tg_op = 'UPDATE' then old.image_url end) then
    perform asset_admin.record_url(new.user_id, null, 'location_image:' || new.id || ':image', 'image', new.image_url);
  end if;
  return null;
end $$;

create trigger characters_assets after insert or update of character_image_url on public.characters
  for each row execute function asset_admin.library_image_changed();

create trigger location_images_assets after insert or update of image_url on public.location_images
  for each row execute function asset_admin.library_image_changed();

-- Rows deleted with their scene or line: their files are no longer referenced after retention.
create function asset_admin.owner_row_deleted() returns trigger language plpgsql as $$
declare
  v_prefix text := case tg_table_name when 'movie_scenes' then 'scene:' else 'line:' end || old.id || ':';
begin
  update public.assets
     set state = 'superseded', superseded_at = now(),
         delete_after = now() + make_interval(secs => (select retention_seconds from asset_admin.settings))
   where slot like v_prefix || '%' and state in ('current', 'preview', 'draft');
  return null;
end $$;

create trigger movie_scenes_assets_deleted after delete on public.movie_scenes
  for each row execute function asset_admin.owner_row_deleted();

create trigger scene_audio_assets_deleted after delete on public.scene_audio
  for each row execute function asset_admin.owner_row_deleted();

/**
 * Accept (regenerate-asset): in one transaction, under the slot's lock, the run's preview becomes
 * current and the old current superseded (deleted after the retention). Refused when the run is
 * not a preview (asset_run_not_preview), its preview was dropped meanwhile (its film reset), or
 * the slot moved past the run's base version (asset_run_stale: a newer accept won). Returns the
 * accepted asset.
 */
create function asset_admin.accept_run(p_run uuid, p_user uuid) returns public.assets
language plpgsql as $$
declare
  v_run public.asset_runs%rowtype;
  v_current integer;
  v_asset public.assets%rowtype;
  v_retention integer;
begin
  select * into v_run from public.asset_runs where id = p_run and user_id = p_user;
  if v_run.id is null then
    raise exception 'asset run % not found', p_run using errcode = 'RF010';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('asset-slot:' || v_run.slot, 0));
  select * into v_run from public.asset_runs where id = p_run for update;
  if v_run.status <> 'preview' then
    raise exception 'asset run % is %, not a preview', p_run, v_run.status using errcode = 'RF011';
  end if;
  select version into v_current from public.assets where slot = v_run.slot and state = 'current';
  if v_current is distinct from v_run.base_version then
    raise exception 'asset run % is stale: % is at version %, the run started from %', p_run, v_run.slot, v_current, v_run.base_version
      using errcode = 'RF012';
  end if;
  select retention_seconds into v_retention from asset_admin.settings;
  update public.assets set state = 'superseded', superseded_at = now(), delete_after = now() + make_interval(secs => v_retention)
   where slot = v_run.slot and state = 'current';
  update public.assets set state = 'current', current_at = now()
   where id = v_run.preview_asset_id and state = 'preview'
  returning * into v_asset;
  if v_asset.id is null then
    raise exception 'asset run %: its preview was dropped', p_run using errcode = 'RF013';
  end if;
  update public.asset_runs set status = 'accepted', decided_at = now() where id = p_run;
  return v_asset;
end $$;

-- Read side: a film, its scenes and lines with the current asset URLs (cache-busted by version
-- and hash), owner-only through the tables' RLS (security_invoker).
create function public.asset_url(p_asset public.assets) returns text language sql stable as $$
  select case when p_asset.public_url is null then null
    else p_asset.public_url || case when p_asset.public_url like '%?%' then '&' else '?' end
         || 'v=' || p_asset.version || coalesce('-' || left(p_asset.content_hash, 12), '') end
$$;

-- film_with_assets runs as its caller (security_invoker), so its readers call this too.
grant execute on function public.asset_url(public.assets) to authenticated;

create view public.film_with_assets with (security_invoker = true) as
select m.id, m.user_id, m.title, m.status, m.progress, m.created_at, m.updated_at,
       (select public.asset_url(a) from public.assets a where a.slot = 'movie:' || m.id || ':video' and a.state = 'current') as video_url,
       (select public.asset_url(a) from public.assets a where a.slot = 'movie:' || m.id || ':cover' and a.state = 'current') as cover_url,
       (select public.asset_url(a) from public.assets a where a.slot = 'movie:' || m.id || ':music' and a.state = 'current') as music_url,
       (select jsonb_object_agg(a.slot, jsonb_build_object('version', a.version, 'kind', a.kind))
          from public.assets a where a.movie_id = m.id and a.state = 'current') as asset_versions,
       coalesce((
         select jsonb_agg(jsonb_build_object(
           'id', s.id, 'sceneNumber', s.scene_number, 'status', s.status, 'audioStatus', s.audio_status, 'mixStatus', s.mix_status,
           'videoUrl', (select public.asset_url(a) from public.assets a where a.slot = 'scene:' || s.id || ':video' and a.state = 'current'),
           'clipUrl', (select public.asset_url(a) from public.assets a where a.slot = 'scene:' || s.id || ':clip' and a.state = 'current'),
           'lines', coalesce((
             select jsonb_agg(jsonb_build_object(
               'id', l.id, 'lineIndex', l.line_index, 'character', l.character_name, 'text', l.text, 'status', l.status,
               'audioUrl', (select public.asset_url(a) from public.assets a where a.slot = 'line:' || l.id || ':audio' and a.state = 'current'))
               order by l.line_index)
               from public.scene_audio l where l.scene_id = s.id), '[]'::jsonb))
           order by s.scene_number)
           from public.movie_scenes s where s.movie_id = m.id), '[]'::jsonb) as scenes
  from public.movies m;

revoke all on public.film_with_assets from anon, authenticated;

grant select on public.film_with_assets to authenticated, service_role;

-- Clients hear of a new version: assets and runs join Realtime where it exists (hosted).
do $$
begin
  if exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    execute 'alter publication supabase_realtime add table public.assets, public.asset_runs';
  end if;
end $$;

-- Full-script regeneration: everything the script shapes is reset in one
-- transaction — scenes and their lines (audio), clips and videos, the final video, the cover, the
-- script, visual bible and plan, statuses back to pending — and the pipeline restarts with a new
-- film.produce task enqueued in the same transaction. A kill before commit leaves the old film
-- whole; after it, the new state and its task. Superseded files are deleted after the retention.
create function asset_admin.reset_film(p_movie uuid, p_user uuid, p_prompt text, p_steps jsonb, p_idempotency_key text)
returns uuid language plpgsql as $$
declare
  v_movie public.movies%rowtype;
  v_task uuid;
  v_retention integer;
  v_run_tasks uuid[];
  v_stopped integer;
begin
  -- The progress row before the movie, the order every film transaction takes them
  -- (shared/film/film-progress.ts, lockFilmProgress): the film's steps may still be running.
  perform from public.movie_creation_progress where movie_id = p_movie and user_id = p_user for update;
  select * into v_movie from public.movies where id = p_movie and user_id = p_user for update;
  if v_movie.id is null then
    raise exception 'movie % not found', p_movie using errcode = 'RF014';
  end if;
  select retention_seconds into v_retention from asset_admin.settings;
  -- Lines go with their scenes (cascade); their delete triggers supersede their assets.
  delete from public.movie_scenes where movie_id = p_movie;
  delete from public.scripts where movie_id = p_movie;
  delete from public.visual_bibles where movie_id = p_movie;
  update public.movies
     set prompt = coalesce(p_prompt, prompt), status = 'pending', progress = 0, video_url = null, poster_url = null,
         thumbnail_url = null, error_message = null, completed_at = null, metadata = '{}'::jsonb
   where id = p_movie;
  -- The script just accepted stays current: the new film is made from it. Its sibling previews go
  -- like every other preview of the old film, so none is left looking acceptable.
  update public.assets
     set state = 'superseded', superseded_at = now(), delete_after = now() + make_interval(secs => v_retention)
   where movie_id = p_movie and state in ('current', 'preview', 'draft') and not (kind = 'script' and state = 'current');
  -- Open runs on the old film can no longer be accepted, and the tasks still making their previews
  -- stop here: a preview made now would be paid for and dropped.
  with dropped as (
    update public.asset_runs set status = 'failed', error = 'the film was reset by a script regeneration'
     where movie_id = p_movie and status in ('running', 'preview')
    returning task_id
  )
  select coalesce(array_agg(task_id) filter (where task_id is not null), '{}') into v_run_tasks from dropped;
  select count(*) filter (where engine.cancel_task(run_task, 'the film was reset by a script regeneration'))
    into v_stopped from unnest(v_run_tasks) as run_task;
  update public.movie_creation_progress
     set overall_status = 'pending', overall_progress = 0, current_step = null, current_step_detail = null, steps = p_steps
   where movie_id = p_movie;
  -- One pipeline per film: the one still running (a script accepted mid-production) stops here,
  -- its open children with it and its workers fenced out, and so does every other piece of work
  -- still open on the old film (a regeneration's apply, a scene's or the film's regeneration),
  -- which would write into the rows just deleted or remix and reassemble the film the new
  -- pipeline is making. The film follows its new task only (movies.task_id, below), so these ends
  -- do not touch it. Housekeeping (engine.is_internal_kind) goes on: film.cancel_jobs, below,
  -- cancels the stopped tasks' jobs at their providers.
  select v_stopped + count(*) filter (
           where engine.cancel_task(w.id, 'the film was started again by a script regeneration'))
    into v_stopped
    from public.background_tasks w
   where w.user_id = p_user and w.parent_id is null and not engine.is_terminal(w.status)
     and not engine.is_internal_kind(w.kind)
     and (w.id = v_movie.task_id or w.payload ->> 'movieId' = p_movie::text);
  select id into v_task from engine.enqueue_task(
    p_user_id => p_user, p_kind => 'film.produce', p_function => 'produce-movie',
    p_payload => jsonb_build_object('movieId', p_movie), p_idempotency_key => p_idempotency_key, p_max_attempts => 5);
  update public.movies set task_id = v_task where id = p_movie;
  -- The jobs the stopped tasks had paid for and not finished are cancelled at their providers, as
  -- a film's cancel has them cancelled (public.movie_follows_its_task, which finds no film for the
  -- old task now): one film.cancel_jobs per reset, keyed by the film's new task.
  if v_stopped > 0 then
    perform public.enqueue_film_cancel_jobs(p_user, p_movie, format('reset:%s', v_task));
  end if;
  return v_task;
end $$;

create index assets_inputs_idx on public.assets (user_id, kind, inputs_hash) where inputs_hash is not null;

