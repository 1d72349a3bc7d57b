-- Postgres lets PUBLIC execute every new function, and Supabase adds per-schema default grants
-- of EXECUTE to anon and authenticated in public: a function a later migration forgets to lock
-- down would be an RPC anyone with the anon key can call. From here on, new functions are
-- executable by their owner and the service role only; a migration grants users what they need,
-- by name. (A per-schema REVOKE cannot take back the global PUBLIC default, hence both forms.)
alter default privileges for role postgres revoke execute on functions from public;
alter default privileges for role postgres in schema public, engine, asset_admin revoke execute on functions from anon, authenticated;
alter default privileges for role postgres in schema public, engine, asset_admin grant execute on functions to service_role;

-- supabase_admin creates functions on hosted projects too (extensions, platform upgrades). Only a
-- member of it may change its defaults: where we are not, say so and carry on.
do $$
begin
  if exists (select from pg_roles where rolname = 'supabase_admin') then
    begin
      execute 'alter default privileges for role supabase_admin revoke execute on functions from public';
      execute 'alter default privileges for role supabase_admin in schema public revoke execute on functions from anon, authenticated';
    exception when insufficient_privilege then
      raise notice 'cannot change supabase_admin''s default privileges (not a member); functions it creates keep its defaults';
    end;
  end if;
end $$;

-- Existing functions. The internal schemas: nothing for API users (they are not exposed, and
-- nothing in them is meant to be called by a user).
revoke all on all routines in schema engine, asset_admin from public, anon, authenticated;
grant execute on all routines in schema engine, asset_admin to service_role;

-- public: no function for anon (anonymous sign-ins are `authenticated`); the ones signed-in users
-- call keep an explicit grant, so no PUBLIC default is left to carry them. Extension functions are
-- the extension's business.
do $$
declare
  f record;
begin
  for f in
    select p.oid::regprocedure as signature, has_function_privilege('authenticated', p.oid, 'execute') as user_callable
      from pg_proc p
     where p.pronamespace = 'public'::regnamespace
       and not exists (select from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
  loop
    if f.user_callable then
      execute format('grant execute on routine %s to authenticated', f.signature);
    end if;
    execute format('revoke execute on routine %s from public, anon', f.signature);
    execute format('grant execute on routine %s to service_role', f.signature);
  end loop;
end $$;

-- The user-facing RPCs, named so a reader sees what is meant to be callable (all already granted above).
grant execute on function
  public.cancel_task(uuid), public.resume_task(uuid),
  public.assert_image_request_owner(uuid), public.save_generated_image(uuid, integer, integer, text),
  public.clear_scene_images(uuid, integer), public.request_scenes_with_images(uuid), public.migrate_legacy_images(uuid),
  public.asset_url(public.assets)
  to authenticated;
