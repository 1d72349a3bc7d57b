-- Render workers are processes outside the platform: when none runs, render jobs just sit queued
-- and every film waiting on one stalled without a word. Each worker now beats here (one row per
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

alter table engine.settings
  add column render_worker_live_seconds integer not null default 30,
  add column render_wait_alert_seconds integer not null default 60;

comment on column engine.settings.render_wait_alert_seconds is
  'A film whose render job has waited this long with no live render worker says so in its status.';

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
     where b.worker is null
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

revoke all on function engine.render_worker_beat(text, text, integer, text[], integer, integer, timestamptz, timestamptz) from public, anon, authenticated;
revoke all on function engine.render_worker_gone(text) from public, anon, authenticated;
revoke all on function engine.render_wait(uuid) from public, anon, authenticated;
grant execute on function engine.render_worker_beat(text, text, integer, text[], integer, integer, timestamptz, timestamptz) to service_role;
grant execute on function engine.render_worker_gone(text) to service_role;
grant execute on function engine.render_wait(uuid) to service_role;
