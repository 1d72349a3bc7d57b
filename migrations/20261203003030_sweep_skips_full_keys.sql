-- The sweeper re-rang every queued task whose doorbell looked lost, 500 a pass, oldest first —
-- including a backlog waiting on a key at its cap. Those doorbells can only be refused (no free
-- slot), and a large capped backlog from one user filled each pass, so another user's task whose
-- doorbell was lost could wait many passes. A full key's queued tasks are now left out: the slot
-- that frees up rings its fair pick (engine.dispatch_next_for_key), and once the key has room the
-- sweeper sees them again.
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
