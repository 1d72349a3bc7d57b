-- A film whose produce-movie task ends failed or cancelled — by any path: a step's error after
-- the fan-out, max attempts, worker_lost, a cancel — leaves `processing` at once. The task row is
-- the truth; the movie follows it in the same transaction.

create function public.movie_follows_its_task() returns trigger
language plpgsql security definer set search_path = '' as $$
declare
  reason text := coalesce(new.last_error ->> 'message', new.status);
begin
  update public.movies
     set status = new.status, error_message = coalesce(error_message, reason)
   where task_id = new.id and status in ('pending', 'processing');
  if found then
    update public.movie_creation_progress p
       set overall_status = new.status, current_step = new.status, current_step_detail = reason
      from public.movies m
     where m.task_id = new.id and p.movie_id = m.id;
  end if;
  return null;
end $$;

create trigger background_tasks_film_end
  after update of status on public.background_tasks
  for each row
  when (new.kind = 'film.produce' and new.status in ('failed', 'cancelled') and old.status is distinct from new.status)
  execute function public.movie_follows_its_task();

revoke all on function public.movie_follows_its_task() from public, anon, authenticated;
