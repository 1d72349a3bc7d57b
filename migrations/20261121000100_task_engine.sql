-- Durable task engine on public.background_tasks.
--
-- Every state transition is a SQL function here, so Edge Functions, pg_cron and the front end (RPC)
-- all go through the same guarded code. A worker holds a task through a short lease and a fencing
-- token: each claim bumps the token, and every write a worker makes names its token, so a worker
-- that lost its lease (killed, frozen, slow) can never overwrite newer work.
--
-- Platform objects that only exist on hosted Supabase (vault, the supabase_realtime publication,
-- pg_cron >= 1.5 second schedules) are used only when present, so this file runs unchanged on a
-- hosted project and on the local stack.

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

-- ---------------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------------

create table public.background_tasks (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  kind text not null,
  -- The Edge Function whose doorbell runs this task's slices; null for tasks pulled by a worker
  -- process with engine.claim_next_task (render workers).
  worker text,
  status text not null default 'queued',
  payload jsonb not null default '{}'::jsonb,
  -- Checkpoint and progress details (seed 003 keeps metadata.clone.{progress,checkpoint,options}).
  metadata jsonb not null default '{}'::jsonb,
  progress numeric(5, 2) not null default 0,
  result jsonb,
  attempts integer not null default 0,
  max_attempts integer not null default 5,
  backoff_base_ms integer not null default 2000,
  run_after timestamptz not null default now(),
  lease_owner text,
  lease_expires_at timestamptz,
  fencing_token bigint not null default 0,
  -- Leases lost in a row without a checkpoint: a task that kills every worker it meets fails
  -- instead of looping forever; reset by every checkpoint.
  stalls integer not null default 0,
  max_stalls integer not null default 25,
  last_error jsonb,
  idempotency_key text,
  parent_id uuid references public.background_tasks (id) on delete cascade,
  concurrency_key text,
  dispatched_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  finished_at timestamptz,
  constraint background_tasks_status_check
    check (status in ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
  constraint background_tasks_progress_range check (progress between 0 and 100),
  constraint background_tasks_attempts_check check (attempts >= 0 and max_attempts >= 1),
  constraint background_tasks_kind_idempotency_key unique (kind, idempotency_key)
);

comment on table public.background_tasks is
  'Durable tasks run in slices by Edge Functions; state changes only through engine.* functions.';

-- Claimers read due work in claim order straight off this index (no sort of every due row).
create index background_tasks_due_idx on public.background_tasks (run_after, created_at)
  where status = 'queued';
-- The sweeper's two running cases: expired leases, and hand-offs whose doorbell went unanswered.
-- Neither predicate is plain status = 'running': such an index looks as cheap as the primary key
-- for fenced writes (id = $1 and fencing_token = $2 and status = 'running') and is scanned whole.
create index background_tasks_leased_idx on public.background_tasks (lease_expires_at)
  where status = 'running' and lease_expires_at is not null;
create index background_tasks_handed_off_idx on public.background_tasks (dispatched_at)
  where status = 'running' and lease_expires_at is null;
create index background_tasks_parent_idx on public.background_tasks (parent_id)
  where parent_id is not null;
create index background_tasks_user_idx on public.background_tasks (user_id, created_at desc);
create index background_tasks_concurrency_idx on public.background_tasks (concurrency_key, status)
  where concurrency_key is not null;

-- A named step's recorded result. A completed step is never re-run. A provider submission is a
-- two-phase step: 'submitted' with the provider's task id first, 'completed' once it finished.
create table public.background_task_steps (
  task_id uuid not null references public.background_tasks (id) on delete cascade,
  name text not null,
  status text not null,
  external_id text,
  result jsonb,
  created_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint background_task_steps_pkey primary key (task_id, name),
  constraint background_task_steps_status_check check (status in ('submitted', 'completed'))
);

-- Per-key caps on running tasks (e.g. 'provider:runway' -> 2), enforced at claim time.
create table engine.concurrency_limits (
  concurrency_key text primary key,
  max_running integer not null,
  constraint concurrency_limits_positive check (max_running >= 1)
);

-- Where and how to ring the doorbell. One row. The internal secret lives in Vault when the
-- project has it (hosted); otherwise here, in a schema no API role can read.
create table engine.settings (
  singleton boolean primary key default true,
  functions_url text,
  api_key text,
  internal_secret text,
  sweep_every_ms integer not null default 5000,
  -- A dispatch that produced no claim within this long is sent again by the sweeper.
  redispatch_after_ms integer not null default 15000,
  dispatch_timeout_ms integer not null default 10000,
  constraint settings_singleton check (singleton)
);
insert into engine.settings default values;

alter table public.background_tasks enable row level security;
alter table public.background_task_steps enable row level security;
alter table engine.concurrency_limits enable row level security;
alter table engine.settings enable row level security;

-- Owners read their own tasks; every change goes through the functions below.
create policy background_tasks_owner_select on public.background_tasks
  for select to authenticated using (user_id = (select auth.uid()));
create policy background_task_steps_owner_select on public.background_task_steps
  for select to authenticated using (
    exists (select 1 from public.background_tasks t
            where t.id = task_id and t.user_id = (select auth.uid())));

revoke all on public.background_tasks, public.background_task_steps from anon, authenticated;
grant select on public.background_tasks, public.background_task_steps to authenticated;
grant all on public.background_tasks, public.background_task_steps to service_role;

create function engine.touch_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end $$;

create trigger background_tasks_touch before update on public.background_tasks
  for each row execute function engine.touch_updated_at();

-- Live progress for owners where Realtime exists (hosted); absent locally.
do $$
begin
  if exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    execute 'alter publication supabase_realtime add table public.background_tasks';
  end if;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Errors: SQLSTATE RF001 = fenced out (the caller's token is no longer current).
-- ---------------------------------------------------------------------------------------------

create function engine.is_terminal(p_status text) returns boolean
language sql immutable as $$
  select p_status in ('succeeded', 'failed', 'cancelled')
$$;

-- Locks the task row for a write by the holder of p_token, or raises RF001.
create function engine.lock_lease(p_task_id uuid, p_token bigint)
returns public.background_tasks
language plpgsql as $$
declare
  t public.background_tasks;
begin
  select * into t from public.background_tasks where id = p_task_id for update;
  if not found or t.fencing_token <> p_token or t.status <> 'running' then
    raise exception 'task % is no longer held with token %', p_task_id, p_token
      using errcode = 'RF001';
  end if;
  return t;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Dispatch (the doorbell): pg_net POST to the task's Edge Function, sent only after commit.
-- ---------------------------------------------------------------------------------------------

create function engine.internal_secret() returns text
language plpgsql stable security definer set search_path = '' as $$
declare
  secret text;
begin
  if to_regclass('vault.decrypted_secrets') is not null then
    execute 'select decrypted_secret from vault.decrypted_secrets where name = $1 limit 1'
      into secret using 'reelforge_internal_secret';
  end if;
  return coalesce(secret, (select internal_secret from engine.settings));
end $$;

create function engine.configure_dispatch(
  p_functions_url text,
  p_api_key text,
  p_internal_secret text,
  p_sweep_every_ms integer default 5000
) returns void
language plpgsql security definer set search_path = '' as $$
begin
  if to_regclass('vault.secrets') is not null then
    execute 'delete from vault.secrets where name = $1' using 'reelforge_internal_secret';
    execute 'select vault.create_secret($1, $2)' using p_internal_secret, 'reelforge_internal_secret';
    update engine.settings set internal_secret = null;
  else
    update engine.settings set internal_secret = p_internal_secret;
  end if;
  update engine.settings
     set functions_url = rtrim(p_functions_url, '/'),
         api_key = p_api_key,
         sweep_every_ms = p_sweep_every_ms;
end $$;

create function engine.dispatch_task(p_task_id uuid) returns void
language plpgsql security definer set search_path = '' as $$
declare
  s engine.settings;
  t_worker text;
begin
  select * into s from engine.settings;
  if s.functions_url is null then
    raise exception 'task engine dispatch is not configured: run engine.configure_dispatch(...)'
      using errcode = 'RF002';
  end if;
  select worker into t_worker from public.background_tasks where id = p_task_id;
  if t_worker is null then
    return;
  end if;
  perform net.http_post(
    url := s.functions_url || '/' || t_worker || '/task-slice',
    body := jsonb_build_object('taskId', p_task_id),
    params := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || s.api_key,
      'x-reelforge-internal', engine.internal_secret()),
    timeout_milliseconds := s.dispatch_timeout_ms);
  update public.background_tasks set dispatched_at = now() where id = p_task_id;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Enqueue
-- ---------------------------------------------------------------------------------------------

-- Creates a task (or returns the existing one for the same kind + idempotency key).
create function engine.enqueue_task(
  p_user_id uuid,
  p_kind text,
  p_worker text,
  p_payload jsonb default '{}'::jsonb,
  p_idempotency_key text default null,
  p_max_attempts integer default 5,
  p_concurrency_key text default null,
  p_parent_id uuid default null,
  p_run_after timestamptz default now(),
  p_dispatch boolean default true,
  p_metadata jsonb default '{}'::jsonb,
  p_backoff_base_ms integer default 2000
) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
begin
  insert into public.background_tasks as b
    (user_id, kind, worker, payload, idempotency_key, max_attempts, concurrency_key, parent_id,
     run_after, metadata, backoff_base_ms)
  values
    (p_user_id, p_kind, p_worker, coalesce(p_payload, '{}'::jsonb), p_idempotency_key,
     p_max_attempts, p_concurrency_key, p_parent_id, p_run_after,
     coalesce(p_metadata, '{}'::jsonb), p_backoff_base_ms)
  on conflict (kind, idempotency_key) do nothing
  returning * into t;
  if not found then
    select * into t from public.background_tasks
     where kind = p_kind and idempotency_key = p_idempotency_key;
    return t;
  end if;
  if p_dispatch and p_run_after <= now() then
    perform engine.dispatch_task(t.id);
  end if;
  return t;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Claim
-- ---------------------------------------------------------------------------------------------

-- True when one more task under this key may run. Serialises claimers of the key for the rest
-- of the transaction, so two claimers cannot both take the last slot.
create function engine.take_concurrency_slot(p_key text, p_task_id uuid) returns boolean
language plpgsql as $$
declare
  cap integer;
  running integer;
begin
  if p_key is null then
    return true;
  end if;
  select max_running into cap from engine.concurrency_limits where concurrency_key = p_key;
  if cap is null then
    return true;
  end if;
  perform pg_advisory_xact_lock(hashtextextended('reelforge.concurrency:' || p_key, 0));
  select count(*) into running from public.background_tasks
   where concurrency_key = p_key and status = 'running' and id <> p_task_id
     and lease_expires_at > now();
  return running < cap;
end $$;

-- Takes the lease on a locked, claimable row: new fencing token, lease expiry, counters.
create function engine.start_lease(t public.background_tasks, p_worker_id text, p_lease_seconds integer)
returns public.background_tasks
language plpgsql as $$
declare
  lost_lease boolean := t.status = 'running' and t.lease_expires_at is not null;
  claimed public.background_tasks;
begin
  if lost_lease and t.stalls + 1 >= t.max_stalls then
    update public.background_tasks
       set status = 'failed', finished_at = now(), lease_owner = null, lease_expires_at = null,
           fencing_token = fencing_token + 1, stalls = stalls + 1,
           last_error = jsonb_build_object('code', 'worker_lost',
             'message', format('worker lost the lease %s times in a row without progress', stalls + 1))
     where id = t.id;
    perform engine.after_terminal(t.id);
    return null;
  end if;
  update public.background_tasks
     set status = 'running',
         lease_owner = p_worker_id,
         lease_expires_at = now() + make_interval(secs => p_lease_seconds),
         fencing_token = fencing_token + 1,
         stalls = stalls + case when lost_lease then 1 else 0 end,
         started_at = coalesce(started_at, now())
   where id = t.id
  returning * into claimed;
  return claimed;
end $$;

create function engine.is_claimable(t public.background_tasks) returns boolean
language sql stable as $$
  select (t.status = 'queued' and t.run_after <= now())
      or (t.status = 'running' and (t.lease_expires_at is null or t.lease_expires_at < now()))
$$;

-- Claims one specific task (the doorbell names it). Returns null when it is not claimable now:
-- someone else holds a live lease, it is done, not due yet, or its concurrency key is full.
create function engine.claim_task(p_task_id uuid, p_worker_id text, p_lease_seconds integer default 30)
returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
begin
  select * into t from public.background_tasks where id = p_task_id for update skip locked;
  if not found or not engine.is_claimable(t) then
    return null;
  end if;
  if not engine.take_concurrency_slot(t.concurrency_key, t.id) then
    return null;
  end if;
  return engine.start_lease(t, p_worker_id, p_lease_seconds);
end $$;

-- Claims the oldest due task of the given kinds (pull model: render workers, benchmarks).
create function engine.claim_next_task(p_kinds text[], p_worker_id text, p_lease_seconds integer default 30)
returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  claimed public.background_tasks;
begin
  for t in
    select * from public.background_tasks
     where status = 'queued' and run_after <= now() and kind = any (p_kinds)
     order by run_after, created_at
     limit 20
     for update skip locked
  loop
    if engine.take_concurrency_slot(t.concurrency_key, t.id) then
      claimed := engine.start_lease(t, p_worker_id, p_lease_seconds);
      if claimed.id is not null then
        return claimed;
      end if;
    end if;
  end loop;
  return null;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Holder-side writes (all fenced)
-- ---------------------------------------------------------------------------------------------

-- Saves progress and renews the lease. Returns false when the caller was fenced out.
create function engine.checkpoint_task(
  p_task_id uuid,
  p_token bigint,
  p_metadata jsonb default '{}'::jsonb,
  p_progress numeric default null,
  p_lease_seconds integer default 30
) returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  update public.background_tasks
     set metadata = metadata || coalesce(p_metadata, '{}'::jsonb),
         progress = coalesce(p_progress, progress),
         lease_expires_at = now() + make_interval(secs => p_lease_seconds),
         stalls = 0
   where id = p_task_id and fencing_token = p_token and status = 'running';
  return found;
end $$;

-- Ends this slice and rings for the next one in the same transaction as the checkpoint: the
-- hand-off exists only if the checkpoint committed (transactional outbox).
create function engine.hand_off_task(
  p_task_id uuid,
  p_token bigint,
  p_metadata jsonb default '{}'::jsonb,
  p_progress numeric default null
) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
begin
  update public.background_tasks
     set metadata = metadata || coalesce(p_metadata, '{}'::jsonb),
         progress = coalesce(p_progress, progress),
         lease_owner = null, lease_expires_at = null, stalls = 0
   where id = p_task_id and fencing_token = p_token and status = 'running'
  returning * into t;
  if not found then
    return false;
  end if;
  perform engine.dispatch_task(p_task_id);
  perform engine.dispatch_next_for_key(t.concurrency_key);
  return true;
end $$;

create function engine.complete_task(
  p_task_id uuid,
  p_token bigint,
  p_result jsonb default null,
  p_metadata jsonb default '{}'::jsonb
) returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  update public.background_tasks
     set status = 'succeeded', result = p_result, progress = 100,
         metadata = metadata || coalesce(p_metadata, '{}'::jsonb),
         lease_owner = null, lease_expires_at = null, finished_at = now(), stalls = 0
   where id = p_task_id and fencing_token = p_token and status = 'running';
  if not found then
    return false;
  end if;
  perform engine.after_terminal(p_task_id);
  return true;
end $$;

-- Records a failed attempt: retry later with exponential backoff and jitter, or fail for good
-- when attempts are spent or the error is not retryable. The error is kept either way.
create function engine.fail_task(
  p_task_id uuid,
  p_token bigint,
  p_error jsonb,
  p_retryable boolean default true,
  p_metadata jsonb default '{}'::jsonb
) returns text
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  delay_ms double precision;
begin
  update public.background_tasks
     set attempts = attempts + 1, last_error = p_error,
         metadata = metadata || coalesce(p_metadata, '{}'::jsonb)
   where id = p_task_id and fencing_token = p_token and status = 'running'
  returning * into t;
  if not found then
    return null;
  end if;
  if not p_retryable or t.attempts >= t.max_attempts then
    update public.background_tasks
       set status = 'failed', finished_at = now(), lease_owner = null, lease_expires_at = null
     where id = p_task_id;
    perform engine.after_terminal(p_task_id);
    return 'failed';
  end if;
  -- Full backoff doubles per attempt, capped at 10 minutes; jitter spreads it over [50%, 100%].
  delay_ms := least(t.backoff_base_ms * power(2, t.attempts - 1), 600000) * (0.5 + random() / 2);
  update public.background_tasks
     set status = 'queued', run_after = now() + make_interval(secs => delay_ms / 1000),
         lease_owner = null, lease_expires_at = null
   where id = p_task_id;
  perform engine.dispatch_next_for_key(t.concurrency_key);
  return 'queued';
end $$;

-- Fan-out: creates the children (idempotently, keyed by parent + child key) and parks the parent
-- in 'waiting' until every child has ended. Each child: {key, kind, worker, payload,
-- concurrency_key?, max_attempts?}.
create function engine.await_children(
  p_task_id uuid,
  p_token bigint,
  p_children jsonb,
  p_metadata jsonb default '{}'::jsonb
) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  parent public.background_tasks;
  child jsonb;
  created public.background_tasks;
begin
  parent := engine.lock_lease(p_task_id, p_token);
  for child in select * from jsonb_array_elements(coalesce(p_children, '[]'::jsonb)) loop
    insert into public.background_tasks
      (user_id, kind, worker, payload, idempotency_key, parent_id, concurrency_key, max_attempts)
    values
      (parent.user_id, child ->> 'kind', child ->> 'worker', coalesce(child -> 'payload', '{}'),
       p_task_id::text || ':' || (child ->> 'key'), p_task_id, child ->> 'concurrency_key',
       coalesce((child ->> 'max_attempts')::integer, 5))
    on conflict (kind, idempotency_key) do nothing
    returning * into created;
    if created.id is not null then
      perform engine.dispatch_task(created.id);
    end if;
    created := null;
  end loop;
  update public.background_tasks
     set status = 'waiting', metadata = metadata || coalesce(p_metadata, '{}'::jsonb),
         lease_owner = null, lease_expires_at = null, stalls = 0
   where id = p_task_id;
  perform engine.dispatch_next_for_key(parent.concurrency_key);
  -- Children that already ended (a re-run of this step) must not leave the parent asleep.
  perform engine.wake_parent(p_task_id);
  return true;
end $$;

-- Records a step's result (fenced). A step already recorded keeps its first result.
create function engine.complete_step(p_task_id uuid, p_token bigint, p_name text, p_result jsonb)
returns void
language plpgsql security definer set search_path = '' as $$
begin
  perform engine.lock_lease(p_task_id, p_token);
  -- clock_timestamp, not now(): the moment the result was recorded, not when its transaction began.
  insert into public.background_task_steps (task_id, name, status, result, completed_at)
  values (p_task_id, p_name, 'completed', p_result, clock_timestamp())
  on conflict (task_id, name) do update
     set status = 'completed', result = excluded.result, completed_at = clock_timestamp()
   where background_task_steps.status <> 'completed';
  update public.background_tasks set stalls = 0 where id = p_task_id;
end $$;

-- Phase one of a provider call: the provider's task id, recorded right after submission, so a
-- resumed slice polls it instead of paying for a second submission.
create function engine.record_step_submission(p_task_id uuid, p_token bigint, p_name text, p_external_id text)
returns void
language plpgsql security definer set search_path = '' as $$
begin
  perform engine.lock_lease(p_task_id, p_token);
  insert into public.background_task_steps (task_id, name, status, external_id)
  values (p_task_id, p_name, 'submitted', p_external_id)
  on conflict (task_id, name) do nothing;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Terminal transitions, fan-in, cancellation
-- ---------------------------------------------------------------------------------------------

-- Wakes a waiting parent once none of its children is still open. The parent row is locked
-- first so two children ending at once serialise and the second one sees the first.
create function engine.wake_parent(p_parent_id uuid) returns void
language plpgsql as $$
declare
  parent public.background_tasks;
begin
  select * into parent from public.background_tasks where id = p_parent_id for update;
  if not found or parent.status <> 'waiting' then
    return;
  end if;
  if exists (select 1 from public.background_tasks
              where parent_id = p_parent_id and not engine.is_terminal(status)) then
    return;
  end if;
  update public.background_tasks
     set status = 'queued', run_after = now()
   where id = p_parent_id;
  perform engine.dispatch_task(p_parent_id);
end $$;

-- Rings for the oldest due task waiting on a concurrency key that just freed a slot.
create function engine.dispatch_next_for_key(p_key text) returns void
language plpgsql as $$
declare
  next_id uuid;
begin
  if p_key is null then
    return;
  end if;
  select id into next_id from public.background_tasks
   where concurrency_key = p_key and status = 'queued' and run_after <= now()
   order by run_after, created_at limit 1
   for update skip locked;
  if next_id is not null then
    perform engine.dispatch_task(next_id);
  end if;
end $$;

create function engine.after_terminal(p_task_id uuid) returns void
language plpgsql as $$
declare
  t public.background_tasks;
  child_id uuid;
begin
  select * into t from public.background_tasks where id = p_task_id;
  -- A parent that ended leaves no orphans running.
  for child_id in select id from public.background_tasks
                   where parent_id = p_task_id and not engine.is_terminal(status) loop
    perform engine.cancel_task(child_id, 'parent ended');
  end loop;
  if t.parent_id is not null then
    perform engine.wake_parent(t.parent_id);
  end if;
  perform engine.dispatch_next_for_key(t.concurrency_key);
end $$;

-- Cancels a task and its open descendants. The fencing token moves on, so a worker still running
-- a slice is refused at its next write. Returns false if the task had already ended.
create function engine.cancel_task(p_task_id uuid, p_reason text default 'cancelled')
returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
begin
  update public.background_tasks
     set status = 'cancelled', finished_at = now(), fencing_token = fencing_token + 1,
         lease_owner = null, lease_expires_at = null,
         last_error = jsonb_build_object('code', 'cancelled', 'message', p_reason)
   where id = p_task_id and not engine.is_terminal(status)
  returning * into t;
  if not found then
    return false;
  end if;
  perform engine.after_terminal(p_task_id);
  return true;
end $$;

-- Makes an interrupted or failed task run again from its checkpoint. Refused (RF003) while a
-- live lease is held: the task is still being worked on.
create function engine.resume_task(p_task_id uuid) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
begin
  select * into t from public.background_tasks where id = p_task_id for update;
  if not found then
    return null;
  end if;
  if t.status = 'running' and t.lease_expires_at > now() then
    raise exception 'task % is still active', p_task_id using errcode = 'RF003';
  end if;
  if t.status in ('succeeded', 'waiting') then
    raise exception 'task % is %, nothing to resume', p_task_id, t.status using errcode = 'RF004';
  end if;
  update public.background_tasks
     set status = 'queued', run_after = now(), lease_owner = null, lease_expires_at = null,
         finished_at = null, stalls = 0,
         attempts = case when t.status in ('failed', 'cancelled') then 0 else attempts end,
         fencing_token = fencing_token + 1
   where id = p_task_id
  returning * into t;
  perform engine.dispatch_task(p_task_id);
  return t;
end $$;

-- Owner-facing RPC wrappers: act only on the caller's own tasks (auth.uid()).
create function public.cancel_task(task_id uuid) returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  if not exists (select 1 from public.background_tasks
                  where id = task_id and user_id = auth.uid()) then
    raise exception 'task % not found', task_id using errcode = 'P0002';
  end if;
  return engine.cancel_task(task_id, 'cancelled by owner');
end $$;

create function public.resume_task(task_id uuid) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
begin
  if not exists (select 1 from public.background_tasks
                  where id = task_id and user_id = auth.uid()) then
    raise exception 'task % not found', task_id using errcode = 'P0002';
  end if;
  return engine.resume_task(task_id);
end $$;

-- ---------------------------------------------------------------------------------------------
-- Sweeper: re-rings what the doorbell missed. pg_net can drop or stall requests, and a killed
-- worker leaves its lease to expire; neither may leave a task stuck.
-- ---------------------------------------------------------------------------------------------

create function engine.sweep(p_limit integer default 500) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  s engine.settings;
  t record;
  rung integer := 0;
  parent_id uuid;
begin
  select * into s from engine.settings;
  if s.functions_url is null then
    return 0;
  end if;
  for t in
    select id from public.background_tasks
     where (status = 'queued' and run_after <= now() and worker is not null
            and (dispatched_at is null or dispatched_at < run_after
                 or dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0)))
        or (status = 'running' and lease_expires_at < now()
            and (dispatched_at is null or dispatched_at < lease_expires_at
                 or dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0)))
        or (status = 'running' and lease_expires_at is null
            and (dispatched_at is null
                 or dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0)))
     order by run_after
     limit p_limit
     for update skip locked
  loop
    perform engine.dispatch_task(t.id);
    rung := rung + 1;
  end loop;
  -- Fan-in that a lost wake-up left asleep.
  for parent_id in
    select p.id from public.background_tasks p
     where p.status = 'waiting'
       and not exists (select 1 from public.background_tasks c
                        where c.parent_id = p.id and not engine.is_terminal(c.status))
     limit p_limit
  loop
    perform engine.wake_parent(parent_id);
  end loop;
  return rung;
