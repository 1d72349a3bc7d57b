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
  select * into t from public.background_tasks where id = p_task_id for update skip locked;
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
  claimed := engine.start_lease(t, p_worker_id, p_lease_seconds);
  if claimed.id is null then
    return null;
  end if;
  if t.concurrency_key is not null
     and exists (select 1 from engine.concurrency_limits where concurrency_key = t.concurrency_key) then
    insert into engine.claim_turns (user_id, last_claimed_at) values (t.user_id, clock_timestamp())
    on conflict (user_id) do update set last_claimed_at = excluded.last_claimed_at;
  end if;
  if p_lock_held then
    update public.background_tasks set lease_locked_at = now()
     where id = claimed.id
    returning * into claimed;
  end if;
  return claimed;
end $$;

create or replace function engine.claim_task(p_task_id uuid, p_worker_id text, p_lease_seconds integer default 30)
returns public.background_tasks
language sql security definer set search_path = '' as $$
  select * from engine.claim_task(p_task_id, p_worker_id, p_lease_seconds, false)
$$;

revoke all on function engine.claim_task(uuid, text, integer, boolean) from public, anon, authenticated;
grant execute on function engine.claim_task(uuid, text, integer, boolean) to service_role;
