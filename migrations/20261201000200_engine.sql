-- Durable task engine on public.background_tasks.
--
-- Every state transition is a SQL function here, so Edge Functions, pg_cron and the front end (RPC)
-- all go through the same guarded code. A worker holds a task through a short lease and a fencing
-- token: each claim bumps the token, and every write a worker makes names its token, so a worker
-- that lost its lease (killed, frozen, slow) can never overwrite newer work.

-- ---------------------------------------------------------------------------------------------
-- Tables
-- ---------------------------------------------------------------------------------------------

create table public.background_tasks (
  id uuid primary key default gen_random_uuid(),
  -- Null only for jobs no user started (see engine.task_row_written).
  user_id uuid references auth.users (id) on delete cascade,
  kind text not null,
  -- The name of the Edge Function whose doorbell runs this task's slices (which kind goes to which
  -- function: shared/engine/task-routes.ts); null for tasks pulled by a worker process with
  -- engine.claim_next_task (render workers).
  function_name text,
  status text not null default 'queued',
  payload jsonb not null default '{}'::jsonb,
  -- Checkpoint and progress details (a clone keeps metadata.clone.{progress,checkpoint,options}).
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
  -- A slice also holds a session advisory lock on its task for as long as it runs (engine.hold_lease);
  -- Postgres drops that lock the moment the worker's connection dies, so the sweeper and the
  -- doorbell take the task back at once instead of waiting for the lease to expire. Workers that
  -- don't take the lock (render workers) fall back to lease expiry.
  lease_locked_at timestamptz,
  -- A doorbell that reached a worker as it died (a 546, a boot failure, a timeout) is rung again
  -- at once: pg_net's response for this request id already says it was lost.
  dispatch_request_id bigint,
  -- Resumes by the owner: each one resets the task's attempts, so without a bound a user could
  -- retry a paid step forever.
  resumes integer not null default 0
)
-- Room on each page for a task's next versions: every claim and every end writes a new version of
-- the row (never HOT: status is in the partial indexes' predicates). On full pages each new version
-- went looking for a page with room, and beside a million finished tasks a claim+complete touched
-- several times the heap pages it touches on a fresh table; with room left here it touches about
-- as many as fresh (issue 17; bench/README.md, "With a history").
with (fillfactor = 70);

comment on table public.background_tasks is
  'Durable tasks run in slices by Edge Functions; state changes only through engine.* functions.';
comment on column public.background_tasks.lease_locked_at is
  'When the current lease holder took its liveness lock (engine.hold_lease); null = lease expiry only.';

comment on column public.background_tasks.dispatch_request_id is
  'pg_net request id of the last doorbell (engine.dispatch_task); its response tells the sweeper it was lost.';

-- One task per kind and idempotency key. Partial: a task without a key (every pulled render job,
-- the engine benchmark's tasks) has no entry, so its claim and its end, each of which writes a new
-- row version and so an entry in every index whose predicate it meets, write one entry fewer.
-- Keys stay unique as before (nulls never conflicted); `on conflict` names the predicate.
create unique index background_tasks_kind_idempotency_key on public.background_tasks (kind, idempotency_key)
  where idempotency_key is not null;

-- Due tasks with a doorbell, in run_after order: the sweeper's re-rings read them off this index.
-- Pulled tasks (function_name null, claimed by kind) have no entry: their claims read the per-kind
-- due index below, and with an entry here too a generic plan could take this one for a claim
-- (it is ordered the same way) and walk every due task of other kinds ahead of the first of its
-- own (tests/integration/engine-history.test.ts, "near-empty table").
create index background_tasks_due_idx on public.background_tasks (run_after, created_at)
  where status = 'queued' and function_name is not null;

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
  -- A render worker seen within this long counts as live (engine.render_workers).
  render_worker_live_seconds integer not null default 30,
  render_wait_alert_seconds integer not null default 60,
  constraint settings_singleton check (singleton)
);
comment on column engine.settings.internal_secret is
  'LOCAL STACK ONLY: plaintext fallback for the internal dispatch secret where there is no Vault. Always null on hosted projects (the secret is in vault.secrets as reelforge_internal_secret).';

comment on column engine.settings.render_wait_alert_seconds is
  'A film whose render job has waited this long with no live render worker says so in its status.';

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

-- (background_tasks stamps updated_at in engine.task_row_written, below.)

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

-- An account's deletion locks its auth.users row first, then every row of the account by cascade
-- (its tasks, its films). A transaction that locks rows of an account and then writes more of
-- them takes the owner's row first, key-share, in the deletion's order: a foreign-key check on
-- the owner (a new child's insert, a task's second update in one transaction) waits for that row,
-- and taken after the task rows it deadlocked with the deletion, which Postgres broke by failing
-- one side, at times the deletion. First, the two queue instead. Key share waits only for a
-- deletion or a change of the user's id. A task without an owner locks nothing.
create function engine.lock_owner(p_user_id uuid) returns void
language plpgsql set search_path = '' as $$
begin
  perform from auth.users u where u.id = p_user_id for key share;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Enqueue
-- ---------------------------------------------------------------------------------------------

-- Creates a task (or returns the existing one for the same kind + idempotency key).
create function engine.enqueue_task(
  p_user_id uuid,
  p_kind text,
  p_function text,
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
    (user_id, kind, function_name, payload, idempotency_key, max_attempts, concurrency_key, parent_id,
     run_after, metadata, backoff_base_ms)
  values
    (p_user_id, p_kind, p_function, coalesce(p_payload, '{}'::jsonb), p_idempotency_key,
     p_max_attempts, p_concurrency_key, p_parent_id, p_run_after,
     coalesce(p_metadata, '{}'::jsonb), p_backoff_base_ms)
  on conflict (kind, idempotency_key) where idempotency_key is not null do nothing
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
-- hand-off exists only if the checkpoint committed (transactional outbox). The row is locked
-- first and written once, its doorbell with it (engine.ring_doorbell): written twice, its second
-- write waited for the parent's and the owner's rows while holding its own, and so deadlocked
-- with a parent's cancel or an account's deletion that held those and wanted this row.
create function engine.hand_off_task(
  p_task_id uuid,
  p_token bigint,
  p_metadata jsonb default '{}'::jsonb,
  p_progress numeric default null
) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  t record;
  request_id bigint;
begin
  select b.function_name, b.concurrency_key into t from public.background_tasks b
   where b.id = p_task_id and b.fencing_token = p_token and b.status = 'running'
     for no key update;
  if not found then
    return false;
  end if;
  request_id := engine.ring_doorbell(p_task_id, t.function_name);
  update public.background_tasks
     set metadata = metadata || coalesce(p_metadata, '{}'::jsonb),
         progress = coalesce(p_progress, progress),
         lease_owner = null, lease_expires_at = null, stalls = 0,
         dispatched_at = case when request_id is null then dispatched_at else now() end,
         dispatch_request_id = coalesce(request_id, dispatch_request_id)
   where id = p_task_id;
  perform engine.dispatch_next_for_key(t.concurrency_key);
  return true;
end $$;

-- Ends the task as succeeded, fenced by the caller's token, and runs what that sets off. False
-- when the caller no longer holds the task: nothing changed. Like every function that ends a
-- task on request (fail_task, cancel_task), it locks the task's parent before the task: an end
-- wakes the parent (engine.after_terminal), and ending a parent locks it and then its open
-- children, so a child ending at the same moment must take the parent first too, or each would
-- hold what the other waits for. The lock is taken inside the ending update, by a subquery that
-- names no column of the updated row: Postgres runs it once, before the scan that finds the task,
-- so before the update locks the task's row (a separate statement for it cost every completion
-- one more statement).
create function engine.complete_task(
  p_task_id uuid,
  p_token bigint,
  p_result jsonb default null,
  p_metadata jsonb default '{}'::jsonb
) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  family record;
begin
  -- A lone task (no parent, no key: the common case, and the engine benchmark's) ends in one
  -- statement that writes its own row, and more only for an open child or a waiter. (One
  -- statement for both cases, switched by a variable, made Postgres plan it again on every call.)
  update public.background_tasks b
     set status = 'succeeded', result = p_result, progress = 100,
         metadata = b.metadata || coalesce(p_metadata, '{}'::jsonb),
         lease_owner = null, lease_expires_at = null, finished_at = now(), stalls = 0
   where b.id = p_task_id and b.fencing_token = p_token and b.status = 'running'
     and b.parent_id is null and b.concurrency_key is null
  returning * into t;
  if not found then
    select b.user_id, b.parent_id, b.concurrency_key into family from public.background_tasks b where b.id = p_task_id;
    -- A lone task no longer held, or gone.
    if family.parent_id is null and family.concurrency_key is null then
      return false;
    end if;
    -- Any other: its owner (engine.lock_owner), its parent (above), then itself.
    perform engine.lock_owner(family.user_id);
    update public.background_tasks b
       set status = 'succeeded', result = p_result, progress = 100,
           metadata = b.metadata || coalesce(p_metadata, '{}'::jsonb),
           lease_owner = null, lease_expires_at = null, finished_at = now(), stalls = 0
     where b.id = p_task_id and b.fencing_token = p_token and b.status = 'running'
       and (select count(*) from (select from public.background_tasks parent
                                   where parent.id = family.parent_id
                                     for update) locked) >= 0
    returning * into t;
    if not found then
      return false;
    end if;
  end if;
  perform engine.after_terminal(t);
  return true;
end $$;

-- Records a failed attempt: retry later with exponential backoff and jitter, or fail for good
-- when attempts are spent or the error is not retryable. The error is kept either way. One update
-- writes the attempt and its outcome: a second update of a row its transaction already wrote makes
-- Postgres check the row's foreign keys again, which key-share locks the parent and the owner's
-- auth.users row.
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
  family record;
begin
  select b.user_id, b.parent_id, b.concurrency_key into family from public.background_tasks b where b.id = p_task_id;
  -- The owner first, as engine.complete_task takes it.
  if family.parent_id is not null or family.concurrency_key is not null then
    perform engine.lock_owner(family.user_id);
  end if;
  update public.background_tasks b
     set attempts = b.attempts + 1, last_error = p_error,
         metadata = b.metadata || coalesce(p_metadata, '{}'::jsonb),
         lease_owner = null, lease_expires_at = null,
         -- Failed for good, or queued again after a full backoff that doubles per attempt, capped
         -- at 10 minutes, with jitter over [50%, 100%].
         (status, finished_at, run_after) = (
           select case when a.spent then 'failed' else 'queued' end,
                  case when a.spent then now() else b.finished_at end,
                  case when a.spent then b.run_after
                       else now() + make_interval(secs => least(b.backoff_base_ms * power(2, b.attempts), 600000)
                                                          * (0.5 + random() / 2) / 1000) end
             -- Spent: not retryable, or this was the last attempt allowed.
             from (select not coalesce(p_retryable, true) or b.attempts + 1 >= b.max_attempts as spent) a)
   where b.id = p_task_id and b.fencing_token = p_token and b.status = 'running'
     -- The parent first (engine.complete_task).
     and (select count(*) from (select from public.background_tasks parent
                                 where parent.id = family.parent_id
                                   for update) locked) >= 0
  returning * into t;
  if not found then
    return null;
  end if;
  if t.status = 'failed' then
    perform engine.after_terminal(t);
    return 'failed';
  end if;
  perform engine.dispatch_next_for_key(t.concurrency_key);
  return 'queued';
end $$;

-- Fan-out: creates the children (idempotently, keyed by parent + child key) and parks the parent
-- in 'waiting' until every child has ended. Each child: {key, kind, function_name, payload,
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
  -- The owner first (engine.lock_owner): each child's insert checks its owner.
  perform engine.lock_owner((select b.user_id from public.background_tasks b where b.id = p_task_id));
  parent := engine.lock_lease(p_task_id, p_token);
  for child in select * from jsonb_array_elements(coalesce(p_children, '[]'::jsonb)) loop
    insert into public.background_tasks
      (user_id, kind, function_name, payload, idempotency_key, parent_id, concurrency_key, max_attempts)
    values
      (parent.user_id, child ->> 'kind', child ->> 'function_name', coalesce(child -> 'payload', '{}'),
       p_task_id::text || ':' || (child ->> 'key'), p_task_id, child ->> 'concurrency_key',
       coalesce((child ->> 'max_attempts')::integer, 5))
    on conflict (kind, idempotency_key) where idempotency_key is not null do nothing
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

-- A recorded submission given up: its job was cancelled with its task (a film's cancel,
-- film.cancel_jobs) and the task was resumed since. The step is then as if never submitted, so
-- the resumed slice submits again instead of polling a job that will never finish. Only that
-- job's record goes: a step completed, or recorded with another job since, is left alone.
create function engine.withdraw_step_submission(p_task_id uuid, p_token bigint, p_name text, p_external_id text)
returns void
language plpgsql security definer set search_path = '' as $$
begin
  perform engine.lock_lease(p_task_id, p_token);
  delete from public.background_task_steps
   where task_id = p_task_id and name = p_name and status = 'submitted' and external_id = p_external_id;
end $$;

-- A task's children that have not ended (an inlined SQL function: each caller plans it as its own
-- read of the parent index).
create function engine.open_children(p_parent_id uuid) returns setof uuid
language sql stable as $$
  select c.id from public.background_tasks c where c.parent_id = p_parent_id and not engine.is_terminal(c.status)
$$;

-- Kinds whose end something outside the engine follows (a film follows its produce task,
-- public.movie_follows_its_task): engine.after_terminal notes each such end in
-- engine.watched_ends, in the ending transaction, and the follower's deferred trigger there acts
-- on it at commit. Not a trigger on background_tasks itself: Postgres prepares a row trigger's
-- WHEN clause for every statement that writes the table, so every claim and every end paid for
-- the few ends followed (one claimer draining 4,000 no-op tasks ran 6-10 % faster without the
-- film's trigger there, nine runs each way).
create table engine.end_watchers (
  kind text primary key
);

-- Followed ends of the open transactions: each row is inserted by after_terminal and deleted by
-- its follower at commit, so the table is empty between transactions. No foreign key to the task:
-- it would add a trigger to every write of background_tasks.
create table engine.watched_ends (
  task_id uuid primary key
);

alter table engine.end_watchers enable row level security;

alter table engine.watched_ends enable row level security;

revoke all on engine.end_watchers, engine.watched_ends from public, anon, authenticated;

-- What a task's end sets off, run by every engine function that ends one (complete_task,
-- fail_task for good, cancel_task, start_lease on a lease lost once too often) in the ending
-- transaction: open children are cancelled, the parent and the tasks parked on this one are woken,
-- and a slot the task freed under its key is rung for the next due task. t is the task's row as
-- its caller read or wrote it (its id, parent and key never change).
create function engine.after_terminal(t public.background_tasks) returns void
language plpgsql as $$
declare
  child_id uuid;
begin
  if exists (select from engine.end_watchers w where w.kind = t.kind) then
    insert into engine.watched_ends (task_id) values (t.id) on conflict do nothing;
  end if;
  -- Most tasks set nothing off (no parent, no key, no open child, nobody parked on them): one
  -- read says so. It runs after the ending update, as wake_waiters does, so a park committed
  -- while that update waited for the task's row is seen (engine.await_tasks).
  if t.parent_id is null and t.concurrency_key is null
     and not exists (select from engine.open_children(t.id))
     and not exists (select from engine.task_waits w where w.target_id = t.id) then
    return;
  end if;
  -- A parent that ended leaves no orphans running.
  for child_id in select * from engine.open_children(t.id) loop
    perform engine.cancel_task(child_id, 'parent ended');
  end loop;
  if t.parent_id is not null then
    perform engine.wake_parent(t.parent_id);
  end if;
  perform engine.wake_waiters(t.id);
  perform engine.dispatch_next_for_key(t.concurrency_key);
end $$;

-- Cancels a task and its open descendants. The fencing token moves on, so a worker still running
-- a slice is refused at its next write. Returns false if the task had already ended.
create function engine.cancel_task(p_task_id uuid, p_reason text default 'cancelled')
returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  family record;
begin
  select b.user_id, b.parent_id into family from public.background_tasks b where b.id = p_task_id;
  -- The owner first (engine.lock_owner): a cancel ends a family, writing many of its rows.
  perform engine.lock_owner(family.user_id);
  update public.background_tasks
     set status = 'cancelled', finished_at = now(), fencing_token = fencing_token + 1,
         lease_owner = null, lease_expires_at = null,
         last_error = jsonb_build_object('code', 'cancelled', 'message', p_reason)
   where id = p_task_id and not engine.is_terminal(status)
     -- The parent first (engine.complete_task).
     and (select count(*) from (select from public.background_tasks parent
                                 where parent.id = family.parent_id
                                   for update) locked) >= 0
  returning * into t;
  if not found then
    return false;
  end if;
  -- A task cancelled while parked waits for nothing any more (a woken one forgot its waits).
  delete from engine.task_waits where waiter_id = p_task_id;
  perform engine.after_terminal(t);
  return true;
end $$;

-- Owner-facing RPC wrappers: act only on the caller's own tasks (auth.uid()), and only on what an
-- owner may cancel (engine.cancel_by_owner, beside engine.resume_by_owner in the usage migration).
create function public.cancel_task(task_id uuid) returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  if not exists (select 1 from public.background_tasks
                  where id = task_id and user_id = auth.uid()) then
    raise exception 'task % not found', task_id using errcode = 'P0002';
  end if;
  return engine.cancel_by_owner(task_id);
end $$;

grant execute on function public.cancel_task(uuid) to authenticated;

-- Restarting a task from zero (clone-database's `restart`): the running worker is fenced out, the
-- recorded steps are forgotten, and the task starts again with the metadata the caller gives.
create function engine.restart_task(p_task_id uuid, p_metadata jsonb) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
begin
  -- The owner first (engine.lock_owner).
  perform engine.lock_owner((select b.user_id from public.background_tasks b where b.id = p_task_id));
  select * into t from public.background_tasks where id = p_task_id for update;
  if not found then
    return null;
  end if;
  delete from public.background_task_steps where task_id = p_task_id;
  update public.background_tasks
     set status = 'queued', run_after = now(), metadata = coalesce(p_metadata, '{}'::jsonb),
         progress = 0, result = null, attempts = 0, stalls = 0, last_error = null,
         lease_owner = null, lease_expires_at = null, finished_at = null,
         fencing_token = fencing_token + 1
   where id = p_task_id
  returning * into t;
  perform engine.dispatch_task(p_task_id);
  return t;
end $$;

-- A slice claimed by a worker at the very end of its wall clock has no time to work: it gives
-- the task back to be run after that worker is gone (the sweeper rings when it is due), instead of
-- handing off to the same dying worker again and again.
create function engine.defer_task(p_task_id uuid, p_token bigint, p_delay_ms integer) returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  update public.background_tasks
     set status = 'queued', run_after = now() + make_interval(secs => p_delay_ms / 1000.0),
         lease_owner = null, lease_expires_at = null
   where id = p_task_id and fencing_token = p_token and status = 'running';
  return found;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Liveness: a slice's session lock on its task
-- ---------------------------------------------------------------------------------------------

-- Two-key advisory lock: (7301, hash of the task id). A hash collision only makes a dead holder
-- look alive, which falls back to lease expiry.
create function engine.lease_lock_id(p_task_id uuid) returns integer
language sql immutable as $$ select hashtext(p_task_id::text) $$;

-- Called by the lease holder on the connection it keeps for the slice: takes the session lock and
-- marks the lease as watched. False (and no lock kept) when the token is stale or a zombie still
-- holds the lock.
create function engine.hold_lease(p_task_id uuid, p_token bigint) returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  if not pg_catalog.pg_try_advisory_lock(7301, engine.lease_lock_id(p_task_id)) then
    return false;
  end if;
  update public.background_tasks set lease_locked_at = now()
   where id = p_task_id and fencing_token = p_token and status = 'running';
  if not found then
    perform pg_catalog.pg_advisory_unlock(7301, engine.lease_lock_id(p_task_id));
    return false;
  end if;
  return true;
end $$;

create function engine.release_lease(p_task_id uuid) returns void
language sql security definer set search_path = '' as $$
  select null from (select pg_catalog.pg_advisory_unlock(7301, engine.lease_lock_id(p_task_id))) as unlocked
$$;

-- Gives the task a new lease for p_worker_id under a new fencing token. Taking a lease that was
-- lost (the holder died or expired) counts as a stall; at max_stalls the task fails `worker_lost`
-- instead. A new lease starts unwatched (lease_locked_at null) until its holder calls hold_lease,
-- or watched when the claimer already holds the task's liveness lock (p_watched, claim_task's
-- p_lock_held). In this one update either way: a second update of a row this transaction wrote
-- checks its foreign keys again (Postgres skips the check only for a row it did not write), and
-- that check key-share locks the parent task and the owner's auth.users row. A parent that was
-- parking on this very task (await_tasks: its own row locked, then its targets) deadlocked with
-- such a claim (tests/integration/await-claim-lock-order.test.ts).
-- The caller holds t's row. Failing it wakes its parent (after_terminal), and a parent's end locks
-- the parent and then its open children, this one among them: waiting here for a parent some
-- other transaction holds could deadlock with that end. So the parent is taken only if free;
-- otherwise nothing changes (null: not claimed) and a later claim or sweep fails the task.
-- A task whose lease was lost once too often (this loss is stall number max_stalls) ends failed,
-- `worker_lost`, with what its end sets off. The parent is locked first, as every end locks it
-- (engine.complete_task); when another transaction holds it, nothing changes and false is
-- returned (the next claim or sweep tries again).
create function engine.fail_stalled(t public.background_tasks) returns boolean
language plpgsql as $$
begin
  if t.parent_id is not null then
    perform from public.background_tasks parent where parent.id = t.parent_id for update skip locked;
    if not found then
      return false;
    end if;
  end if;
  update public.background_tasks
     set status = 'failed', finished_at = now(), lease_owner = null, lease_expires_at = null,
         lease_locked_at = null, fencing_token = fencing_token + 1, stalls = stalls + 1,
         last_error = jsonb_build_object('code', 'worker_lost',
           'message', format('worker lost the lease %s times in a row without progress', stalls + 1))
   where id = t.id;
  perform engine.after_terminal(t);
  return true;
end $$;

create function engine.start_lease(
  t public.background_tasks,
  p_worker_id text,
  p_lease_seconds integer,
  p_watched boolean default false
) returns public.background_tasks
language plpgsql as $$
declare
  lost_lease boolean := t.status = 'running' and t.lease_expires_at is not null;
  claimed public.background_tasks;
begin
  if lost_lease and t.stalls + 1 >= t.max_stalls then
    perform engine.fail_stalled(t);
    return null;
  end if;
  update public.background_tasks
     set status = 'running',
         lease_owner = p_worker_id,
         lease_expires_at = now() + make_interval(secs => p_lease_seconds),
         lease_locked_at = case when p_watched then now() end,
         fencing_token = fencing_token + 1,
         stalls = stalls + case when lost_lease then 1 else 0 end,
         started_at = coalesce(started_at, now())
   where id = t.id
  returning * into claimed;
  return claimed;
end $$;

-- What a resume is for: a task that ended failed or cancelled, or one left `running` by a worker
-- that is gone (its lease ran out or its liveness lock dropped; a task whose holder died is not
-- "still active"). Raises RF003 while a live holder works on it, RF004 for anything that goes on
-- by itself or is done: a resume there would only bump its token and reset its attempts (and an
-- owner's is counted and charged, engine.resume_by_owner). The messages are read by owners.
create function engine.assert_resumable(t public.background_tasks) returns void
language plpgsql as $$
begin
  if t.status = 'running' and t.lease_expires_at > now() and engine.lease_holder_alive(t) then
    raise exception 'task % is still active', t.id using errcode = 'RF003';
  end if;
  if t.status = 'succeeded' then
    raise exception 'task % succeeded: nothing to resume', t.id using errcode = 'RF004';
  end if;
  if t.status = 'waiting' then
    raise exception 'task % is waiting for other tasks and goes on when they end: nothing to resume', t.id
      using errcode = 'RF004';
  end if;
  -- Queued: due for its next slice, or waiting out the backoff before its retry.
  if t.status = 'queued' then
    raise exception 'task % is queued and runs by itself: nothing to resume', t.id using errcode = 'RF004';
  end if;
  -- Handed off (engine.hand_off_task): its next slice's doorbell is on its way.
  if t.status = 'running' and t.lease_expires_at is null then
    raise exception 'task % is between two slices and goes on by itself: nothing to resume', t.id
      using errcode = 'RF004';
  end if;
end $$;

-- The engine's own restart of a task: queued again now, with fresh attempts when it had ended
-- failed or cancelled. Only what engine.assert_resumable allows. The children its end cut off
-- (cancelled in its ending transaction: the same finished_at) are resumed with it, and their own
-- in turn, while it waits for them as it did before its end: a re-run handler finds its children
-- by key and takes them as ended (a film resumed after a cancel went on to its assembly without
-- the scenes it had in flight, and its end then cancelled them again).
create function engine.resume_task(p_task_id uuid) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  cut_off uuid[];
  child_id uuid;
begin
  -- The owner first (engine.lock_owner).
  perform engine.lock_owner((select b.user_id from public.background_tasks b where b.id = p_task_id));
  select * into t from public.background_tasks where id = p_task_id for update;
  if not found then
    return null;
  end if;
  perform engine.assert_resumable(t);
  cut_off := array(
    select c.id from public.background_tasks c
     where c.parent_id = p_task_id and c.status = 'cancelled' and c.finished_at = t.finished_at
     order by c.created_at, c.id);
  update public.background_tasks
     set status = case when cardinality(cut_off) > 0 then 'waiting' else 'queued' end,
         run_after = now(), lease_owner = null, lease_expires_at = null,
         lease_locked_at = null, finished_at = null, stalls = 0,
         attempts = case when t.status in ('failed', 'cancelled') then 0 else attempts end,
         fencing_token = fencing_token + 1
   where id = p_task_id
  returning * into t;
  if cardinality(cut_off) = 0 then
    perform engine.dispatch_task(p_task_id);
  end if;
  -- Parent first, as every end takes them; the last of them to end wakes it (engine.wake_parent).
  foreach child_id in array cut_off loop
    perform engine.resume_task(child_id);
  end loop;
  return t;
end $$;

-- A heartbeat: only extends the lease. Unlike checkpoint_task it leaves `stalls` alone, since a
-- heartbeat is not progress: a job that kills its worker every time, minutes in, must still end
-- `worker_lost` rather than be re-claimed forever.
create function engine.renew_lease(p_task_id uuid, p_token bigint, p_lease_seconds integer default 30)
returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  update public.background_tasks
     set lease_expires_at = now() + make_interval(secs => p_lease_seconds)
   where id = p_task_id and fencing_token = p_token and status = 'running';
  return found;
end $$;

-- Pulled tasks (function_name is null: render and local_media jobs) have no doorbell. A queued pulled
-- task is announced on channel reelforge_pulled (payload: its kind) at commit, and idle workers
-- LISTENing there claim it at once instead of waiting for their next poll, which the film's
-- critical path would pay once per render. Polling stays as the fallback.
-- A new task is announced after its insert (an idempotent enqueue that inserts nothing announces
-- nothing). A task queued again (a retry, a wake-up, a resume) is announced by the trigger that
-- stamps updated_at on every update, not by a trigger of its own: Postgres prepares each row
-- trigger's WHEN condition again in every statement that writes the table, and every run writes
-- its task at least twice (claim, end).
create function engine.announce_pulled_task() returns trigger
language plpgsql as $$
begin
  perform pg_notify('reelforge_pulled', new.kind);
  return null;
end $$;

create trigger background_tasks_announce_pulled
  after insert on public.background_tasks
  for each row
  when (new.function_name is null and new.status = 'queued')
  execute function engine.announce_pulled_task();

-- A task row's invariants, checked as each row is written (background_tasks_written), which also
-- stamps an update's updated_at and announces a pulled task queued again. A trigger, not CHECK
-- constraints: Postgres reads a table's CHECK expressions back from the catalog and prepares them
-- for every statement that writes it, and the engine writes a task at least twice per run; as one
-- CHECK calling a function that held these rules, that cost ~5 % of a claim+complete's database
-- CPU in a perf profile of the engine benchmark (as five constraints, more than the index writes).
-- A violation names the rule broken and, as constraint_name, the constraint that held it before.
-- It is the table's only BEFORE row trigger, so nothing changes a row after it is checked.
create function engine.task_row_written() returns trigger
language plpgsql as $$
begin
  if new.status not in ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled') then
    raise exception 'background_tasks.status % is not a task status', new.status
      using errcode = 'check_violation', constraint = 'background_tasks_status_check';
  end if;
  if new.progress not between 0 and 100 then
    raise exception 'background_tasks.progress % is outside 0..100', new.progress
      using errcode = 'check_violation', constraint = 'background_tasks_progress_range';
  end if;
  if new.attempts < 0 or new.max_attempts < 1 then
    raise exception 'background_tasks.attempts % of max_attempts % is invalid', new.attempts, new.max_attempts
      using errcode = 'check_violation', constraint = 'background_tasks_attempts_check';
  end if;
  if new.resumes < 0 then
    raise exception 'background_tasks.resumes % is negative', new.resumes
      using errcode = 'check_violation', constraint = 'background_tasks_resumes_non_negative';
  end if;
  -- A task belongs to the user who started it. Three kinds have no user behind them: a clone started
  -- with the service role key, the deploy script's doorbell check (deploy.probe), and the removal
  -- of a deleted account's files (account.forget: its user is gone). RLS reads
  -- user_id = auth.uid(), which never matches null, and public.cancel_task / resume_task and every
  -- function's status / cancel / resume action match an owner: only the backend sees them.
  if new.user_id is null and new.kind not in ('clone.database', 'deploy.probe', 'account.forget') then
    raise exception 'a % task needs an owner (user_id)', new.kind
      using errcode = 'check_violation', constraint = 'background_tasks_owner_required';
  end if;
  if tg_op = 'UPDATE' then
    new.updated_at := now();
    if new.function_name is null and new.status = 'queued'
       and (old.status, old.run_after) is distinct from (new.status, new.run_after) then
      perform pg_notify('reelforge_pulled', new.kind);
    end if;
  end if;
  return new;
end $$;

create trigger background_tasks_written before insert or update on public.background_tasks
  for each row execute function engine.task_row_written();

-- Whether the lease holder's session still holds its liveness lock. Asks the lock manager for the
-- one lock rather than reading pg_locks, which copies the whole lock table per call (claim_next_task
-- asks for every running pulled task on every claim; through pg_locks the engine benchmark lost a
-- third of its throughput). A shared transaction-level try-lock on the holder's key succeeds
-- exactly when no session holds it exclusively (the holder died); it is released when the asking
-- transaction ends.
create function engine.lease_holder_alive(t public.background_tasks) returns boolean
language plpgsql volatile security definer set search_path = '' as $$
begin
  if t.lease_locked_at is null then
    return true;
  end if;
  return not pg_catalog.pg_try_advisory_xact_lock_shared(7301, engine.lease_lock_id(t.id));
end $$;

create function engine.is_claimable(t public.background_tasks) returns boolean
language sql volatile as $$
  select (t.status = 'queued' and t.run_after <= now())
      or (t.status = 'running' and (t.lease_expires_at is null or t.lease_expires_at < now()
                                    or (t.lease_locked_at is not null and not engine.lease_holder_alive(t))))
$$;

-- Worker processes claim by kind (claim_next_task(p_kinds)); with only the run_after-ordered due
-- index every claim would walk past the queued backlog of other kinds first. A per-kind due index
-- keeps a claim's cost independent of what else is waiting.
create index background_tasks_due_by_kind_idx
  on public.background_tasks (kind, run_after, created_at)
  where status = 'queued';

-- ---------------------------------------------------------------------------------------------
-- Dispatch (the doorbell): pg_net POST to the task's Edge Function, sent only after commit
-- ---------------------------------------------------------------------------------------------

-- Only tasks with a doorbell: a pulled task (function_name null, no doorbell) never has a request
-- id, and leaving it out spares its claim an index entry.
create index background_tasks_dispatch_request_idx on public.background_tasks (dispatch_request_id)
  where status in ('queued', 'running') and function_name is not null;

-- Sends a task's doorbell (sent by pg_net only if the calling transaction commits) and returns its
-- pg_net request id, for the caller to record on the task's row (dispatched_at,
-- dispatch_request_id); null, sending nothing, for a pulled task (p_function null: no doorbell).
-- A caller that writes the task's row anyway records the doorbell in that same update
-- (engine.hand_off_task, engine.wake_parent): a second update of a row its transaction already
-- wrote makes Postgres check the row's foreign keys again, which key-share locks the parent task
-- and the owner's auth.users row after the task's own (engine.lock_owner says why that order
-- deadlocks).
create function engine.ring_doorbell(p_task_id uuid, p_function text) returns bigint
language plpgsql security definer set search_path = '' as $$
declare
  s engine.settings;
  request_id bigint;
begin
  select * into s from engine.settings;
  if s.functions_url is null then
    raise exception 'task engine dispatch is not configured: run engine.configure_dispatch(...)'
      using errcode = 'RF002';
  end if;
  if p_function is null then
    return null;
  end if;
  select net.http_post(
    url := s.functions_url || '/' || p_function || '/task-slice',
    body := jsonb_build_object('taskId', p_task_id),
    params := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || s.api_key,
      'x-reelforge-internal', engine.internal_secret()),
    timeout_milliseconds := s.dispatch_timeout_ms) into request_id;
  return request_id;
end $$;

create function engine.dispatch_task(p_task_id uuid) returns void
language plpgsql security definer set search_path = '' as $$
declare
  request_id bigint;
begin
  request_id := engine.ring_doorbell(p_task_id,
    (select b.function_name from public.background_tasks b where b.id = p_task_id));
  if request_id is not null then
    update public.background_tasks set dispatched_at = now(), dispatch_request_id = request_id
     where id = p_task_id;
  end if;
end $$;

-- Rings every due task whose last doorbell failed (only responses younger than the redispatch
-- window: older failures are the plain redispatch rule's), then runs the regular sweep.
create function engine.ring_lost_doorbells(p_limit integer default 500) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  s engine.settings;
  t record;
  rung integer := 0;
begin
  select * into s from engine.settings;
  if s.functions_url is null or to_regclass('net._http_response') is null then
    return 0;
  end if;
  for t in
    select b.id from net._http_response r
      join public.background_tasks b on b.dispatch_request_id = r.id
     where r.created > now() - make_interval(secs => s.redispatch_after_ms / 1000.0)
       and (r.status_code is null or r.status_code >= 500 or r.timed_out)
       and b.function_name is not null
       and ((b.status = 'queued' and b.run_after <= now())
            or (b.status = 'running' and not engine.lease_holder_alive(b)))
     limit p_limit
     for update of b skip locked
  loop
    perform engine.dispatch_task(t.id);
    rung := rung + 1;
  end loop;
  return rung;
end $$;

-- Rings lost doorbells again, then sweeps every sweep_every_ms for about p_for_seconds,
-- committing after each pass so each pass's doorbells go out at once. pg_cron < 1.5 only has
-- minute schedules; looping keeps recovery in seconds there too.
-- It waits in short sleeps, each committed. After a COMMIT a procedure's next statement takes a
-- snapshot that it holds until the next COMMIT, and so one sleep of sweep_every_ms held back the
-- cleanup horizon of the whole database for that long: under a steady stream of claims, every
-- claim then walked past the dead index entries of every task claimed since the sleep began
-- (tests/integration/sweeper-horizon.test.ts).
create procedure engine.run_sweeper(p_for_seconds integer default 55)
language plpgsql as $$
declare
  deadline timestamptz := clock_timestamp() + make_interval(secs => p_for_seconds);
  every_ms integer;
  wake_at timestamptz;
begin
  loop
    perform engine.ring_lost_doorbells();
    perform engine.sweep();
    commit;
    select sweep_every_ms into every_ms from engine.settings;
    wake_at := clock_timestamp() + make_interval(secs => every_ms / 1000.0);
    exit when wake_at > deadline;
    while clock_timestamp() < wake_at loop
      perform pg_sleep(least(0.02, extract(epoch from wake_at - clock_timestamp())));
      commit;
    end loop;
  end loop;
  if to_regclass('cron.job_run_details') is not null then
    execute 'delete from cron.job_run_details where end_time < now() - interval ''1 day''';
  end if;
end $$;

-- The sweeper every 10 s where pg_cron schedules in seconds (>= 1.5). With minute schedules it
-- loops inside each minute; 57 s leaves 3 s for a slow last pass (a run still going when the next
-- minute starts makes pg_cron skip that minute).
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
    perform cron.schedule('reelforge-sweeper', '* * * * *', 'call engine.run_sweeper(57)');
  end if;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Fair claims
-- ---------------------------------------------------------------------------------------------

-- Fair claiming: one user's backlog never starves another.
--
-- Reading the oldest due rows and trying each is not fair: a user with many old tasks on a key at
-- its cap fills any such window and nobody else's work is claimed, and a user with a big due
-- backlog is served before anyone who came later. So a claim looks at groups of due work — one
-- per (kind, user, concurrency key), enumerated by a skip scan over an index, so a backlog is one
-- group however long it is — drops the groups whose key has no free slot, and takes users in
-- turn: the user with the fewest tasks running now, then the one whose last contested claim is
-- oldest (never = first), then the oldest due task.
-- The doorbell path (claim_task by id) yields a slot of a capped key to another user waiting on
-- that key with a lower standing (fewer tasks running there, or as many and an older turn), and
-- a freed slot rings that user's task first.
create index background_tasks_due_by_user_idx
  on public.background_tasks (kind, user_id, (coalesce(concurrency_key, '')), run_after, created_at)
  where status = 'queued';

-- When each user last won capacity others could compete for: a claim_next_task claim while
-- another user's work was claimable, or a claim under a capped key. Uncontested claims (a lone
-- user, the engine benchmark) write nothing extra.
create table engine.claim_turns (
  user_id uuid primary key references auth.users (id) on delete cascade,
  last_claimed_at timestamptz not null
);

alter table engine.claim_turns enable row level security;

-- Keys whose live leases fill their cap right now. Read off the running rows (few: bounded by
-- the workers), not off every cap in the project.
-- (plpgsql, not sql: these run on every claim, and plpgsql keeps their plans between calls.)
create function engine.full_concurrency_keys() returns text[]
language plpgsql stable security definer set search_path = '' as $$
begin
  return (select coalesce(array_agg(f.concurrency_key), '{}')
            from (select r.concurrency_key
                    from public.background_tasks r
                    join engine.concurrency_limits l on l.concurrency_key = r.concurrency_key
                   where r.status = 'running' and r.lease_expires_at > now() and r.concurrency_key is not null
                   group by r.concurrency_key, l.max_running
                  having count(*) >= l.max_running) f);
end $$;

-- True when a user other than p_user_id has queued work of these kinds (users without an id, the
-- service role's tasks, never count): per kind, is there a queued task of a user below p_user_id,
-- or above. Each is one descent of the per-user due index into a range that excludes p_user_id's
-- own entries, so it reads nothing when nobody else waits. (Asking for the lowest and the highest
-- user instead walked p_user_id's own index entries, and under a draining backlog those are the
-- entries of tasks just claimed, dead but not yet removable, a large share of a claim's cost
-- in the engine benchmark.) The range is a row comparison on (kind, user_id), which only the
-- per-user due index can take as its bound: written as user_id < p_user_id, the planner could
-- bound the owner index (user_id, created_at) instead and walk every finished task of the users
-- below (tests/integration/engine-history.test.ts failed so on a stack holding earlier runs'
-- rows; migrations/20261203000500_engine_history.sql).
create function engine.others_queued(p_kinds text[], p_user_id uuid) returns boolean
language plpgsql stable security definer set search_path = '' as $$
declare
  k text;
begin
  if p_user_id is null then
    return false;
  end if;
  foreach k in array coalesce(p_kinds, '{}') loop
    -- Both probes in one statement: the second runs only when the first finds nobody.
    perform from (
      (select from public.background_tasks b
        where b.status = 'queued' and b.kind = k and (b.kind, b.user_id) < (k, p_user_id)
        order by b.kind, b.user_id
        limit 1)
      union all
      (select from public.background_tasks b
        where b.status = 'queued' and b.kind = k and (b.kind, b.user_id) > (k, p_user_id)
        order by b.kind, b.user_id
        limit 1)) other
     limit 1;
    if found then
      return true;
    end if;
  end loop;
  return false;
end $$;

-- The oldest due queued task of p_kinds that no other claimer has locked, locked for this
-- transaction; null when there is none. Reads O(kinds) index entries plus the rows it skips: one
-- kind at a time (kind = k), which the per-kind due index answers in claim order whatever the
-- planner estimates (with kind = any (...) and a history in the table, it read and sorted every
-- due row; migrations/20261203000500_engine_history.sql). With several kinds, each kind's oldest
-- due row is looked up first (no lock) and the kinds are tried in that order.
create function engine.lock_oldest_due(p_kinds text[]) returns public.background_tasks
language plpgsql as $$
declare
  kinds text[] := p_kinds;
  k text;
  t public.background_tasks;
begin
  if cardinality(p_kinds) > 1 then
    kinds := array(
      select u.kind
        from unnest(p_kinds) as u (kind)
        cross join lateral (
          select b.run_after, b.created_at from public.background_tasks b
           where b.status = 'queued' and b.kind = u.kind and b.run_after <= now()
           order by b.run_after, b.created_at
           limit 1) head
       order by head.run_after, head.created_at);
  end if;
  foreach k in array coalesce(kinds, '{}') loop
    select * into t from public.background_tasks
     where status = 'queued' and kind = k and run_after <= now()
     order by run_after, created_at
     limit 1
     for update skip locked;
    if t.id is not null then
      return t;
    end if;
  end loop;
  return null;
end $$;

-- Abandoned pulled work (a dead render worker's job), claimed when nothing queued could be: what
-- every idle worker slot asks twice a second. A running pulled task always has a lease, and
-- saying so (lease_expires_at is not null) lets the leased-tasks index answer in lease order off
-- the live leases alone; without it, the planner intersected the kind's index, which holds every
-- finished task of the kind, with the queued-and-running one: tests/integration/engine-history.test.ts
-- counted 81,507 index entries for one poll, on a stack that also held the engine bench's million
-- finished tasks (fewer than 50 now).
create function engine.claim_abandoned_task(p_kinds text[], p_worker_id text, p_lease_seconds integer)
returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  claimed public.background_tasks;
begin
  for t in
    select * from public.background_tasks b
     where b.status = 'running' and b.function_name is null and b.kind = any (p_kinds)
       and b.lease_expires_at is not null
       and (b.lease_expires_at < now() or (b.lease_locked_at is not null and not engine.lease_holder_alive(b)))
     order by b.lease_expires_at
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

-- Claims due work of the given kinds (pull model: render workers, benchmarks), fairly across users
-- (above). Queued work first; abandoned pulled tasks (lease expired, or the holder's liveness lock
-- gone: they have no doorbell for the sweeper to ring) only when no queued task of these kinds is
-- due, since scanning for them on every claim cost the engine benchmark ~30 % of its throughput.
-- Under a backlog the sweeper puts an abandoned job back in the queue instead, in its own due
-- order (engine.requeue_abandoned), so it does not wait for the backlog to drain.
create function engine.claim_next_task(p_kinds text[], p_worker_id text, p_lease_seconds integer default 30)
returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  any_due boolean;
  full_keys text[];
  running jsonb;
  g record;
  t public.background_tasks;
  claimed public.background_tasks;
begin
  -- One kind, one user's work only, no cap (the common case, and the engine benchmark's): the
  -- oldest due task, read in claim order off the per-kind due index, gets its lease in the
  -- statement that finds it, when the per-user due index shows nobody else waiting (both probes
  -- of engine.others_queued) and it has no key to count. One statement instead of three (find
  -- and lock, ask for other users, start the lease): a claim's database time goes mostly per
  -- statement, not per row. A queued task's lease starts as engine.start_lease starts it (no lost
  -- lease, so no stall). Otherwise the row stays locked, and the general path below finds it
  -- first again.
  if cardinality(p_kinds) = 1 then
    update public.background_tasks b
       set status = 'running', lease_owner = p_worker_id,
           lease_expires_at = now() + make_interval(secs => p_lease_seconds), lease_locked_at = null,
           fencing_token = b.fencing_token + 1, started_at = coalesce(b.started_at, now())
     where b.id = (select d.id from public.background_tasks d
                    where d.status = 'queued' and d.kind = p_kinds[1] and d.run_after <= now()
                    order by d.run_after, d.created_at
                    limit 1
                    for update skip locked)
       and b.concurrency_key is null
       -- Scalar subqueries, not NOT EXISTS: Postgres drops the order and the limit inside
       -- EXISTS, and the generic plan then scanned a small table whole, twice per claim.
       and (b.user_id is null or (
             (select o.user_id from public.background_tasks o
               where o.status = 'queued' and o.kind = p_kinds[1]
                 and (o.kind, o.user_id) < (p_kinds[1], b.user_id)
               order by o.kind, o.user_id
               limit 1) is null
             and (select o.user_id from public.background_tasks o
                   where o.status = 'queued' and o.kind = p_kinds[1]
                     and (o.kind, o.user_id) > (p_kinds[1], b.user_id)
                   order by o.kind, o.user_id
                   limit 1) is null))
    returning * into claimed;
    if found then
      return claimed;
    end if;
  end if;
  -- Several kinds, other users waiting, or a key: the oldest due task (as above, per kind), and
  -- the lone-user shortcut when it applies.
  t := engine.lock_oldest_due(p_kinds);
  any_due := t.id is not null;
  if any_due and not engine.others_queued(p_kinds, t.user_id) and engine.take_concurrency_slot(t.concurrency_key, t.id) then
    claimed := engine.start_lease(t, p_worker_id, p_lease_seconds);
    if claimed.id is not null then
      return claimed;
    end if;
  end if;
  -- Nothing due that is not already being claimed: straight to abandoned work (an idle poll stays cheap).
  if not any_due then
    return engine.claim_abandoned_task(p_kinds, p_worker_id, p_lease_seconds);
  end if;
  full_keys := engine.full_concurrency_keys();
  -- Live leases per user: a user with work in hand waits behind one without (few rows: bounded
  -- by the workers).
  select coalesce(jsonb_object_agg(r.user_id, r.n), '{}') into running
    from (select user_id, count(*) as n from public.background_tasks
           where status = 'running' and lease_expires_at > now() group by user_id) r;
  for g in
    with recursive grp as (
      (select b.kind, b.user_id, coalesce(b.concurrency_key, '') as ckey
         from public.background_tasks b
        where b.status = 'queued' and b.kind = any (p_kinds)
        order by b.kind, b.user_id, coalesce(b.concurrency_key, '')
        limit 1)
      union all
      select n.kind, n.user_id, n.ckey
        from grp, lateral (
          select b.kind, b.user_id, coalesce(b.concurrency_key, '') as ckey
            from public.background_tasks b
           where b.status = 'queued' and b.kind = any (p_kinds)
             and (b.kind, b.user_id, coalesce(b.concurrency_key, '')) > (grp.kind, grp.user_id, grp.ckey)
           order by b.kind, b.user_id, coalesce(b.concurrency_key, '')
           limit 1) n
    ), candidates as (
      select grp.kind, grp.user_id, grp.ckey, d.run_after, d.created_at
        from grp
        cross join lateral (
          select b.run_after, b.created_at from public.background_tasks b
           where b.status = 'queued' and b.kind = grp.kind and b.user_id = grp.user_id
             and coalesce(b.concurrency_key, '') = grp.ckey
           order by b.run_after, b.created_at
           limit 1) d
       where d.run_after <= now() and grp.ckey <> all (full_keys)
    )
    select c.kind, c.user_id, c.ckey,
           (select count(distinct c2.user_id) from candidates c2) > 1 as contested
      from candidates c
      left join engine.claim_turns turn on turn.user_id = c.user_id
     order by coalesce((running ->> c.user_id::text)::integer, 0), turn.last_claimed_at nulls first,
              c.run_after, c.created_at
  loop
    select * into t from public.background_tasks b
     where b.status = 'queued' and b.kind = g.kind and b.user_id = g.user_id
       and coalesce(b.concurrency_key, '') = g.ckey and b.run_after <= now()
     order by b.run_after, b.created_at
     limit 1
     for update skip locked;
    if found and engine.take_concurrency_slot(t.concurrency_key, t.id) then
      claimed := engine.start_lease(t, p_worker_id, p_lease_seconds);
      if claimed.id is not null then
        if g.contested then
          insert into engine.claim_turns (user_id, last_claimed_at) values (g.user_id, clock_timestamp())
          on conflict (user_id) do update set last_claimed_at = excluded.last_claimed_at;
        end if;
        return claimed;
      end if;
    end if;
  end loop;
  return engine.claim_abandoned_task(p_kinds, p_worker_id, p_lease_seconds);
end $$;

-- A worker's slots that finished together: their tasks end as complete_task ends each one, in one
-- transaction (one round trip and one commit for all). p_results is a JSON array, one result per
-- task (JSON null for none). Per task, in order: true when it ended, false when its caller no
-- longer held it (that one changed nothing). An error in any end undoes them all; the worker then
-- ends them one by one (shared/worker/slot-batches.ts).
create function engine.complete_tasks(p_ids uuid[], p_tokens bigint[], p_results jsonb)
returns boolean[]
language plpgsql security definer set search_path = '' as $$
declare
  ended boolean[] := '{}';
begin
  if cardinality(p_tokens) is distinct from cardinality(p_ids)
     or jsonb_typeof(p_results) is distinct from 'array'
     or jsonb_array_length(p_results) <> cardinality(p_ids) then
    raise exception 'complete_tasks takes one token and one result per task' using errcode = '22023';
  end if;
  for i in 1 .. coalesce(cardinality(p_ids), 0) loop
    ended := ended || engine.complete_task(p_ids[i], p_tokens[i], nullif(p_results -> (i - 1), 'null'));
  end loop;
  return ended;
end $$;

-- A worker's idle slots asking together: up to p_count due tasks of p_kinds, each claimed as
-- claim_next_task claims one (same order, leases, keys' caps and turns between users), in one
-- transaction; fewer when fewer are due.
create function engine.claim_tasks(p_kinds text[], p_worker_id text, p_lease_seconds integer, p_count integer)
returns setof public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  claimed public.background_tasks;
begin
  for i in 1 .. p_count loop
    claimed := engine.claim_next_task(p_kinds, p_worker_id, p_lease_seconds);
    exit when claimed.id is null;
    return next claimed;
  end loop;
end $$;

-- A user's standing on a capped key: live leases there, then when they last won contested
-- capacity (never = -infinity). Lower goes first.
create function engine.key_standing(p_key text, p_user_id uuid, p_except uuid default null)
returns table (running bigint, last_turn timestamptz)
language plpgsql stable security definer set search_path = '' as $$
begin
  return query
    select (select count(*) from public.background_tasks r
             where r.concurrency_key = p_key and r.status = 'running' and r.lease_expires_at > now()
               and r.user_id = p_user_id and r.id is distinct from p_except),
           coalesce((select c.last_claimed_at from engine.claim_turns c where c.user_id = p_user_id), '-infinity');
end $$;

-- True when a free slot of t's capped key should go to another user: one with due work queued on
-- the key and a lower standing (fewer live leases there, or as many and an older turn). Strict,
-- so of two users with equal standing neither yields and the first to ask wins.
create function engine.owes_slot(t public.background_tasks) returns boolean
language plpgsql stable security definer set search_path = '' as $$
declare
  mine record;
begin
  if t.concurrency_key is null
     or not exists (select 1 from engine.concurrency_limits where concurrency_key = t.concurrency_key) then
    return false;
  end if;
  select * into mine from engine.key_standing(t.concurrency_key, t.user_id, t.id);
  return exists (
    select 1
      from (select distinct q.user_id from public.background_tasks q
             where q.concurrency_key = t.concurrency_key and q.status = 'queued' and q.run_after <= now()
               and q.user_id <> t.user_id) other
     cross join lateral engine.key_standing(t.concurrency_key, other.user_id) theirs
     where (theirs.running, theirs.last_turn) < (mine.running, mine.last_turn));
end $$;

-- Rings, for a key that just freed a slot, the due task of the user with the lowest standing on
-- it (the oldest due task among equals), not simply the oldest: a backlog waits its turn.
create function engine.dispatch_next_for_key(p_key text) returns void
language plpgsql as $$
declare
  next_user uuid;
  next_id uuid;
begin
  if p_key is null then
    return;
  end if;
  select waiting.user_id into next_user
    from (select q.user_id, min(q.run_after) as due from public.background_tasks q
           where q.concurrency_key = p_key and q.status = 'queued' and q.run_after <= now()
           group by q.user_id) waiting
   cross join lateral engine.key_standing(p_key, waiting.user_id) standing
   order by standing.running, standing.last_turn, waiting.due
   limit 1;
  if next_user is null then
    return;
  end if;
  select id into next_id from public.background_tasks
   where concurrency_key = p_key and status = 'queued' and run_after <= now() and user_id = next_user
   order by run_after, created_at
   limit 1
   for update skip locked;
  if next_id is not null then
    perform engine.dispatch_task(next_id);
  end if;
end $$;

-- ---------------------------------------------------------------------------------------------
-- The internal dispatch secret
-- ---------------------------------------------------------------------------------------------

-- The internal dispatch secret (sent as x-reelforge-internal by pg_net and the sweeper to
-- /task-slice) is a credential for every task of every user. On hosted projects it lives only in
-- Vault. engine.settings.internal_secret is a plaintext fallback for the local stack, which has
-- no Vault and marks itself with the reelforge.local_stack database setting
-- (scripts/stack/bootstrap.sql); any other database without Vault refuses to store it.
create function engine.is_local_stack() returns boolean
language sql stable set search_path = '' as $$
  select coalesce(current_setting('reelforge.local_stack', true), '') = 'on'
$$;

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
  elsif engine.is_local_stack() then
    update engine.settings set internal_secret = p_internal_secret;
    raise notice 'local stack: the internal dispatch secret is kept in plaintext in engine.settings (no Vault here)';
  else
    raise exception 'no Vault in this database: the internal dispatch secret is stored only in Vault (the plaintext fallback is for the local stack)'
      using errcode = 'RF005';
  end if;
  update engine.settings
     set functions_url = rtrim(p_functions_url, '/'),
         api_key = p_api_key,
         sweep_every_ms = p_sweep_every_ms;
end $$;

-- Where Vault exists the plaintext column is never read, even if something wrote it.
create function engine.internal_secret() returns text
language plpgsql stable security definer set search_path = '' as $$
declare
  secret text;
begin
  if to_regclass('vault.decrypted_secrets') is not null then
    execute 'select decrypted_secret from vault.decrypted_secrets where name = $1 limit 1'
      into secret using 'reelforge_internal_secret';
    return secret;
  end if;
  if engine.is_local_stack() then
    return (select internal_secret from engine.settings);
  end if;
  return null;
end $$;

-- One body for both doorbell claims: the fair-claims rules (a queued task gives a freed slot to
-- the user it is owed to, contested claims take turns) hold for a claim made with the liveness
-- lock already taken, which also treats a watched lease as its dead holder's (the caller got the
-- lock, so nobody else holds it) and marks the new lease watched.
create function engine.claim_task(p_task_id uuid, p_worker_id text, p_lease_seconds integer, p_lock_held boolean)
returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  claimed public.background_tasks;
begin
  -- Waits for the row, never skips it: a doorbell names its task, and one that skipped the row
  -- while a park held it share-locked (engine.await_tasks parks on a task it has just enqueued)
  -- was lost, the task waiting for the sweeper's next pass, 15 s in the tests. A duplicate
  -- doorbell waits for the first one's claim, then finds the task running and claims nothing.
  select * into t from public.background_tasks where id = p_task_id for update;
  if not found or not (engine.is_claimable(t)
                       or (p_lock_held and t.status = 'running' and t.lease_locked_at is not null)) then
    return null;
  end if;
  if not engine.take_concurrency_slot(t.concurrency_key, t.id) then
    return null;
  end if;
  if t.status = 'queued' and engine.owes_slot(t) then
    return null;
  end if;
  claimed := engine.start_lease(t, p_worker_id, p_lease_seconds, p_lock_held);
  if claimed.id is null then
    return null;
  end if;
  if t.concurrency_key is not null
     and exists (select 1 from engine.concurrency_limits where concurrency_key = t.concurrency_key) then
    insert into engine.claim_turns (user_id, last_claimed_at) values (t.user_id, clock_timestamp())
    on conflict (user_id) do update set last_claimed_at = excluded.last_claimed_at;
  end if;
  return claimed;
end $$;

-- Claims one specific task (the doorbell names it). Returns null when it is not claimable now:
-- someone else holds a live lease, it is done, not due yet, or its concurrency key is full.
create function engine.claim_task(p_task_id uuid, p_worker_id text, p_lease_seconds integer default 30)
returns public.background_tasks
language sql security definer set search_path = '' as $$
  select * from engine.claim_task(p_task_id, p_worker_id, p_lease_seconds, false)
$$;

-- ---------------------------------------------------------------------------------------------
-- Waiting for other tasks
-- ---------------------------------------------------------------------------------------------

-- A task that needed another task's result (a scene's chain waiting for its end-frame render job,
-- a mix waiting for its render, a scene waiting for the film's shared location image) polled it
-- from inside its slice would hold a function worker the whole time, and every kill of that
-- worker would count as a lease lost without progress (with no render worker running, 25 such
-- kills fail a healthy chain with `worker_lost`). So the waiter parks: it leaves `running` for `waiting`
-- without a lease, a row here names what it waits for, and the first of those tasks to end wakes
-- it (wake-on-any; a woken waiter polls again and parks again on what is still open).
create table engine.task_waits (
  waiter_id uuid not null,
  target_id uuid not null,
  created_at timestamptz not null default now(),
  constraint task_waits_pkey primary key (waiter_id, target_id),
  constraint task_waits_waiter_fkey foreign key (waiter_id) references public.background_tasks (id) on delete cascade,
  constraint task_waits_target_fkey foreign key (target_id) references public.background_tasks (id) on delete cascade
);

create index task_waits_target_idx on engine.task_waits (target_id);

alter table engine.task_waits enable row level security;

comment on table engine.task_waits is
  'Tasks parked (status waiting, no lease) until one of their target tasks ends (engine.await_tasks).';

-- Parks the lease holder until one of p_targets ends. False (nothing changed, the caller keeps
-- its lease) when every target has already ended. Fenced: RF001 when the caller lost the task.
create function engine.await_tasks(p_task_id uuid, p_token bigint, p_targets uuid[], p_metadata jsonb default '{}'::jsonb)
returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  open_targets uuid[];
begin
  -- The owner first (engine.lock_owner): a park locks its targets after its own row.
  perform engine.lock_owner((select b.user_id from public.background_tasks b where b.id = p_task_id));
  t := engine.lock_lease(p_task_id, p_token);
  -- A park and a target's end serialise on the target's row: the share lock waits for an end in
  -- progress (and then reads the ended status), and an end waits for this park to commit (and
  -- then engine.wake_waiters reads its wait row). Parks on one target share it without waiting.
  select coalesce(array_agg(open.id), '{}') into open_targets
    from (select b.id, b.status from public.background_tasks b
           where b.id = any (p_targets)
           order by b.id
             for share) open
   where not engine.is_terminal(open.status);
  if cardinality(open_targets) = 0 then
    return false;
  end if;
  delete from engine.task_waits where waiter_id = p_task_id;
  insert into engine.task_waits (waiter_id, target_id)
  select p_task_id, u from unnest(open_targets) u
  on conflict do nothing;
  -- Parking is a clean end of a slice, like a hand-off: no lease, no stall counted.
  update public.background_tasks
     set status = 'waiting', metadata = metadata || coalesce(p_metadata, '{}'::jsonb),
         lease_owner = null, lease_expires_at = null, lease_locked_at = null, stalls = 0
   where id = p_task_id;
  perform engine.dispatch_next_for_key(t.concurrency_key);
  return true;
end $$;

-- Wakes a waiting task once none of its children is open and no task it waits for is still open;
-- a woken task forgets what it waited for. The parent row is locked first so two children ending
-- at once serialise and the second one sees the first.
create function engine.wake_parent(p_parent_id uuid) returns void
language plpgsql as $$
declare
  parent public.background_tasks;
  request_id bigint;
begin
  select * into parent from public.background_tasks where id = p_parent_id for update;
  if not found or parent.status <> 'waiting' then
    return;
  end if;
  if exists (select from engine.open_children(p_parent_id)) then
    return;
  end if;
  if exists (select 1 from engine.task_waits w join public.background_tasks b on b.id = w.target_id
              where w.waiter_id = p_parent_id and not engine.is_terminal(b.status)) then
    return;
  end if;
  delete from engine.task_waits where waiter_id = p_parent_id;
  -- Queued and rung in one write (engine.ring_doorbell): the sweeper wakes parents of any user
  -- while holding the rows it rang, and a second write's owner check could deadlock it with
  -- that owner's deletion.
  request_id := engine.ring_doorbell(p_parent_id, parent.function_name);
  update public.background_tasks
     set status = 'queued', run_after = now(),
         dispatched_at = case when request_id is null then dispatched_at else now() end,
         dispatch_request_id = coalesce(request_id, dispatch_request_id)
   where id = p_parent_id;
end $$;

-- Wakes the tasks parked on a task that just ended (called by engine.after_terminal, in the
-- ending transaction, whose update holds the target's row: see engine.await_tasks). Only waiters
-- whose `waiting` is committed are read, so this never waits on a waiter's row while that waiter
-- waits on this target's row.
-- (A call from every function that ends a task, not a trigger on every status change: firing
-- the trigger was a measurable share of every claim+complete.)
create function engine.wake_waiters(p_target_id uuid) returns void
language plpgsql as $$
declare
  waiter uuid;
begin
  for waiter in
    select w.waiter_id from engine.task_waits w join public.background_tasks b on b.id = w.waiter_id
     where w.target_id = p_target_id and b.status = 'waiting'
     order by w.waiter_id
  loop
    delete from engine.task_waits where waiter_id = waiter;
    perform engine.wake_parent(waiter);
  end loop;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Sweeper
-- ---------------------------------------------------------------------------------------------

-- The sweeper re-rings what the doorbell missed: pg_net can drop or stall requests, and a killed
-- worker leaves its lease to expire; neither may leave a task stuck. A running task whose holder's
-- liveness lock is gone is re-rung once (again after redispatch_after_ms if that doorbell is lost
-- too). For parked waits and fair claims:
-- - the fan-in pass leaves parked waiters alone (waking them would turn every sweep into a poll of
--   their targets); those whose targets all ended are woken here too, so a lost wake-up costs one
--   sweep;
-- - a queued task whose key is at its cap is not re-rung: its doorbell can only be refused, and a
--   large capped backlog from one user would fill each pass of 500 while another user's lost
--   doorbell waited. The slot that frees up rings its fair pick (engine.dispatch_next_for_key).
-- Abandoned pulled work (a render job whose worker died: its lease ran out, or its liveness lock
-- dropped) goes back in the queue, where claims meet it in its own due order, ahead of the work
-- queued after it. Claims take such a job back themselves only when nothing queued is due
-- (engine.claim_abandoned_task): under a stream of renders a killed join waited 5 min 16 s for
-- the stream to drain in a chaos run. Its lease loss counts as a stall, as engine.start_lease
-- counts one, and the last one fails it. The token moves on, so a worker that was only late is
-- refused at its next write. Reads the live leases only (the leased-tasks index).
create function engine.requeue_abandoned(p_limit integer default 500) returns integer
language plpgsql as $$
declare
  t public.background_tasks;
  requeued integer := 0;
begin
  for t in
    select * from public.background_tasks b
     where b.status = 'running' and b.function_name is null and b.lease_expires_at is not null
       and (b.lease_expires_at < now() or (b.lease_locked_at is not null and not engine.lease_holder_alive(b)))
     order by b.lease_expires_at
     limit p_limit
     for update skip locked
  loop
    if t.stalls + 1 >= t.max_stalls then
      perform engine.fail_stalled(t);
    else
      update public.background_tasks
         set status = 'queued', lease_owner = null, lease_expires_at = null, lease_locked_at = null,
             fencing_token = fencing_token + 1, stalls = stalls + 1
       where id = t.id;
    end if;
    requeued := requeued + 1;
  end loop;
  return requeued;
end $$;

create function engine.sweep(p_limit integer default 500) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  s engine.settings;
  t record;
  rung integer := 0;
  parent_id uuid;
  full_keys text[] := engine.full_concurrency_keys();
begin
  -- Pulled work first: it needs no doorbell, so no functions URL either.
  perform engine.requeue_abandoned(p_limit);
  select * into s from engine.settings;
  if s.functions_url is null then
    return 0;
  end if;
  for t in
    select b.id from public.background_tasks b
     -- Pushed tasks only: a pulled job has no doorbell (engine.dispatch_task rings nothing and
     -- leaves it unmarked), and an abandoned one went back in the queue above. Counted here,
     -- 500 abandoned render jobs filled every pass with the same rows, and no lost doorbell
     -- behind them was rung again.
     where b.function_name is not null
       and ((b.status = 'queued' and b.run_after <= now()
            and (b.concurrency_key is null or b.concurrency_key <> all (full_keys))
            and (b.dispatched_at is null or b.dispatched_at < b.run_after
                 or b.dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0)))
        or (b.status = 'running' and b.lease_expires_at < now()
            and (b.dispatched_at is null or b.dispatched_at < b.lease_expires_at
                 or b.dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0)))
        or (b.status = 'running' and b.lease_expires_at is null
            and (b.dispatched_at is null
                 or b.dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0)))
        or (b.status = 'running' and b.lease_expires_at >= now()
            and not engine.lease_holder_alive(b)
            and (b.dispatched_at is null or b.dispatched_at < b.lease_locked_at
                 or b.dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0))))
     order by b.run_after
     limit p_limit
     for update skip locked
  loop
    perform engine.dispatch_task(t.id);
    rung := rung + 1;
  end loop;
  -- Fan-in (or a parked wait) that a lost wake-up left asleep.
  for parent_id in
    select p.id from public.background_tasks p
     where p.status = 'waiting'
       and not exists (select from engine.open_children(p.id))
       and not exists (select 1 from engine.task_waits w join public.background_tasks b on b.id = w.target_id
                        where w.waiter_id = p.id and not engine.is_terminal(b.status))
     limit p_limit
  loop
    perform engine.wake_parent(parent_id);
  end loop;
  return rung;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Render worker health
