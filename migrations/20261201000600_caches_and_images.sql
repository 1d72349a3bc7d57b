-- Content-hash caches (audio_cache, generated_videos, content_cache), one
-- row per generated image (generated_images, with the legacy JSONB shape it replaced on
-- image_requests.generated_output), and storage_cleanup_log for the orphan sweep.
--
-- Caches are per user, shared across that user's films. Not project-wide: every entry was paid
-- with the owner's own provider account (users register their providers), a cross-user hit would
-- hand one user's paid output to another, and hit/miss timing would reveal what others asked for.
-- Hashes are computed by the functions (sha256 of the canonical JSON of the inputs); the inputs
-- are kept beside them so a row explains itself. Bytes live in Storage; rows keep bucket + path so
-- the orphan sweep can tell a cached object from an orphan.
create table public.audio_cache (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  -- sha256(text, voice, provider/model, settings)
  content_hash text not null,
  text text not null,
  voice_id text not null,
  provider text not null,
  model text not null,
  settings jsonb not null default '{}'::jsonb,
  audio_url text not null,
  storage_bucket text not null,
  storage_path text not null,
  content_type text not null,
  duration_seconds numeric(8, 3),
  alignment jsonb,
  request_id text,
  use_count integer not null default 1,
  last_used_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  constraint audio_cache_one_per_hash unique (user_id, content_hash),
  constraint audio_cache_use_count_positive check (use_count >= 1)
);

-- Seed 000: a regenerated video's old row is kept but marked failed with "Regenerated", so at most
-- one completed row answers a hash and the replaced ones can be cleaned later.
create table public.generated_videos (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  -- sha256(prompt, reference image URL, provider/model, ratio, duration)
  content_hash text not null,
  prompt text not null,
  reference_image_url text,
  provider text not null,
  model text not null,
  ratio text not null,
  duration_seconds numeric(6, 2) not null,
  dialogue_text text,
  video_url text,
  storage_bucket text,
  storage_path text,
  status text not null default 'completed',
  error_message text,
  use_count integer not null default 1,
  last_used_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  constraint generated_videos_status_check check (status in ('completed', 'failed')),
  constraint generated_videos_completed_has_url check (status <> 'completed' or video_url is not null)
);

create unique index generated_videos_one_completed_per_hash
  on public.generated_videos (user_id, content_hash) where status = 'completed';

-- LLM answers keyed by sha256(prompt, provider/model): the same brief asks the same questions.
create table public.content_cache (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  cache_key text not null,
  provider text not null,
  model text not null,
  content jsonb not null,
  tokens integer not null default 0,
  use_count integer not null default 1,
  last_used_at timestamptz not null default now(),
  created_at timestamptz not null default now(),
  constraint content_cache_one_per_key unique (user_id, cache_key)
);

-- Seed 004's request row (its content_creation_requests): generated_output.scenes[].imageUrls is
-- the legacy JSONB shape, read as a fallback and moved into generated_images by
-- public.migrate_legacy_images.
create table public.image_requests (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  movie_id uuid references public.movies (id) on delete cascade,
  generated_output jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint image_requests_output_object check (jsonb_typeof(generated_output) = 'object')
);

create index image_requests_user_idx on public.image_requests (user_id);

