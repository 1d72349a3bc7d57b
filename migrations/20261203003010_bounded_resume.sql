-- Resume is for what a user may restart, a bounded number of times, and it counts against the
-- usage limits (issue 12 §5). engine.resume_task stays the engine's own transition (the pipeline
-- re-runs a failed location image with it); owners go through engine.resume_by_owner: every
-- function's `resume` (through TaskStore.resume) and the public.resume_task RPC.

-- Resumes by the owner: each one resets the task's attempts, so without a bound a user could
-- retry a paid step forever.
alter table public.background_tasks add column resumes integer not null default 0;
alter table public.background_tasks add constraint background_tasks_resumes_non_negative check (resumes >= 0);

-- RF006 resume_limit_reached, RF007 film_cancelled, RF008 task_not_resumable, RFQ01 quota.
create function engine.resume_by_owner(p_task_id uuid) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
declare
  t public.background_tasks;
  film public.movies;
  max_resumes integer;
  scene_kinds constant text[] := array['film.chain', 'film.voices', 'film.mix'];
  -- Housekeeping the user never started; they end or re-run by themselves.
  internal_kinds constant text[] := array['film.cancel_jobs', 'asset.cleanup', 'storage.cleanup', 'render', 'local_media'];
begin
  select * into t from public.background_tasks where id = p_task_id for update;
  if not found then
    return null;
  end if;
  if t.kind = any (internal_kinds) or (t.parent_id is not null and t.kind <> all (scene_kinds)) then
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
  if t.kind <> 'film.produce' and film.status = 'cancelled' then
    raise exception 'film % was cancelled: resume the film, not one of its scenes', film.id using errcode = 'RF007';
  end if;
  if t.parent_id is not null then
    if t.status <> 'failed' then
      raise exception 'scene task % is %: only a failed scene task can be resumed', p_task_id, t.status using errcode = 'RF008';
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
  elsif t.kind = any (scene_kinds || array['film.assemble', 'asset.regenerate']) then
    perform engine.admit_usage(t.user_id, 'regeneration', 'resume');
  end if;
  update public.background_tasks set resumes = resumes + 1 where id = p_task_id;
  t := engine.resume_task(p_task_id);
  -- The film is in production again in this transaction, so a parallel admission counts it.
  if t.kind = 'film.produce' then
    update public.movies set status = 'processing', error_message = null
     where task_id = t.id and status in ('failed', 'cancelled');
  end if;
  return t;
end $$;

create or replace function public.resume_task(task_id uuid) returns public.background_tasks
language plpgsql security definer set search_path = '' as $$
begin
  if not exists (select 1 from public.background_tasks
                  where id = task_id and user_id = auth.uid()) then
    raise exception 'task % not found', task_id using errcode = 'P0002';
  end if;
  return engine.resume_by_owner(task_id);
end $$;

revoke all on function engine.resume_by_owner(uuid) from public, anon, authenticated;
grant execute on function engine.resume_by_owner(uuid) to service_role;

-- A user's own provider row caps only their own key, but every task under it runs on the
-- project's workers: a user's cap is bounded lower than a project default's.
alter table public.api_providers add constraint api_providers_user_concurrency_limit
  check (user_id is null or concurrency_limit <= 10) not valid;
