-- Fair claiming (issue 12 §5): one user's backlog never starves another.
--
-- claim_next_task used to read the oldest 20 due rows and try each: a user with 20 old tasks on a
-- key at its cap filled that window and nobody else's work was claimed, and a user with a big due
-- backlog was served before anyone who came later. Now a claim looks at groups of due work — one
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

-- True when a user other than p_user_id has queued work of these kinds: two probes of the
-- per-user due index (users before and after p_user_id), whatever the backlog.
create function engine.others_queued(p_kinds text[], p_user_id uuid) returns boolean
language plpgsql stable security definer set search_path = '' as $$
begin
  return exists (select 1 from public.background_tasks b
                  where b.status = 'queued' and b.kind = any (p_kinds) and b.user_id > p_user_id)
      or exists (select 1 from public.background_tasks b
                  where b.status = 'queued' and b.kind = any (p_kinds) and b.user_id < p_user_id);
end $$;

-- Abandoned pulled work (a dead render worker's job), claimed when nothing queued could be.
create function engine.claim_abandoned_task(p_kinds text[], p_worker_id text, p_lease_seconds integer)
returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  claimed public.background_tasks;
begin
  for t in
    select * from public.background_tasks b
     where b.status = 'running' and b.worker is null and b.kind = any (p_kinds)
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
  -- with, so the oldest due task, read straight off the due index as before, if its key has room.
  select * into t from public.background_tasks
   where status = 'queued' and run_after <= now() and kind = any (p_kinds)
   order by run_after, created_at
   limit 1
   for update skip locked;
  any_due := found;
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

create or replace function engine.claim_task(p_task_id uuid, p_worker_id text, p_lease_seconds integer default 30)
returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  claimed public.background_tasks;
begin
  select * into t from public.background_tasks where id = p_task_id for update skip locked;
  if not found or not engine.is_claimable(t) then
    return null;
  end if;
  if not engine.take_concurrency_slot(t.concurrency_key, t.id) then
    return null;
  end if;
  -- A queued task gives the slot to a user with a lower standing on the key (whose task the
  -- freed slot rang); a running task whose holder died keeps its place.
  if t.status = 'queued' and engine.owes_slot(t) then
    return null;
  end if;
  claimed := engine.start_lease(t, p_worker_id, p_lease_seconds);
  if claimed.id is not null and t.concurrency_key is not null
     and exists (select 1 from engine.concurrency_limits where concurrency_key = t.concurrency_key) then
    insert into engine.claim_turns (user_id, last_claimed_at) values (t.user_id, clock_timestamp())
    on conflict (user_id) do update set last_claimed_at = excluded.last_claimed_at;
  end if;
  return claimed;
end $$;

-- Rings, for a key that just freed a slot, the due task of the user with the lowest standing on
-- it (the oldest due task among equals), not simply the oldest: a backlog waits its turn.
create or replace function engine.dispatch_next_for_key(p_key text) returns void
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

revoke all on function engine.full_concurrency_keys(), engine.owes_slot(public.background_tasks),
  engine.key_standing(text, uuid, uuid), engine.others_queued(text[], uuid),
  engine.claim_abandoned_task(text[], text, integer),
  engine.claim_next_task(text[], text, integer), engine.claim_task(uuid, text, integer),
  engine.dispatch_next_for_key(text) from public, anon, authenticated;
grant execute on function engine.full_concurrency_keys(), engine.owes_slot(public.background_tasks),
  engine.key_standing(text, uuid, uuid), engine.others_queued(text[], uuid),
  engine.claim_abandoned_task(text[], text, integer),
  engine.claim_next_task(text[], text, integer), engine.claim_task(uuid, text, integer),
  engine.dispatch_next_for_key(text) to service_role;