end $$;

-- Sweeps every sweep_every_ms for about a minute, committing after each pass so each pass's
-- doorbells go out at once. pg_cron < 1.5 only has minute schedules; this keeps recovery in
-- seconds there too.
create procedure engine.run_sweeper(p_for_seconds integer default 55)
language plpgsql as $$
declare
  deadline timestamptz := clock_timestamp() + make_interval(secs => p_for_seconds);
  every_ms integer;
begin
  loop
    perform engine.sweep();
    commit;
    select sweep_every_ms into every_ms from engine.settings;
    exit when clock_timestamp() + make_interval(secs => every_ms / 1000.0) > deadline;
    perform pg_sleep(every_ms / 1000.0);
  end loop;
  if to_regclass('cron.job_run_details') is not null then
    execute 'delete from cron.job_run_details where end_time < now() - interval ''1 day''';
  end if;
end $$;

do $$
declare
  cron_version text;
begin
  select extversion into cron_version from pg_extension where extname = 'pg_cron';
  if cron_version is null then
    raise notice 'pg_cron not installed: schedule engine.run_sweeper yourself';
    return;
  end if;
  if string_to_array(split_part(cron_version, '-', 1), '.')::int[] >= array[1, 5] then
    perform cron.schedule('reelforge-sweeper', '10 seconds', 'call engine.run_sweeper(0)');
  else
    perform cron.schedule('reelforge-sweeper', '* * * * *', 'call engine.run_sweeper(55)');
  end if;
end $$;

-- Only the service role (Edge Functions, cron) drives the engine; owners use the public RPCs.
revoke all on all functions in schema engine from public, anon, authenticated;
grant execute on all functions in schema engine to service_role;
revoke all on function public.cancel_task(uuid), public.resume_task(uuid) from public, anon;
grant execute on function public.cancel_task(uuid), public.resume_task(uuid)
  to authenticated, service_role;
