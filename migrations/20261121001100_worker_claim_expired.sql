-- Pulled tasks (worker is null: render and local_media jobs) have no doorbell for the sweeper to
-- ring when their worker process dies, so claim_next_task also takes them back once their lease
-- has expired. Tasks run by Edge Functions keep being re-driven by the sweeper instead.

create or replace function engine.claim_next_task(p_kinds text[], p_worker_id text, p_lease_seconds integer default 30)
returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  claimed public.background_tasks;
begin
  -- Abandoned work first: it is older than anything queued behind it.
  for t in
    select * from public.background_tasks
     where status = 'running' and lease_expires_at < now() and worker is null and kind = any (p_kinds)
     order by lease_expires_at
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