-- ---------------------------------------------------------------------------------------------

-- Render workers are processes outside the platform: when none runs, render jobs just sit queued
-- and every film waiting on one stalls. Each worker beats here (one row per
-- worker process), so a deployment can see whether anything is claiming render work, and a film's
-- `status` can say that it waits on a render worker nobody runs.
create table engine.render_workers (
  worker_id text not null,
  hostname text not null,
  pid integer not null,
  kinds text[] not null,
  slots integer not null,
  running integer not null default 0,
  started_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  -- The last time a slot asked for work and the last time it got some: a worker whose queries
  -- fail (no database) stops beating, one that is merely idle keeps its last_poll_at fresh.
  last_poll_at timestamptz,
  last_claim_at timestamptz,
  constraint render_workers_pkey primary key (worker_id),
  constraint render_workers_slots_check check (slots > 0 and running >= 0)
);

alter table engine.render_workers enable row level security;

comment on table engine.render_workers is
  'One row per render worker process, beaten every few seconds (engine.render_worker_beat); live = seen within engine.settings.render_worker_live_seconds.';

-- Upserts the worker's row; rows silent for a day are dropped (crashed workers never say goodbye).
create function engine.render_worker_beat(
  p_worker_id text, p_hostname text, p_pid integer, p_kinds text[], p_slots integer, p_running integer,
  p_last_poll_at timestamptz, p_last_claim_at timestamptz
) returns void
language plpgsql security definer set search_path = '' as $$
begin
  insert into engine.render_workers as w
    (worker_id, hostname, pid, kinds, slots, running, last_poll_at, last_claim_at)
  values (p_worker_id, p_hostname, p_pid, p_kinds, p_slots, p_running, p_last_poll_at, p_last_claim_at)
  on conflict (worker_id) do update
     set running = excluded.running, last_seen_at = now(),
         last_poll_at = excluded.last_poll_at, last_claim_at = excluded.last_claim_at;
  delete from engine.render_workers where last_seen_at < now() - interval '1 day';
