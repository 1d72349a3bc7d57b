-- An accepted take's apply (asset.apply) is a task its owner may cancel and resume, but its resume
-- was neither counted nor held to what its accept is held to: a hostile probe resumed cancelled
-- applies with no regenerations left (each ran its remix and reassembly, and a paid lip sync where
-- one is set), and resumed one while the film was back in production, two renders of one film at
-- once. Now its resume counts as a regeneration, like a scene's, and is refused while the film is
-- in production (RF016), while the owner's scene or assembly work is open on it (RF017) and while
-- another take is being applied to it (RF018), as the accept is.
create or replace function engine.resume_by_owner(p_task_id uuid) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  film public.movies;
  run_status text;
  film_status text;
  same_work uuid;
  open_work record;
  max_resumes integer;
begin
  -- The owner first (engine.lock_owner).
  perform engine.lock_owner((select b.user_id from public.background_tasks b where b.id = p_task_id));
  select * into t from public.background_tasks where id = p_task_id for update;
  if not found then
    return null;
  end if;
  if engine.is_part_of_other_work(t.kind, t.parent_id) then
    raise exception 'task % (%) is part of other work: resume the film, run or job it belongs to', p_task_id, t.kind
      using errcode = 'RF008';
  end if;
  -- A film's own task (film.produce) or a scene/film task working on a film.
  select * into film from public.movies
   where task_id = t.id
      or (t.kind <> 'film.produce'
          and (id = case when t.payload ->> 'movieId' ~ '^[0-9a-fA-F-]{36}$' then (t.payload ->> 'movieId')::uuid end
               or task_id = t.parent_id))
   limit 1;
  -- A film's produce task is the one its row names: a script accept starts the film again with a
  -- new task (asset_admin.reset_film), and resuming the old one ran a second pipeline on it.
  if t.kind = 'film.produce' and film.id is null then
    raise exception 'task % no longer makes its film (it was started again): resume the film instead', p_task_id
      using errcode = 'RF008';
  end if;
  if t.kind <> 'film.produce' and film.status = 'cancelled' then
    raise exception 'film % was cancelled: resume the film, not one of its scenes', film.id using errcode = 'RF007';
  end if;
  if t.parent_id is not null then
    if t.status <> 'failed' then
      raise exception 'scene task % is %: only a failed scene task can be resumed', p_task_id, t.status using errcode = 'RF008';
    end if;
  end if;
  perform engine.assert_resumable(t);
  -- A regenerate task only makes its run's preview: once the run has ended (rejected, failed,
  -- cancelled with its task, dropped by a script regeneration) a resume would be paid for and do
  -- nothing.
  if t.kind = 'asset.regenerate' then
    select r.status into run_status from public.asset_runs r
     where r.id = asset_admin.run_id_of(t.payload);
    if run_status is distinct from 'running' then
      raise exception 'task % made asset run %, which is %: start a new run instead (its draft is kept on the run)',
        p_task_id, t.payload ->> 'runId', coalesce(run_status, 'gone') using errcode = 'RF008';
    end if;
  end if;
  select coalesce(u.resumes_per_task, d.resumes_per_task) into max_resumes
    from public.usage_limits d left join public.usage_limits u on u.user_id = t.user_id
   where d.user_id is null;
  if t.resumes >= max_resumes then
    raise exception 'task % was resumed % times, the most allowed', p_task_id, t.resumes using errcode = 'RF006';
  end if;
  if t.kind = 'film.produce' then
    perform engine.admit_usage(t.user_id, 'film', 'resume', film.id);
  elsif engine.is_scene_kind(t.kind) or t.kind in ('film.assemble', 'asset.regenerate', 'asset.apply') then
    perform engine.admit_usage(t.user_id, 'regeneration', 'resume');
  end if;
  -- A scene or film regeneration resumed is that regeneration started again, so what its start
  -- refuses is refused here, under the locks its start takes in the same order (the user's, in
  -- admit_usage, then the film's row; shared/film/scene-actions.ts): a film in production, or the
  -- same work already open in another task (a start made after this one was cancelled). Resumed
  -- beside either, both chains paid for the same scene and wrote the same rows.
  -- An accepted take's apply (asset.apply: its remix, reassembly, cascade of new clips) resumed is
  -- that accept carried out again, so it meets what the accept met (shared/film/film-movie.ts,
  -- lockIdleMovie): the film out of production, no scene work of the owner's open on it.
  if t.parent_id is null and (engine.is_scene_kind(t.kind) or t.kind in ('film.assemble', 'asset.apply'))
     and film.id is not null then
    select m.status into film_status from public.movies m where m.id = film.id for no key update;
    if film_status in ('pending', 'processing') then
      raise exception 'Movie % is still in production; wait for it to end or cancel it', film.id
        using errcode = 'RF016';
    end if;
    same_work := engine.open_task_of_same_work(t.user_id, t.kind, t.payload, t.id);
    if same_work is not null then
      raise exception 'Movie % already has % task % open for the same work: follow it with status, or cancel it before resuming this one',
        film.id, t.kind, same_work using errcode = 'RF017';
    end if;
    -- Nor beside a take accepted into the film and still being applied, as its start
    -- (shared/film/film-movie.ts, assertNoTakeApplying).
    same_work := engine.open_task_of_same_work(t.user_id, 'asset.apply', jsonb_build_object('movieId', film.id), t.id);
    if same_work is not null then
      raise exception 'Movie % has an accepted take still being applied (task %): resume this once that ends',
        film.id, same_work using errcode = 'RF018';
    end if;
    if t.kind = 'asset.apply' then
      select w.kind, w.id into open_work from engine.open_film_work(t.user_id, film.id) w;
      if open_work.id is not null then
        raise exception 'Movie % has % task % open: resume this once it ends, or cancel it',
          film.id, open_work.kind, open_work.id using errcode = 'RF017';
      end if;
    end if;
  end if;
  -- A film's rows, locked before anything changes: the progress row before the movie
  -- (shared/film/film-progress.ts, lockFilmProgress), both after the task and the user's usage
  -- lock, the order a cancel (engine.cancel_task, then public.movie_follows_its_task at its
  -- commit) and a script accept (admitUsage, then asset_admin.reset_film) take them. A script
  -- accept holding them is waited for, and the movie is read again under its lock: the film read
  -- above came from before that accept committed, and resuming the task it took the film from ran
  -- a second pipeline beside the new one.
  if t.kind = 'film.produce' then
    perform from public.movie_creation_progress where movie_id = film.id for update;
    perform from public.movies m where m.id = film.id and m.task_id = t.id for no key update;
    if not found then
      raise exception 'task % no longer makes its film (it was started again): resume the film instead', p_task_id
        using errcode = 'RF008';
    end if;
    -- An accepted take still being applied (its asset.apply: a remix, a reassembly, a cascade of
    -- new clips) writes the rows a resumed pipeline writes. Its accept took these two locks
    -- (shared/film/film-movie.ts, lockIdleMovie), so one committed before this is seen here.
    same_work := engine.open_task_of_same_work(t.user_id, 'asset.apply', jsonb_build_object('movieId', film.id));
    if same_work is not null then
      raise exception 'Movie % has an accepted take still being applied (task %): resume it once that ends',
        film.id, same_work using errcode = 'RF018';
    end if;
    -- Nor beside a scene or the assembly its owner started while it was cancelled.
    select w.kind, w.id into open_work from engine.open_film_work(t.user_id, film.id) w;
    if open_work.id is not null then
      raise exception 'Movie % has % task % open: resume the film once it ends, or cancel it',
        film.id, open_work.kind, open_work.id using errcode = 'RF017';
    end if;
  end if;
  update public.background_tasks set resumes = resumes + 1 where id = p_task_id;
  t := engine.resume_task(p_task_id);
  -- The film is in production again in this transaction, so a parallel admission counts it, and
  -- its progress row says so with the movie (produce-movie's status reads both; a cancel committing
  -- between two transactions left them apart).
  if t.kind = 'film.produce' then
    update public.movies set status = 'processing', error_message = null
     where task_id = t.id and status in ('failed', 'cancelled');
    update public.movie_creation_progress set overall_status = 'running'
     where movie_id = film.id and overall_status in ('failed', 'cancelled');
  end if;
  return t;
end $$;
