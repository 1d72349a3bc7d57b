-- A scene's reference image (the first frame its clip was generated from) is a file a later
-- regenerate of that clip needs again. When the library image it came from is replaced (a
-- regenerated location image) its asset version is superseded, and cleanup would delete the file
-- after the retention: scenes still naming it keep it.

create index movie_scenes_reference_object_idx
  on public.movie_scenes (((asset_admin.object_of(reference_image_url)).path))
  where reference_image_url is not null;

create or replace function public.storage_object_referenced(p_bucket text, p_path text) returns boolean
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
