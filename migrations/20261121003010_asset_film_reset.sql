-- Full-script regeneration (issue 6, seed 000 §7): everything the seed lists is reset in one
-- transaction — scenes and their lines (audio), clips and videos, the final video, the cover, the
-- script, visual bible and plan, statuses back to pending — and the pipeline restarts with a new
-- film.produce task enqueued in the same transaction. A kill before commit leaves the old film
-- whole; after it, the new state and its task. Superseded files are deleted after the retention.
create function asset_admin.reset_film(p_movie uuid, p_user uuid, p_prompt text, p_steps jsonb, p_idempotency_key text)
returns uuid language plpgsql as $$
declare
  v_movie public.movies%rowtype;
  v_task uuid;
  v_retention integer;
begin
  select * into v_movie from public.movies where id = p_movie and user_id = p_user for update;
  if v_movie.id is null then
    raise exception 'movie % not found', p_movie using errcode = 'RFA04';
  end if;
  select retention_seconds into v_retention from asset_admin.settings;
  -- Lines go with their scenes (cascade); their delete triggers supersede their assets.
  delete from public.movie_scenes where movie_id = p_movie;
  delete from public.scripts where movie_id = p_movie;
  delete from public.visual_bibles where movie_id = p_movie;
  update public.movies
     set prompt = coalesce(p_prompt, prompt), status = 'pending', progress = 0, video_url = null, poster_url = null,
         thumbnail_url = null, error_message = null, completed_at = null, metadata = '{}'::jsonb
   where id = p_movie;
  update public.assets
     set state = 'superseded', superseded_at = now(), delete_after = now() + make_interval(secs => v_retention)
   where movie_id = p_movie and state in ('current', 'preview', 'draft') and kind <> 'script';
  -- Open runs on the old film can no longer be accepted.
  update public.asset_runs set status = 'failed', error = 'the film was reset by a script regeneration'
   where movie_id = p_movie and status in ('running', 'preview');
  update public.movie_creation_progress
     set overall_status = 'pending', overall_progress = 0, current_step = null, current_step_detail = null, steps = p_steps
   where movie_id = p_movie;
  select id into v_task from engine.enqueue_task(
    p_user_id => p_user, p_kind => 'film.produce', p_worker => 'produce-movie',
    p_payload => jsonb_build_object('movieId', p_movie), p_idempotency_key => p_idempotency_key, p_max_attempts => 5);
  update public.movies set task_id = v_task where id = p_movie;
  return v_task;
end $$;

-- A preview dropped meanwhile (its film reset) cannot become current.
create or replace function asset_admin.accept_run(p_run uuid, p_user uuid) returns public.assets
language plpgsql as $$
declare
  v_run public.asset_runs%rowtype;
  v_current integer;
  v_asset public.assets%rowtype;
  v_retention integer;
begin
  select * into v_run from public.asset_runs where id = p_run and user_id = p_user;
  if v_run.id is null then
    raise exception 'asset run % not found', p_run using errcode = 'RFA04';
  end if;
  perform pg_advisory_xact_lock(hashtextextended('asset-slot:' || v_run.slot, 0));
  select * into v_run from public.asset_runs where id = p_run for update;
  if v_run.status <> 'preview' then
    raise exception 'asset run % is %, not a preview', p_run, v_run.status using errcode = 'RFA09';
  end if;
  select version into v_current from public.assets where slot = v_run.slot and state = 'current';
  if v_current is distinct from v_run.base_version then
    raise exception 'asset run % is stale: % is at version %, the run started from %', p_run, v_run.slot, v_current, v_run.base_version
      using errcode = 'RFA10';
  end if;
  select retention_seconds into v_retention from asset_admin.settings;
  update public.assets set state = 'superseded', superseded_at = now(), delete_after = now() + make_interval(secs => v_retention)
   where slot = v_run.slot and state = 'current';
  update public.assets set state = 'current', current_at = now()
   where id = v_run.preview_asset_id and state = 'preview'
  returning * into v_asset;
  if v_asset.id is null then
    raise exception 'asset run %: its preview was dropped', p_run using errcode = 'RFA10';
  end if;
  update public.asset_runs set status = 'accepted', decided_at = now() where id = p_run;
  return v_asset;
end $$;
