-- Rows and bytes one film leaves behind (README "What a film leaves behind"), split into what
-- retention removes (its task tree) and what it keeps (the product tables).
-- Usage: psql "$DB_URL" -v movie=<movie uuid> -f scripts/film-footprint.sql
-- Bytes are the rows' own data (pg_column_size of each row), without tuple headers or indexes.
with recursive tree(id) as (
  select task_id from public.movies where id = :'movie'
  union
  select b.id from public.background_tasks b join tree on b.parent_id = tree.id
), counts(kept, tbl, n, bytes) as (
  select false, 'background_tasks', count(*), sum(pg_column_size(b.*))
    from public.background_tasks b where b.id in (select id from tree)
  union all
  select false, 'background_task_steps', count(*), sum(pg_column_size(s.*))
    from public.background_task_steps s where s.task_id in (select id from tree)
  union all
  select false, 'engine.slice_ends', count(*), sum(pg_column_size(e.*))
    from engine.slice_ends e where e.task_id in (select id from tree)
  union all
  select true, 'movies', count(*), sum(pg_column_size(x.*)) from public.movies x where x.id = :'movie'
  union all
  select true, 'movie_scenes', count(*), sum(pg_column_size(x.*)) from public.movie_scenes x where x.movie_id = :'movie'
  union all
  select true, 'scene_audio', count(*), sum(pg_column_size(x.*)) from public.scene_audio x where x.movie_id = :'movie'
  union all
  select true, 'scripts', count(*), sum(pg_column_size(x.*)) from public.scripts x where x.movie_id = :'movie'
  union all
  select true, 'visual_bibles', count(*), sum(pg_column_size(x.*)) from public.visual_bibles x where x.movie_id = :'movie'
  union all
  select true, 'movie_creation_progress', count(*), sum(pg_column_size(x.*))
    from public.movie_creation_progress x where x.movie_id = :'movie'
  union all
  select true, 'movie_step_metrics', count(*), sum(pg_column_size(x.*))
    from public.movie_step_metrics x where x.movie_id = :'movie'
  union all
  select true, 'assets', count(*), sum(pg_column_size(x.*)) from public.assets x where x.movie_id = :'movie'
  union all
  select true, 'image_requests', count(*), sum(pg_column_size(x.*)) from public.image_requests x where x.movie_id = :'movie'
)
select case when kept then 'kept' else 'removed by retention' end as fate, tbl as "table", n as rows,
       coalesce(bytes, 0) as bytes
  from counts
union all
select 'total ' || case when kept then 'kept' else 'removed' end, '', sum(n), coalesce(sum(bytes), 0)
  from counts group by kept
order by 1, 2;