-- One row per image: concurrent saves are independent inserts, so none can overwrite another
-- (a read-modify-write of one JSONB document loses images under concurrency).
create table public.generated_images (
  id uuid primary key default gen_random_uuid(),
  request_id uuid not null references public.image_requests (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  scene_index integer not null,
  image_index integer not null default 0,
  image_url text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint generated_images_one_per_slot unique (request_id, scene_index, image_index),
  constraint generated_images_scene_index_nonnegative check (scene_index >= 0),
  constraint generated_images_image_index_nonnegative check (image_index >= 0),
  constraint generated_images_url_http check (image_url ~ '^https?://')
);

-- What the orphan sweep saw and removed. An object is deleted only after it has been seen
-- unreferenced for the whole retention period (first_seen_at): Storage listings carry no reliable
-- age, and an upload whose row has not committed yet must survive a sweep.
create table public.storage_cleanup_log (
  id bigint generated always as identity primary key,
  storage_bucket text not null,
  storage_path text not null,
  first_seen_at timestamptz not null default now(),
  deleted_at timestamptz,
  size_bytes bigint,
  constraint storage_cleanup_log_one_per_object unique (storage_bucket, storage_path, deleted_at)
);

create unique index storage_cleanup_log_one_pending
  on public.storage_cleanup_log (storage_bucket, storage_path) where deleted_at is null;

-- RLS: owners read their own rows; writes are the functions' (service role) or the guarded RPCs below.
do $$
declare
  t text;
begin
  foreach t in array array['audio_cache', 'generated_videos', 'content_cache', 'image_requests', 'generated_images'] loop
    execute format('alter table public.%I enable row level security', t);
    execute format('create policy %I on public.%I for select to authenticated using (user_id = (select auth.uid()))',
      t || '_owner_select', t);
    execute format('revoke all on public.%I from anon, authenticated', t);
    execute format('grant select on public.%I to authenticated', t);
    execute format('grant all on public.%I to service_role', t);
  end loop;
end $$;

-- Internal: no policies, no grants to API roles.
alter table public.storage_cleanup_log enable row level security;

revoke all on public.storage_cleanup_log from anon, authenticated;

grant all on public.storage_cleanup_log to service_role;

create trigger generated_images_touch before update on public.generated_images
  for each row execute function engine.touch_updated_at();

create trigger image_requests_touch before update on public.image_requests
  for each row execute function engine.touch_updated_at();

create function public.assert_image_request_owner(p_request_id uuid) returns uuid
language plpgsql stable security definer set search_path = '' as $$
declare
  v_owner uuid;
begin
  if p_request_id is null then
    raise exception 'request_id is required' using errcode = '22023';
  end if;
  select user_id into v_owner from public.image_requests where id = p_request_id;
  if v_owner is null or (not public.is_backend_caller() and v_owner is distinct from auth.uid()) then
    raise exception 'image request % not found', p_request_id using errcode = 'P0002';
  end if;
  return v_owner;
end $$;

-- One image into its slot; a second save of the same slot replaces the URL (retries are idempotent).
create function public.save_generated_image(p_request_id uuid, p_scene_index integer, p_image_index integer, p_image_url text)
returns uuid language plpgsql security definer set search_path = '' as $$
declare
  v_owner uuid;
  v_id uuid;
begin
  if p_scene_index is null or p_scene_index < 0 then
    raise exception 'scene_index must be an integer >= 0' using errcode = '22023';
  end if;
  if p_image_index is null or p_image_index < 0 then
    raise exception 'image_index must be an integer >= 0' using errcode = '22023';
  end if;
  if p_image_url is null or p_image_url !~ '^https?://' then
    raise exception 'image_url must be an http(s) URL' using errcode = '22023';
  end if;
  v_owner := public.assert_image_request_owner(p_request_id);
  insert into public.generated_images (request_id, user_id, scene_index, image_index, image_url)
  values (p_request_id, v_owner, p_scene_index, p_image_index, p_image_url)
  on conflict on constraint generated_images_one_per_slot do update set image_url = excluded.image_url
  returning id into v_id;
  return v_id;
end $$;

-- Regenerate: the scene's images go, so the next saves are the scene's only images.
-- Its legacy JSONB URLs are emptied too, or the read side would fall back to them.
create function public.clear_scene_images(p_request_id uuid, p_scene_index integer)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  v_deleted integer;
begin
  if p_scene_index is null or p_scene_index < 0 then
    raise exception 'scene_index must be an integer >= 0' using errcode = '22023';
  end if;
  perform public.assert_image_request_owner(p_request_id);
  delete from public.generated_images where request_id = p_request_id and scene_index = p_scene_index;
  get diagnostics v_deleted = row_count;
  update public.image_requests r
     set generated_output = jsonb_set(r.generated_output, '{scenes}', (
           select coalesce(jsonb_agg(case when coalesce((s.scene ->> 'index')::int, s.pos::int) = p_scene_index
                                          then s.scene || '{"imageUrls": []}'::jsonb else s.scene end order by s.pos), '[]'::jsonb)
             from jsonb_array_elements(r.generated_output -> 'scenes') with ordinality as s(scene, pos)))
   where r.id = p_request_id and jsonb_typeof(r.generated_output -> 'scenes') = 'array';
  return v_deleted;
end $$;

-- The read side: generated_output.scenes with imageUrls from the table, grouped by scene and
-- ordered by image_index; a scene without table rows keeps its legacy JSONB imageUrls. A scene's
-- index is its "index" field, else its 1-based position (`scene.index ?? idx + 1`).
-- Scenes that exist only in the table are appended.
create function public.request_scenes_with_images(p_request_id uuid)
returns jsonb language plpgsql stable security definer set search_path = '' as $$
declare
  v_result jsonb;
begin
  perform public.assert_image_request_owner(p_request_id);
  with legacy as (
    select coalesce((s.scene ->> 'index')::int, s.pos::int) as scene_index, s.scene, s.pos
      from public.image_requests r,
           jsonb_array_elements(case when jsonb_typeof(r.generated_output -> 'scenes') = 'array'
                                     then r.generated_output -> 'scenes' else '[]'::jsonb end) with ordinality as s(scene, pos)
     where r.id = p_request_id
  ), stored as (
    select scene_index, jsonb_agg(image_url order by image_index) as urls
      from public.generated_images where request_id = p_request_id group by scene_index
  ), merged as (
    select l.pos as ord, l.scene_index,
           l.scene || jsonb_build_object('imageUrls', coalesce(st.urls,
             case when jsonb_typeof(l.scene -> 'imageUrls') = 'array' then l.scene -> 'imageUrls' else '[]'::jsonb end)) as scene
      from legacy l left join stored st using (scene_index)
    union all
    select 1000000 + st.scene_index, st.scene_index, jsonb_build_object('index', st.scene_index, 'imageUrls', st.urls)
      from stored st where not exists (select 1 from legacy l where l.scene_index = st.scene_index)
  )
  select coalesce(jsonb_agg(scene order by ord, scene_index), '[]'::jsonb) into v_result from merged;
  return v_result;
end $$;

-- Moves legacy JSONB images into generated_images: image_index = position in imageUrls. Safe to
-- run again and again (a filled slot is left alone); the JSONB stays as it was (kept in its legacy shape).
-- Null request = every request (service role only). Returns the images inserted.
create function public.migrate_legacy_images(p_request_id uuid default null)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  v_inserted integer;
begin
  if p_request_id is null then
    if not public.is_backend_caller() then
      raise exception 'request_id is required' using errcode = '22023';
    end if;
  else
    perform public.assert_image_request_owner(p_request_id);
  end if;
  insert into public.generated_images (request_id, user_id, scene_index, image_index, image_url)
  select r.id, r.user_id, coalesce((s.scene ->> 'index')::int, s.pos::int), u.pos - 1, u.url
    from public.image_requests r
    cross join lateral jsonb_array_elements(case when jsonb_typeof(r.generated_output -> 'scenes') = 'array'
                                                 then r.generated_output -> 'scenes' else '[]'::jsonb end) with ordinality as s(scene, pos)
    cross join lateral jsonb_array_elements_text(case when jsonb_typeof(s.scene -> 'imageUrls') = 'array'
                                                      then s.scene -> 'imageUrls' else '[]'::jsonb end) with ordinality as u(url, pos)
   where (p_request_id is null or r.id = p_request_id)
     and u.url ~ '^https?://' and coalesce((s.scene ->> 'index')::int, s.pos::int) >= 0
  on conflict on constraint generated_images_one_per_slot do nothing;
  get diagnostics v_inserted = row_count;
  return v_inserted;
end $$;

grant execute on function public.save_generated_image(uuid, integer, integer, text) to authenticated, service_role;

grant execute on function public.clear_scene_images(uuid, integer) to authenticated, service_role;

grant execute on function public.request_scenes_with_images(uuid) to authenticated, service_role;

grant execute on function public.migrate_legacy_images(uuid) to authenticated, service_role;

grant execute on function public.assert_image_request_owner(uuid) to authenticated, service_role;

-- Whether the caller is positively the backend; it fails closed. "No JWT claims = backend" would
-- let a session that lost or never set its claims count as the service role, so yes means: a
-- service_role JWT, or a direct connection by a privileged login role (functions and workers over
-- SUPABASE_DB_URL) that has not switched to an API role. Claims present but unreadable, a missing role, or any error: false.
create function public.is_backend_caller() returns boolean
language plpgsql stable set search_path = '' as $$
declare
  v_claims text := nullif(current_setting('request.jwt.claims', true), '');
  -- SET ROLE as the session did it; unchanged inside security definer functions, unlike current_user.
  v_set_role text := coalesce(nullif(current_setting('role', true), ''), 'none');
begin
  if v_set_role in ('anon', 'authenticated', 'authenticator') then
    return false;
  end if;
  if v_claims is not null then
    return coalesce((v_claims::jsonb ->> 'role') = 'service_role', false);
  end if;
  return session_user::text in ('postgres', 'supabase_admin');
exception when others then
  return false;
end $$;

