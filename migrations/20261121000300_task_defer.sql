-- A slice claimed by a worker at the very end of its wall clock has no time to work: it gives
-- the task back to be run after that worker is gone (the sweeper rings when it is due), instead of
-- handing off to the same dying worker again and again.
create function engine.defer_task(p_task_id uuid, p_token bigint, p_delay_ms integer) returns boolean
language plpgsql security definer set search_path = '' as $$
begin
  update public.background_tasks
     set status = 'queued', run_after = now() + make_interval(secs => p_delay_ms / 1000.0),
         lease_owner = null, lease_expires_at = null
   where id = p_task_id and fencing_token = p_token and status = 'running';
  return found;
end $$;

revoke all on function engine.defer_task(uuid, bigint, integer) from public, anon, authenticated;
grant execute on function engine.defer_task(uuid, bigint, integer) to service_role;