end $$;

create function engine.render_worker_gone(p_worker_id text) returns void
language sql security definer set search_path = '' as $$
  delete from engine.render_workers where worker_id = p_worker_id
$$;

-- The render wait of one task tree (a film's produce task and its descendants): the oldest
-- pulled job one of them is parked on that no live holder works on, and how many live workers
-- claim its kind. Null when nothing in the tree waits on such a job.
create function engine.render_wait(p_root uuid)
returns table (since timestamptz, jobs integer, live_workers integer, alert_after_seconds integer)
language sql stable security definer set search_path = '' as $$
  with recursive tree as (
    select id from public.background_tasks where id = p_root
    union all
    select c.id from public.background_tasks c join tree on c.parent_id = tree.id
  ), jobs as (
    select distinct b.id, b.kind, b.created_at
      from tree join engine.task_waits w on w.waiter_id = tree.id
      join public.background_tasks waiter on waiter.id = w.waiter_id and waiter.status = 'waiting'
      join public.background_tasks b on b.id = w.target_id
     where b.function_name is null
       and (b.status = 'queued'
            or (b.status = 'running' and (b.lease_expires_at < now() or not engine.lease_holder_alive(b))))
  ), s as (select * from engine.settings limit 1)
  select min(jobs.created_at),
         count(*)::integer,
         (select count(*)::integer from engine.render_workers r, s
           where r.last_seen_at > now() - make_interval(secs => s.render_worker_live_seconds)
             and r.kinds && (select array_agg(distinct kind) from jobs)),
         (select render_wait_alert_seconds from s)
    from jobs
  having count(*) > 0
$$;

-- ---------------------------------------------------------------------------------------------
-- Slice ends
-- ---------------------------------------------------------------------------------------------

-- Why each slice ended: its wall-clock budget, its CPU budget, the task finished, it waits (on
-- children or another task), the handler chose to hand off, it failed, or it was fenced out.
-- The platform limits a worker's wall clock and its CPU; a slice hands off before either kills
-- it, and benchmarks and operators need to know which of the two made it stop, to tell work that
-- is CPU-bound (the clone relays every row through the function) from work that merely waits.
-- One row per slice, written by the slice runner after the slice's outcome
-- committed (shared/engine/slice-end.ts); a row lost to a kill in between loses a statistic,
-- never work. Rows go with their task.
create table engine.slice_ends (
  id bigint generated always as identity primary key,
  task_id uuid not null references public.background_tasks (id) on delete cascade,
  -- The Edge Function that ran the slice.
  function_name text not null,
  kind text not null,
  reason text not null,
  -- CPU the worker spent during the slice, in ms (null without a CPU measure), and the slice's
  -- wall time: enough to see how close to its budgets a slice came.
  cpu_ms integer,
  wall_ms integer not null,
  ended_at timestamptz not null default now(),
  constraint slice_ends_reason_check check (reason in
    ('wall_budget', 'cpu_budget', 'finished', 'waiting', 'yielded', 'failed', 'fenced_out'))
);

-- The cascade from a deleted task, and a task's own slices (tests, status pages).
create index slice_ends_task_idx on engine.slice_ends (task_id);

-- Counts over a time window (benchmarks: the slices of one run).
create index slice_ends_ended_at_idx on engine.slice_ends (ended_at);

-- Nothing for API users: only the engine's own function writes it, and the service role reads it.
alter table engine.slice_ends enable row level security;

revoke all on engine.slice_ends from public, anon, authenticated;

grant select on engine.slice_ends to service_role;

comment on table engine.slice_ends is
  'One row per task slice run by an Edge Function: why it ended (wall_budget, cpu_budget, finished, waiting, yielded, failed, fenced_out).';

create function engine.record_slice_end(
  p_task_id uuid, p_function text, p_kind text, p_reason text, p_cpu_ms integer, p_wall_ms integer
) returns void
language sql security definer set search_path = '' as $$
  insert into engine.slice_ends (task_id, function_name, kind, reason, cpu_ms, wall_ms)
  values (p_task_id, p_function, p_kind, p_reason, p_cpu_ms, p_wall_ms);
$$;

