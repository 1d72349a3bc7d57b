-- Films are private (issue 13): the `media` bucket (REELFORGE_MEDIA_BUCKET's default) is created
-- private, or made private where an earlier setup created it public. Its objects' public URLs stop
-- serving; owners and providers get signed URLs (shared/storage/signed-urls.ts), and functions and
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
