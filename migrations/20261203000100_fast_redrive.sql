-- Two ways a killed worker left its task idle far longer than a sweep:
-- 1. A doorbell that reached a worker as it died (a 546, a boot failure, a timeout) was only rung
--    again redispatch_after_ms later (15 s), though pg_net's response already says it was lost.
--    dispatch_task now keeps the pg_net request id, and the sweeper rings again at once for a
--    task whose last doorbell failed.
-- 2. A worker killed between claiming a task and taking its liveness lock left the lease looking
--    held until it expired (30 s). Doorbell claims now take the lock first and claim with
--    p_lock_held, which marks the lease as watched in the claim itself
--    (engine.claim_task's four-argument form, 20261203005000_claim_task_one_body.sql).

alter table public.background_tasks
  add column dispatch_request_id bigint;

comment on column public.background_tasks.dispatch_request_id is
  'pg_net request id of the last doorbell (engine.dispatch_task); its response tells the sweeper it was lost.';

create index background_tasks_dispatch_request_idx on public.background_tasks (dispatch_request_id)
  where status in ('queued', 'running');

create or replace function engine.dispatch_task(p_task_id uuid) returns void
language plpgsql security definer set search_path = '' as $$
declare
  s engine.settings;
  t_worker text;
  request_id bigint;
begin
  select * into s from engine.settings;
  if s.functions_url is null then
    raise exception 'task engine dispatch is not configured: run engine.configure_dispatch(...)'
      using errcode = 'RF002';
  end if;
  select worker into t_worker from public.background_tasks where id = p_task_id;
  if t_worker is null then
    return;
  end if;
  select net.http_post(
    url := s.functions_url || '/' || t_worker || '/task-slice',
    body := jsonb_build_object('taskId', p_task_id),
    params := '{}'::jsonb,
    headers := jsonb_build_object(
      'Content-Type', 'application/json',
      'Authorization', 'Bearer ' || s.api_key,
      'x-reelforge-internal', engine.internal_secret()),
    timeout_milliseconds := s.dispatch_timeout_ms) into request_id;
  update public.background_tasks set dispatched_at = now(), dispatch_request_id = request_id
   where id = p_task_id;
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
       and b.worker is not null
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

-- As before (a sweep every sweep_every_ms for about a minute), lost doorbells first.
create or replace procedure engine.run_sweeper(p_for_seconds integer default 55)
language plpgsql as $$
declare
  deadline timestamptz := clock_timestamp() + make_interval(secs => p_for_seconds);
  every_ms integer;
begin
  loop
    perform engine.ring_lost_doorbells();
    perform engine.sweep();
    commit;
    select sweep_every_ms into every_ms from engine.settings;
    exit when clock_timestamp() + make_interval(secs => every_ms / 1000.0) > deadline;
    perform pg_sleep(every_ms / 1000.0);
  end loop;
  if to_regclass('cron.job_run_details') is not null then
    execute 'delete from cron.job_run_details where end_time < now() - interval ''1 day''';
  end if;
end $$;

revoke all on function engine.ring_lost_doorbells(integer) from public, anon, authenticated;
grant execute on function engine.ring_lost_doorbells(integer) to service_role;
