-- Scenes made of shots (docs/film-pipeline.md, "Shots"). A scene lasts as long as the planner gave
-- it (the screenplay's proposal scaled to the film's length), and a video model makes clips of at
-- most a few seconds: each scene is cut into shots, one clip each, on the model's duration grid.
-- movie_scenes.video_url stays the scene's finished clip (its shots joined, then mixed).
create table public.scene_shots (
  id uuid primary key default gen_random_uuid(),
  movie_id uuid not null references public.movies (id) on delete cascade,
  scene_id uuid not null references public.movie_scenes (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  shot_number integer not null,
  -- The scene's prompt with this shot's beat; null until the shot's turn comes.
  prompt text,
  duration_seconds numeric(6, 2) not null,
  -- Shot 1 takes the scene's reference (previous_frame | library | generated); later shots the
  -- previous shot's real last frame (previous_shot).
  reference_image_url text,
  reference_image_source text,
  clip_url text,
  end_frame_url text,
  status text not null default 'pending',
  error_message text,
  -- The video provider's job id (external id), once submitted.
  provider_job_id text,
  -- Made from a last frame that has changed since (an earlier shot, or the scene it continues,
  -- got a new accepted clip): stale until it gets a new accepted clip itself.
  stale boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint scene_shots_one_per_number unique (scene_id, shot_number),
  constraint scene_shots_number_positive check (shot_number >= 1),
  constraint scene_shots_duration_positive check (duration_seconds > 0),
  constraint scene_shots_status_check check (status in ('pending', 'generating', 'completed', 'failed')),
  constraint scene_shots_reference_source_check check (
    reference_image_source is null
    or reference_image_source in ('previous_frame', 'library', 'generated', 'previous_shot'))
);

create index scene_shots_movie_idx on public.scene_shots (movie_id, scene_id, shot_number);

alter table public.scene_shots enable row level security;
create policy scene_shots_owner_select on public.scene_shots
  for select to authenticated using (user_id = (select auth.uid()));
revoke all on public.scene_shots from anon, authenticated;
grant select on public.scene_shots to authenticated;
grant all on public.scene_shots to service_role;

create trigger scene_shots_touch before update on public.scene_shots
  for each row execute function engine.touch_updated_at();

do $$
begin
  if exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    execute 'alter publication supabase_realtime add table public.scene_shots';
  end if;
end $$;

-- A shot's clip and last frame are the owner's media like a scene's (asset_admin.record_url, the
-- one writer path for versions): kept past the orphan sweep, and what the next shot starts from.
create function asset_admin.scene_shots_changed() returns trigger language plpgsql as $$
begin
  if new.clip_url is distinct from (case when tg_op = 'UPDATE' then old.clip_url end) then
    perform asset_admin.record_url(new.user_id, new.movie_id, 'shot:' || new.id || ':clip', 'video', new.clip_url);
  end if;
  if new.end_frame_url is distinct from (case when tg_op = 'UPDATE' then old.end_frame_url end) then
    perform asset_admin.record_url(new.user_id, new.movie_id, 'shot:' || new.id || ':end_frame', 'image', new.end_frame_url);
  end if;
  return null;
end $$;

create trigger scene_shots_assets after insert or update of clip_url, end_frame_url on public.scene_shots
  for each row execute function asset_admin.scene_shots_changed();
