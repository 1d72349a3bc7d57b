-- A retention batch and an account deletion could deadlock: engine.expire_finished locks a user's
-- finished task rows and then writes their engine.expired_tasks records, whose foreign key to
-- auth.users takes a key-share lock on the owner's row; deleting that user locks the user row
-- first and then, by cascade, waits for the same task rows. Postgres broke the cycle by failing
-- one side (seen in the engine benchmark removing its history beside the scheduled job).
--
-- The record names its owner without a key, so writing it takes no lock on auth.users, and an
-- account's deletion removes its records (and its tasks in engine.task_archive) itself, after its tasks' cascade (this trigger runs after
-- the row-level cascades, which Postgres orders before user triggers by name), so a record a
-- concurrent retention batch committed meanwhile goes too.
alter table engine.expired_tasks drop constraint expired_tasks_user_id_fkey;

create index expired_tasks_user_idx on engine.expired_tasks (user_id);

create function engine.forget_expired_tasks() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  delete from engine.expired_tasks where user_id = old.id;
  delete from engine.task_archive where user_id = old.id;
  return null;
end $$;

revoke all on function engine.forget_expired_tasks() from public, anon, authenticated;

create trigger users_forget_expired_tasks
  after delete on auth.users
  for each row execute function engine.forget_expired_tasks();
