-- A worker killed mid-slice used to hold its task until the lease expired (seconds of nothing).
-- Now a slice also holds a session advisory lock on its task for as long as it runs; Postgres
-- drops that lock the moment the worker's connection dies, so the sweeper and the doorbell can
-- take the task back at once. Workers that don't take the lock (older ones, render workers)
-- still fall back to lease expiry.

alter table public.background_tasks
  add column lease_locked_at timestamptz;

comment on column public.background_tasks.lease_locked_at is
  'When the current lease holder took its liveness lock (engine.hold_lease); null = lease expiry only.';

-- Two-key advisory lock: (7301, hash of the task id). A hash collision only makes a dead holder
-- look alive, which falls back to lease expiry.
create function engine.lease_lock_id(p_task_id uuid) returns integer
language sql immutable as $$ select hashtext(p_task_id::text) $$;

-- False only when the holder took its liveness lock and nobody holds that lock any more.
create function engine.lease_holder_alive(t public.background_tasks) returns boolean
language sql stable security definer set search_path = '' as $$
  select t.lease_locked_at is null
      or exists (select 1 from pg_catalog.pg_locks l
                  where l.locktype = 'advisory' and l.granted and l.objsubid = 2
                    and l.classid = 7301::oid and l.objid = engine.lease_lock_id(t.id)::oid)
$$;

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

create or replace function engine.is_claimable(t public.background_tasks) returns boolean
language sql stable as $$
  select (t.status = 'queued' and t.run_after <= now())
      or (t.status = 'running' and (t.lease_expires_at is null or t.lease_expires_at < now()
                                    or not engine.lease_holder_alive(t)))
$$;

-- As before, plus: a new lease starts unwatched until its holder calls hold_lease.
create or replace function engine.start_lease(t public.background_tasks, p_worker_id text, p_lease_seconds integer)
returns public.background_tasks
language plpgsql as $$
declare
  lost_lease boolean := t.status = 'running' and t.lease_expires_at is not null;
  claimed public.background_tasks;
begin
  if lost_lease and t.stalls + 1 >= t.max_stalls then
    update public.background_tasks
       set status = 'failed', finished_at = now(), lease_owner = null, lease_expires_at = null,
           lease_locked_at = null, fencing_token = fencing_token + 1, stalls = stalls + 1,
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
         lease_locked_at = null,
         fencing_token = fencing_token + 1,
         stalls = stalls + case when lost_lease then 1 else 0 end,
         started_at = coalesce(started_at, now())
   where id = t.id
  returning * into claimed;
  return claimed;
end $$;

-- As before, plus: a running task whose holder's liveness lock is gone is re-rung once (again
-- after redispatch_after_ms if that doorbell is lost too).
create or replace function engine.sweep(p_limit integer default 500) returns integer
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
    select b.id from public.background_tasks b
     where (b.status = 'queued' and b.run_after <= now() and b.worker is not null
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

-- As before, but a task whose holder died is not "still active".
create or replace function engine.resume_task(p_task_id uuid) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
begin
  select * into t from public.background_tasks where id = p_task_id for update;
  if not found then
    return null;
  end if;
  if t.status = 'running' and t.lease_expires_at > now() and engine.lease_holder_alive(t) then
    raise exception 'task % is still active', p_task_id using errcode = 'RF003';
  end if;
  if t.status in ('succeeded', 'waiting') then
    raise exception 'task % is %, nothing to resume', p_task_id, t.status using errcode = 'RF004';
  end if;
  update public.background_tasks
     set status = 'queued', run_after = now(), lease_owner = null, lease_expires_at = null,
         lease_locked_at = null, finished_at = null, stalls = 0,
         attempts = case when t.status in ('failed', 'cancelled') then 0 else attempts end,
         fencing_token = fencing_token + 1
   where id = p_task_id
  returning * into t;
  perform engine.dispatch_task(p_task_id);
  return t;
end $$;

revoke all on function engine.lease_lock_id(uuid), engine.lease_holder_alive(public.background_tasks),
  engine.hold_lease(uuid, bigint), engine.release_lease(uuid) from public, anon, authenticated;
grant execute on function engine.lease_lock_id(uuid), engine.lease_holder_alive(public.background_tasks),
  engine.hold_lease(uuid, bigint), engine.release_lease(uuid) to service_role;
