-- A task that needed another task's result (a scene's chain waiting for its end-frame render job,
-- a mix waiting for its render, a scene waiting for the film's shared location image) polled it
-- from inside its slice: it held a function worker the whole time, and every kill of that worker
-- counted as a lease lost without progress. With no render worker running, 25 such kills failed a
-- healthy chain with `worker_lost`. Now the waiter parks: it leaves `running` for `waiting`
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

-- Advisory key of the target: a park and the target's end serialise on it, so the waiter either
-- sees the target ended (and does not park) or its wait row is committed before the end reads it.
create function engine.wait_lock_id(p_target_id uuid) returns integer
language sql immutable as $$ select hashtext('wait:' || p_target_id::text) $$;

-- Parks the lease holder until one of p_targets ends. False (nothing changed, the caller keeps
-- its lease) when every target has already ended. Fenced: RF001 when the caller lost the task.
create function engine.await_tasks(p_task_id uuid, p_token bigint, p_targets uuid[], p_metadata jsonb default '{}'::jsonb)
returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  target uuid;
  open_targets uuid[];
begin
  t := engine.lock_lease(p_task_id, p_token);
  for target in select distinct u from unnest(p_targets) u order by 1 loop
    perform pg_catalog.pg_advisory_xact_lock(7302, engine.wait_lock_id(target));
  end loop;
  select coalesce(array_agg(b.id), '{}') into open_targets
    from public.background_tasks b
   where b.id = any (p_targets) and not engine.is_terminal(b.status);
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

revoke all on function engine.await_tasks(uuid, bigint, uuid[], jsonb) from public, anon, authenticated;
grant execute on function engine.await_tasks(uuid, bigint, uuid[], jsonb) to service_role;

-- As before (wakes a waiting task once none of its children is open), plus: not while it waits for
-- a task that is still open; a woken task forgets what it waited for.
create or replace function engine.wake_parent(p_parent_id uuid) returns void
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
  if exists (select 1 from engine.task_waits w join public.background_tasks b on b.id = w.target_id
              where w.waiter_id = p_parent_id and not engine.is_terminal(b.status)) then
    return;
  end if;
  delete from engine.task_waits where waiter_id = p_parent_id;
  update public.background_tasks
     set status = 'queued', run_after = now()
   where id = p_parent_id;
  perform engine.dispatch_task(p_parent_id);
end $$;

-- A task that ends wakes the tasks parked on it. Only waiters whose `waiting` is committed are
-- read, so this never waits on a waiter's row while that waiter waits on this target's lock.
create function engine.wake_waiters() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  waiter uuid;
begin
  perform pg_catalog.pg_advisory_xact_lock(7302, engine.wait_lock_id(new.id));
  for waiter in
    select w.waiter_id from engine.task_waits w join public.background_tasks b on b.id = w.waiter_id
     where w.target_id = new.id and b.status = 'waiting'
     order by w.waiter_id
  loop
    delete from engine.task_waits where waiter_id = waiter;
    perform engine.wake_parent(waiter);
  end loop;
  return null;
end $$;

create trigger background_tasks_wake_waiters
  after update of status on public.background_tasks
  for each row
  when (engine.is_terminal(new.status) and not engine.is_terminal(old.status))
  execute function engine.wake_waiters();

-- The sweeper, for parked waits and fair claims:
-- - the fan-in pass leaves parked waiters alone (waking them would turn every sweep into a poll of
--   their targets); those whose targets all ended are woken here too, so a lost wake-up costs one
--   sweep;
-- - a queued task whose key is at its cap is not re-rung: its doorbell can only be refused, and a
--   large capped backlog from one user would fill each pass of 500 while another user's lost
--   doorbell waited. The slot that frees up rings its fair pick (engine.dispatch_next_for_key).
create or replace function engine.sweep(p_limit integer default 500) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  s engine.settings;
  t record;
  rung integer := 0;
  parent_id uuid;
  full_keys text[] := engine.full_concurrency_keys();
begin
  select * into s from engine.settings;
  if s.functions_url is null then
    return 0;
  end if;
  for t in
    select b.id from public.background_tasks b
     where (b.status = 'queued' and b.run_after <= now() and b.worker is not null
            and (b.concurrency_key is null or b.concurrency_key <> all (full_keys))
            and (b.dispatched_at is null or b.dispatched_at < b.run_after
                 or b.dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0)))
        or (b.status = 'running' and b.lease_expires_at < now()
            and (b.dispatched_at is null or b.dispatched_at < b.lease_expires_at
                 or b.dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0)))
        or (b.status = 'running' and b.lease_expires_at is null
            and (b.dispatched_at is null
                 or b.dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0)))
        or (b.status = 'running' and b.lease_expires_at >= now() and b.worker is not null
            and not engine.lease_holder_alive(b)
            and (b.dispatched_at is null or b.dispatched_at < b.lease_locked_at
                 or b.dispatched_at < now() - make_interval(secs => s.redispatch_after_ms / 1000.0)))
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
       and not exists (select 1 from public.background_tasks c
                        where c.parent_id = p.id and not engine.is_terminal(c.status))
       and not exists (select 1 from engine.task_waits w join public.background_tasks b on b.id = w.target_id
                        where w.waiter_id = p.id and not engine.is_terminal(b.status))
     limit p_limit
  loop
    perform engine.wake_parent(parent_id);
  end loop;
  return rung;
end $$;
