-- Engine cost that does not grow with history (issue 17 §1).
--
-- With a million finished tasks in background_tasks, claim+complete ran at well under its
-- fresh-table rate. Claim, complete, hand-off and the triggers on background_tasks read partial
-- indexes on live statuses or the primary key, so none of them reads a finished row; two other
-- things did grow with the table:
--
-- 1. The sweeper's fan-in pass (engine.sweep: parked tasks whose children or targets all ended)
--    looks for status = 'waiting', and no index covers that status: every pass was a sequential
--    scan of the whole table. With a million rows that is ~0.25 s of a core per pass, and the
--    sweeper passes every few seconds (every second on the local stack), beside the claimers.
--    A partial index on the waiting rows makes a pass read only them. Its key is the id, so the
--    only query it could lure is an id lookup, which it answers as well as the primary key.
--
-- 2. The claim's reads were planned from statistics that describe the whole table. With a
--    history, a queued kind looks rare twice over: `status = 'queued'` and `kind = any (...)` are
--    each a fraction of a percent, and the planner multiplies them (it knows nothing of their
--    correlation) into an estimate of a handful of due rows. For a handful, any index plus a sort
--    looks as cheap as the ordered one, so a claim read every due row of its kinds through the
--    per-user index and sorted them: 2,000 rows per claim under a 2,000-task backlog, instead of
--    one. The same estimates could send the lone-user check (engine.others_queued) down the
--    per-user index of all tasks (user_id, created_at), through finished rows. Both reads are now
--    written so that only the queued-only indexes answer them in order, whatever the estimate:
--    - the first read names one kind at a time (kind = k), which the per-kind due index (kind,
--      run_after, created_at) answers in claim order, stopping at the first row it can lock; with
--      several kinds, each kind's oldest due row is looked up first (one probe per kind, no lock)
--      and the kinds are tried in that order;
--    - the lone-user check asks, per kind, for the lowest and the highest user with queued work,
--      ordered by (kind, user_id): two probes of the per-user due index, which no index of all
--      tasks can answer without reading and sorting everything.
--
-- Fairness, caps, leases and fencing are unchanged: claim_next_task keeps its body but for the
-- first read, and others_queued answers the same question.

create index background_tasks_waiting_idx on public.background_tasks (id) where status = 'waiting';

-- The oldest due queued task of p_kinds that no other claimer has locked, locked for this
-- transaction; null when there is none. Reads O(kinds) index entries plus the rows it skips.
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

revoke all on function engine.lock_oldest_due(text[]) from public, anon, authenticated;

-- True when a user other than p_user_id has queued work of these kinds (users without an id, the
-- service role's tasks, never count): per kind, the lowest and the highest user with queued work,
-- each one probe of the per-user due index.
create or replace function engine.others_queued(p_kinds text[], p_user_id uuid) returns boolean
language plpgsql stable security definer set search_path = '' as $$
declare
  k text;
  edge uuid;
begin
  if p_user_id is null then
    return false;
  end if;
  foreach k in array coalesce(p_kinds, '{}') loop
    select b.user_id into edge from public.background_tasks b
     where b.status = 'queued' and b.kind = k and b.user_id is not null
     order by b.kind, b.user_id
     limit 1;
    if edge <> p_user_id then
      return true;
    end if;
    select b.user_id into edge from public.background_tasks b
     where b.status = 'queued' and b.kind = k and b.user_id is not null
     order by b.kind desc, b.user_id desc
     limit 1;
    if edge <> p_user_id then
      return true;
    end if;
  end loop;
  return false;
end $$;

create or replace function engine.claim_next_task(p_kinds text[], p_worker_id text, p_lease_seconds integer default 30)
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
  -- One user's work only (the common case, and the engine benchmark's): nobody to take turns
  -- with, so the oldest due task, read in claim order off the per-kind due index, if its key has room.
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
