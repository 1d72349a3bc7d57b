-- Pulled tasks (worker is null: render and local_media jobs) have no doorbell; worker processes
-- polled for them every half second, which the film's critical path paid once per render. Now a
-- queued pulled task is announced on channel reelforge_pulled (payload: its kind) at commit, and
-- idle workers LISTENing there claim it at once. Polling stays as the fallback.

create function engine.announce_pulled_task() returns trigger
language plpgsql as $$
begin
  perform pg_notify('reelforge_pulled', new.kind);
  return null;
end $$;

create trigger background_tasks_announce_pulled
  after insert or update of status, run_after on public.background_tasks
  for each row
  when (new.worker is null and new.status = 'queued')
  execute function engine.announce_pulled_task();
