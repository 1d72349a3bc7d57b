-- The project's schemas, the extensions it needs, and what every function it creates may be
-- called by. Runs first: the default privileges below apply to every function the later files make.
--
-- engine: the task engine's state and its SECURITY DEFINER internals. asset_admin: the asset
-- registry's internals. Neither is exposed through the API; only the service role reaches them.
-- Platform objects that exist only on hosted Supabase (vault, the supabase_realtime publication,
-- pg_cron >= 1.5 second schedules, storage.buckets) are used only when present, so these files
-- run unchanged on a hosted project and on the local stack.

-- pg_cron and pg_net are extensions a hosted project enables; the local stack provides them.
do $$
begin
  if exists (select 1 from pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
  end if;
  if exists (select 1 from pg_available_extensions where name = 'pg_net') then
    create extension if not exists pg_net;
  end if;
end $$;

create schema if not exists engine;
revoke all on schema engine from public;
grant usage on schema engine to service_role;

create schema if not exists asset_admin;
revoke all on schema asset_admin from public;
grant usage on schema asset_admin to service_role;

-- Postgres lets PUBLIC execute every new function, and Supabase adds per-schema default grants
-- of EXECUTE to anon and authenticated in public: a function a migration forgets to lock down
-- would be an RPC anyone with the anon key can call. New functions are executable by their owner
-- and the service role only; a migration grants users what they need, by name. (A per-schema
-- REVOKE cannot take back the global PUBLIC default, hence both forms.)
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
