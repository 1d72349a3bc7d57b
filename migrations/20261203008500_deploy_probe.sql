-- The deploy script's doorbell check (scripts/deploy.sh, step "probe") starts a deploy.probe task
-- and cancels it once a function claimed it. No user started it, so it has no owner, like a clone
-- started with the service role key: RLS (user_id = auth.uid()), public.cancel_task /
-- resume_task and every function's status / cancel / resume action match an owner, so no user
-- can see, cancel or resume it. Only the backend (engine.enqueue_task over the database) starts one.
alter table public.background_tasks drop constraint background_tasks_owner_required;

alter table public.background_tasks
  add constraint background_tasks_owner_required
  check (user_id is not null or kind in ('clone.database', 'deploy.probe'));
