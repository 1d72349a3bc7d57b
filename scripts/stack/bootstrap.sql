-- Local stack only, never a migration: recreates what every Supabase database already has, so the
-- migrations in migrations/ run here unchanged. Idempotent: `stack start` reruns it every time.
-- Runs as supabase_admin, the cluster's superuser, as the platform's own setup does; everything
-- after it (migrations, functions, workers, the pg_net stand-in) connects as `postgres`.

-- `postgres` as supabase/postgres leaves it (migrations/db/migrations/10000000000000_demote-postgres.sql,
-- 20230201083204_grant_auth_roles_to_postgres.sql, 20240606060239_grant_predefined_roles_to_postgres.sql,
-- 20250421084701_revoke_admin_roles_from_postgres.sql, 20251105172723_grant_pg_reload_conf_to_postgres.sql):
-- no superuser; may create databases and roles, replicate, bypass RLS; reads all data; may signal
-- (cancel, terminate) other non-superuser backends; owns the project database, hence its public schema.
-- Not mirrored: supautils (settings it lets postgres change, e.g. session_replication_role; its
-- guard on the platform's roles), so CREATEROLE here is a little wider and those settings narrower.
do $$
begin
  if not exists (select from pg_roles where rolname = 'postgres') then
    create role postgres login password 'postgres';
  end if;
end
$$;
alter role postgres nosuperuser createdb createrole login replication bypassrls;
alter database postgres owner to postgres;
grant pg_read_all_data, pg_signal_backend to postgres;
grant execute on function pg_catalog.pg_reload_conf() to postgres;

-- Roles the API gateway switches to (PostgREST) and the login role it connects as.
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin noinherit bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit password 'postgres';
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
-- postgres may SET ROLE to the API roles (to test policies), as on hosted.
grant anon, authenticated, service_role to postgres;
grant usage on schema public to anon, authenticated, service_role;

-- Like Supabase: objects postgres creates in public are usable by the API roles; RLS decides rows.
-- Set once, as a new hosted project has them: a restart must not undo what migrations changed
-- (20261201000100_schemas.sql revokes EXECUTE on new functions).
do $$
begin
  if to_regclass('supabase_migrations.schema_migrations') is null then
    alter default privileges for role postgres in schema public grant all on tables to anon, authenticated, service_role;
    alter default privileges for role postgres in schema public grant all on sequences to anon, authenticated, service_role;
    alter default privileges for role postgres in schema public grant all on functions to anon, authenticated, service_role;
    alter default privileges for role supabase_admin in schema public grant all on tables to postgres, anon, authenticated, service_role;
    alter default privileges for role supabase_admin in schema public grant all on sequences to postgres, anon, authenticated, service_role;
    alter default privileges for role supabase_admin in schema public grant all on functions to postgres, anon, authenticated, service_role;
  end if;
end
$$;

-- Marks this database as the local stack: the only place engine.configure_dispatch keeps the
-- internal dispatch secret in plaintext (there is no Vault here; hosted projects use Vault).
do $$
begin
  execute format('alter database %I set reelforge.local_stack = %L', current_database(), 'on');
end
$$;

-- Extensions the platform creates, as supabase_admin: pgcrypto and uuid-ossp come with every
-- project; pg_cron is what enabling it in the dashboard does (supautils runs that CREATE EXTENSION
-- as supabase_admin). A migration's `create extension if not exists` of these is then a no-op;
-- any other extension needs superuser here. pg_net is the stand-in below (not packaged for Debian).
create schema if not exists extensions;
grant all on schema extensions to postgres;
grant usage on schema extensions to anon, authenticated, service_role;
create extension if not exists pgcrypto with schema extensions;
create extension if not exists "uuid-ossp" with schema extensions;
grant all on all routines in schema extensions to postgres;
alter role postgres set search_path = "$user", public, extensions;

-- pg_cron needs shared_preload_libraries = 'pg_cron' (set by the stack's postgresql.conf).
create extension if not exists pg_cron;
-- What supabase/postgres's extensions.grant_pg_cron_access() event trigger gives postgres (as of
-- 20231020085357_revoke_writes_on_cron_job_from_postgres.sql and
-- 20260730000000_revoke_trigger_on_cron_tables_from_postgres.sql): use cron, read and prune its
-- tables, but change cron.job only through cron.schedule/unschedule, which act on its own jobs.
grant usage on schema cron to postgres with grant option;
grant all privileges on all tables in schema cron to postgres with grant option;
grant all privileges on all sequences in schema cron to postgres with grant option;
revoke all on table cron.job from postgres;
grant select on table cron.job to postgres with grant option;
revoke trigger on cron.job_run_details from postgres;

-- auth: enough of GoTrue's schema for foreign keys, RLS helpers and test users.
-- Owned by supabase_admin here (supabase_auth_admin on hosted): postgres reads and writes its
-- rows but may not create objects in it.
create schema if not exists auth;
grant usage on schema auth to postgres, anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid not null default gen_random_uuid(),
  aud text default 'authenticated',
  role text default 'authenticated',
  email text,
  encrypted_password text,
  email_confirmed_at timestamptz,
  raw_app_meta_data jsonb default '{}'::jsonb,
  raw_user_meta_data jsonb default '{}'::jsonb,
  is_anonymous boolean not null default false,
  created_at timestamptz default now(),
  updated_at timestamptz default now(),
  constraint users_pkey primary key (id),
  constraint users_email_key unique (email)
);
grant select on auth.users to service_role;
-- Older stacks made auth.users before these GoTrue columns were here.
alter table auth.users add column if not exists raw_app_meta_data jsonb default '{}'::jsonb;
alter table auth.users add column if not exists is_anonymous boolean not null default false;
alter table auth.users add column if not exists last_sign_in_at timestamptz;

