-- Orphan cleanup: a daily storage.cleanup task per film owner deletes the objects under
-- films/<user>/ and assets/<user>/ that nothing references, once they have been seen unreferenced
-- for the retention period, and records each deletion in storage_cleanup_log. A task on a
-- function, not SQL alone: locally Storage is files (no storage.objects to query), and deleting an
-- object needs the Storage API either way. pg_cron only rings it, one task per owner and day
-- (idempotency key).

-- One listed page: referenced objects lose any pending mark (the clock restarts if they are
-- dropped again), unreferenced ones get one, and those marked longer than the retention are
-- returned for deletion.
create function public.storage_cleanup_due(p_bucket text, p_paths text[], p_sizes bigint[], p_retention_seconds integer)
returns setof text language plpgsql security definer set search_path = '' as $$
begin
  if p_retention_seconds is null or p_retention_seconds < 0 then
    raise exception 'retention_seconds must be >= 0' using errcode = '22023';
  end if;
  delete from public.storage_cleanup_log l
   using unnest(p_paths) as p(path)
   where l.storage_bucket = p_bucket and l.storage_path = p.path and l.deleted_at is null
     and public.storage_object_referenced(p_bucket, p.path);
  insert into public.storage_cleanup_log (storage_bucket, storage_path, size_bytes)
  select p_bucket, p.path, p.size from unnest(p_paths, p_sizes) as p(path, size)
   where not public.storage_object_referenced(p_bucket, p.path)
  on conflict (storage_bucket, storage_path) where deleted_at is null do nothing;
  return query
    select l.storage_path from public.storage_cleanup_log l
     where l.storage_bucket = p_bucket and l.deleted_at is null and l.storage_path = any (p_paths)
       and l.first_seen_at <= now() - make_interval(secs => p_retention_seconds)
     order by l.storage_path;
end $$;

-- After the objects are gone from Storage: the pending marks become the record of what was removed.
create function public.storage_cleanup_done(p_bucket text, p_paths text[]) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_count integer;
begin
  update public.storage_cleanup_log set deleted_at = now()
   where storage_bucket = p_bucket and storage_path = any (p_paths) and deleted_at is null;
  get diagnostics v_count = row_count;
  return v_count;
end $$;

-- The daily doorbell: one storage.cleanup task (run by the assemble function) per film owner.
create function public.enqueue_storage_cleanup(p_retention_seconds integer default null) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  v_user uuid;
  v_count integer := 0;
  v_retention integer := coalesce(p_retention_seconds, (select retention_seconds from asset_admin.settings), 86400);
begin
  for v_user in select distinct user_id from public.movies loop
    perform engine.enqueue_task(
      p_user_id => v_user, p_kind => 'storage.cleanup', p_function => 'assemble',
      p_payload => jsonb_build_object('retentionSeconds', v_retention),
      p_idempotency_key => 'storage.cleanup:' || v_user || ':' || to_char(now() at time zone 'utc', 'YYYY-MM-DD'),
      p_max_attempts => 3);
    v_count := v_count + 1;
  end loop;
  return v_count;
end $$;

do $$
begin
  if exists (select 1 from pg_extension where extname = 'pg_cron') then
    perform cron.schedule('reelforge-storage-cleanup', '17 3 * * *', 'select public.enqueue_storage_cleanup()');
  else
    raise notice 'pg_cron not installed: schedule public.enqueue_storage_cleanup() daily yourself';
  end if;
end $$;

-- A scene's reference image (the first frame its clip was generated from) is a file a later
-- regenerate of that clip needs again. When the library image it came from is replaced (a
-- regenerated location image) its asset version is superseded, and cleanup would delete the file
-- after the retention: scenes still naming it keep it.
create index movie_scenes_reference_object_idx
  on public.movie_scenes (((asset_admin.object_of(reference_image_url)).path))
  where reference_image_url is not null;

-- Referenced = any live row naming the object: an asset version not past its delete_after (any
-- state), a cache entry (audio_cache, completed generated_videos), which other films reuse, or a
-- scene's reference image (above).
create function public.storage_object_referenced(p_bucket text, p_path text) returns boolean
language sql stable set search_path = '' as $$
  select exists (select 1 from public.assets a
                  where a.storage_bucket = p_bucket and a.storage_path = p_path and a.deleted_at is null
                    and (a.delete_after is null or a.delete_after > now()))
      or exists (select 1 from public.audio_cache c where c.storage_bucket = p_bucket and c.storage_path = p_path)
      or exists (select 1 from public.generated_videos v
                  where v.storage_bucket = p_bucket and v.storage_path = p_path and v.status = 'completed')
      or exists (select 1 from public.movie_scenes s
                  where s.reference_image_url is not null
                    and (asset_admin.object_of(s.reference_image_url)).path = p_path
                    and (asset_admin.object_of(s.reference_image_url)).bucket = p_bucket)
$$;

-- Films are private: the `media` bucket (REELFORGE_MEDIA_BUCKET's default) is created
-- private, or made private where it already exists public. Its objects' public URLs do not
-- serve; owners and providers get signed URLs (shared/storage/signed-urls.ts), and functions and
-- the render worker read and write it with the service role. Idempotent, and a no-op where there
-- is no Storage schema (a bare Postgres): the guard checks for storage.buckets before touching it.
do $$
begin
  if to_regclass('storage.buckets') is null then
    raise notice 'no storage.buckets: the media bucket is not created here';
    return;
  end if;
  execute $sql$
    insert into storage.buckets (id, name, public) values ('media', 'media', false)
    on conflict (id) do update set public = false
  $sql$;
end $$;

