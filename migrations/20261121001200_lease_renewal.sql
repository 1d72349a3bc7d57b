-- Heartbeats used checkpoint_task, which also resets `stalls` (leases lost in a row without
-- progress). A heartbeat is not progress: a job that kills its worker every time, minutes in,
-- kept being re-claimed forever instead of failing `worker_lost`. Heartbeats now only renew.

create function engine.renew_lease(p_task_id uuid, p_token bigint, p_lease_seconds integer default 30)
returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  update public.background_tasks
     set lease_expires_at = now() + make_interval(secs => p_lease_seconds)
   where id = p_task_id and fencing_token = p_token and status = 'running';
  return found;
end $$;

revoke all on function engine.renew_lease(uuid, bigint, integer) from public, anon, authenticated;
grant execute on function engine.renew_lease(uuid, bigint, integer) to service_role;

-- Pulled tasks (render workers) are taken back as soon as their holder's liveness lock is gone,
-- not only once the lease expired.
create or replace function engine.claim_next_task(p_kinds text[], p_worker_id text, p_lease_seconds integer default 30)
returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  claimed public.background_tasks;
begin
  -- Abandoned work first: it is older than anything queued behind it.
  for t in
    select * from public.background_tasks b
     where b.status = 'running' and b.worker is null and b.kind = any (p_kinds)
       and (b.lease_expires_at < now() or not engine.lease_holder_alive(b))
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

-- With minute schedules (pg_cron < 1.5) the sweeper loops inside each minute; a kill landing in
-- the gap before the next minute's run waited up to 5 s. 57 s leaves 3 s for a slow last pass
-- (a run still going when the next minute starts makes pg_cron skip that minute).
do $$
declare
  cron_version text;
begin
  select extversion into cron_version from pg_extension where extname = 'pg_cron';
  if cron_version is not null
     and string_to_array(split_part(cron_version, '-', 1), '.')::int[] < array[1, 5] then
    perform cron.schedule('reelforge-sweeper', '* * * * *', 'call engine.run_sweeper(57)');
  end if;
end $$;
