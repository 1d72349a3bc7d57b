-- A deleted account's files. Deleting a user (Auth's admin API, the dashboard) removes every row of
-- theirs by cascade, but Storage objects are not rows of ours: their films, previews and offline
-- providers' outputs stayed in the media bucket for good, as nothing lists a user who has no
-- movie left. The deletion now enqueues an account.forget task (no owner: the user is gone),
-- which removes everything under the account's folders, then looks again once the jobs running at
-- the deletion can no longer write (shared/film/orphan-cleanup.ts). An `after delete` trigger, as
-- forget_expired_tasks is: it runs after the cascades.
create function engine.forget_account_files() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  -- Never in the way of the deletion itself: rung at commit where dispatch is configured (else the
  -- sweeper rings it once it is), and an enqueue that fails anyway is a warning, not a refusal.
  begin
    perform engine.enqueue_task(
      p_user_id => null, p_kind => 'account.forget', p_function => 'assemble',
      p_payload => jsonb_build_object(
        'userId', old.id,
        -- When to look again: a job that was running at the deletion finds its lease gone at its
        -- next renewal (within a lease, 30 s) and may still be uploading its file then. A session
        -- may set reelforge.forget_again_seconds (tests do); ten minutes otherwise.
        'againSeconds', coalesce(nullif(current_setting('reelforge.forget_again_seconds', true), '')::integer, 600)),
      p_idempotency_key => 'account.forget:' || old.id,
      p_max_attempts => 5,
      p_dispatch => (select s.functions_url is not null from engine.settings s));
  exception when others then
    raise warning 'account % deleted, but its files were not queued for removal: %', old.id, sqlerrm;
  end;
  return null;
end $$;

revoke all on function engine.forget_account_files() from public, anon, authenticated;

create trigger users_forget_account_files
  after delete on auth.users
  for each row execute function engine.forget_account_files();
