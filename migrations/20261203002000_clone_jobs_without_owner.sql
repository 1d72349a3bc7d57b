-- A clone started with the service role key has no user behind it: its job row has no owner.
-- Only clone jobs may be ownerless; every other task still belongs to a user (RLS reads
-- user_id = auth.uid(), which never matches null, so an ownerless job is visible to the
-- service role only; operators reach it through clone-database's own actions).
alter table public.background_tasks alter column user_id drop not null;

alter table public.background_tasks
  add constraint background_tasks_owner_required
  check (user_id is not null or kind = 'clone.database');
