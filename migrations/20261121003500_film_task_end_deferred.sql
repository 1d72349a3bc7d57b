-- The movie follows its produce task's end at commit, not during the task's update: cancelling a
-- film locks its produce task, then its children (after_terminal), and only then the movie row.
-- Steps lock their own task row first and may then write the movie (progress, metadata), so with
-- the movie locked in the middle of the cascade a cancel and a child's step could each hold what
-- the other waits for (a deadlock, seen as a 500 on cancel right after resume).

drop trigger background_tasks_film_end on public.background_tasks;

create constraint trigger background_tasks_film_end
  after update of status on public.background_tasks
  deferrable initially deferred
  for each row
  when (new.kind = 'film.produce' and new.status in ('failed', 'cancelled') and old.status is distinct from new.status)
  execute function public.movie_follows_its_task();