-- The stack's sign-in (scripts/stack/auth-api.ts) keeps refresh tokens here, as GoTrue does.
create table if not exists auth.refresh_tokens (
  id bigserial,
  token text not null,
  user_id uuid not null,
  session_id uuid not null,
  revoked boolean not null default false,
  created_at timestamptz not null default now(),
  constraint refresh_tokens_pkey primary key (id),
  constraint refresh_tokens_token_unique unique (token),
  constraint refresh_tokens_user_id_fkey foreign key (user_id) references auth.users (id) on delete cascade
);

-- Same fallbacks as Supabase: PostgREST sets request.jwt.claims (newer) or request.jwt.claim.* (older).
create or replace function auth.uid() returns uuid
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.jwt() returns jsonb
language sql stable as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

grant execute on function auth.uid(), auth.role(), auth.jwt() to postgres, anon, authenticated, service_role;
-- The stack's Auth (scripts/stack/auth-api.ts) connects as postgres; foreign keys need REFERENCES.
grant all on all tables in schema auth to postgres;
grant all on all sequences in schema auth to postgres;

-- storage: Supabase Storage's metadata (scripts/stack/storage-schema.sql), owned by its own role,
-- which the gateway's Storage API logs in as and which switches to the caller's API role (so RLS
-- decides, as on hosted). Bytes stay on disk under <stack>/storage.
do $$
begin
  if not exists (select from pg_roles where rolname = 'supabase_storage_admin') then
    create role supabase_storage_admin login createrole noinherit password 'postgres';
  end if;
end
$$;
grant anon, authenticated, service_role to supabase_storage_admin;
alter role supabase_storage_admin set search_path = storage;
\ir storage-schema.sql

-- net: pg_net's public shape (pg_net is not packaged for Debian), after sql/pg_net.sql in
-- supabase/pg_net and the grants supabase/postgres's grant_pg_net_access() event trigger makes.
-- scripts/stack/net-dispatcher.ts stands in for its background worker. pg_net wakes its worker
-- from a commit callback; here NOTIFY, which Postgres also delivers only on commit, so a
-- rolled-back request is never sent.
create schema if not exists net;

create unlogged table if not exists net.http_request_queue (
  id bigserial primary key,
  method text not null,
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds int not null
);

-- One row per request the worker finished: status_code null with timed_out and error_msg when it
-- got no answer. Pruned after pg_net.ttl (6 hours) by the dispatcher, as pg_net's worker does.
create unlogged table if not exists net._http_response (
  id bigint,
  status_code int,
  content_type text,
  headers jsonb,
  content text,
  timed_out bool,
  error_msg text,
  created timestamptz not null default now()
);
create index if not exists _http_response_created_idx on net._http_response (created);

create or replace function net._urlencode_string(string text) returns text
language sql immutable strict as $$
  select coalesce(string_agg(
    case
      when b between 48 and 57 or b between 65 and 90 or b between 97 and 122 or b in (45, 46, 95, 126)
        then chr(b)
      else '%' || upper(lpad(to_hex(b), 2, '0'))
    end, '' order by i), '')
  from (
    select i, get_byte(convert_to(string, 'UTF8'), i) as b
    from generate_series(0, octet_length(convert_to(string, 'UTF8')) - 1) as i
  ) as bytes
$$;

create or replace function net._url_with_params(url text, params jsonb) returns text
language sql immutable as $$
  select case
    when params is null or params = '{}'::jsonb then url
    else url || case when strpos(url, '?') > 0 then '&' else '?' end || (
      select string_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value), '&')
      from jsonb_each_text(params)
    )
  end
$$;

-- As pg_net: a missing Content-Type is added; any other than application/json is refused.
create or replace function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql volatile security definer set search_path = pg_catalog as $$
declare
  content_type text;
  request_id bigint;
begin
  select value into content_type from jsonb_each_text(coalesce(headers, '{}'::jsonb))
   where lower(key) = 'content-type' limit 1;
  if content_type is null then
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  elsif content_type <> 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._url_with_params(url, params), headers, convert_to(body::text, 'UTF8'), timeout_milliseconds)
  returning id into request_id;
  return request_id;
end
$$;

create or replace function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language sql volatile security definer set search_path = pg_catalog as $$
  insert into net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  values ('GET', net._url_with_params(url, params), headers, null, timeout_milliseconds)
  returning id
$$;

create or replace function net._notify_dispatcher() returns trigger
language plpgsql as $$
begin
  perform pg_notify('reelforge_net', new.id::text);
  return null;
end
$$;

drop trigger if exists http_request_queue_notify on net.http_request_queue;
create trigger http_request_queue_notify
  after insert on net.http_request_queue
  for each row execute function net._notify_dispatcher();

-- pg_net's functions are security definer (owned by supabase_admin) and callable by postgres and
-- the API roles on hosted; here by postgres and service_role only, which is all the project uses.
-- postgres reads and writes the tables (pg_net grants them to PUBLIC); the dispatcher needs that.
revoke all on schema net from public;
revoke all on all functions in schema net from public;
grant usage on schema net to postgres, service_role;
grant execute on all functions in schema net to postgres, service_role;
grant all on all tables in schema net to postgres;
grant all on all sequences in schema net to postgres;
grant select on net.http_request_queue, net._http_response to service_role;
