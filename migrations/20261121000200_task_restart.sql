-- Restarting a task from zero (clone-database's `restart`): the running worker is fenced out, the
-- recorded steps are forgotten, and the task starts again with the metadata the caller gives.

create function engine.restart_task(p_task_id uuid, p_metadata jsonb) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
begin
  select * into t from public.background_tasks where id = p_task_id for update;
  if not found then
    return null;
  end if;
  delete from public.background_task_steps where task_id = p_task_id;
  update public.background_tasks
     set status = 'queued', run_after = now(), metadata = coalesce(p_metadata, '{}'::jsonb),
         progress = 0, result = null, attempts = 0, stalls = 0, last_error = null,
         lease_owner = null, lease_expires_at = null, finished_at = null,
         fencing_token = fencing_token + 1
   where id = p_task_id
  returning * into t;
  perform engine.dispatch_task(p_task_id);
  return t;
end $$;

revoke all on function engine.restart_task(uuid, jsonb) from public, anon, authenticated;
grant execute on function engine.restart_task(uuid, jsonb) to service_role;
