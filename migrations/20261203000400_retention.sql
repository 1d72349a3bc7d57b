-- Retention (issue 17 §2): finished tasks and the engine's other growing tables are kept for a
-- period an operator sets, then removed by a scheduled job in small batches (row deletes under
-- `for update skip locked`: no table rewrite, no lock beyond the rows of one batch). What the
-- product keeps long term lives in its own tables and has no cascading key to background_tasks:
-- movies.task_id, asset_runs.task_id and movie_step_metrics.task_id are plain uuids, so a film,
-- its assets and its cost history survive their tasks. docs/engine.md "Retention".

alter table engine.settings
  add column task_retention_days integer not null default 14,
  -- Clone jobs are an operator's audit trail: kept longer.
  add column clone_retention_days integer not null default 90,
  -- pg_net prunes its own responses after pg_net.ttl (6 hours by default); this is the backstop.
  add column net_response_retention_hours integer not null default 6,
  -- Only rows of objects already deleted; a pending row (deleted_at null) is the sweep's memory.
  add column cleanup_log_retention_days integer not null default 30,
  -- How long a removed task still answers 410 task_expired instead of 404.
  add column expired_record_days integer not null default 365,
  add column retention_batch integer not null default 500,
  -- Off: removed tasks are deleted. On: each is first copied, with its steps, into
  -- engine.task_archive (below), kept there archive_retention_months by the month it finished.
  add column archive_expired_tasks boolean not null default false,
  add column archive_retention_months integer not null default 12,
  add constraint settings_retention_non_negative check (
    task_retention_days >= 0 and clone_retention_days >= 0 and net_response_retention_hours >= 0
    and cleanup_log_retention_days >= 0 and expired_record_days >= 0),
  add constraint settings_retention_batch_range check (retention_batch between 1 and 5000),
  add constraint settings_archive_months_positive check (archive_retention_months >= 1);

comment on column engine.settings.task_retention_days is
  'Finished tasks (succeeded, failed, cancelled) and their steps are removed this many days after finished_at; clone jobs use clone_retention_days.';

-- A removed task's id, owner and kind: its status call answers 410 task_expired to its owner
-- (and to operators for clone jobs), and 404 to everyone else, as for an id that never existed.
create table engine.expired_tasks (
  id uuid primary key,
  user_id uuid references auth.users (id) on delete cascade,
  kind text not null,
  -- The function whose status action answers for it (background_tasks.function_name).
  function_name text,
  finished_at timestamptz,
  expired_at timestamptz not null default now()
);

create index expired_tasks_expired_at_idx on engine.expired_tasks (expired_at);

alter table engine.expired_tasks enable row level security;

revoke all on engine.expired_tasks from public, anon, authenticated;

comment on table engine.expired_tasks is
  'Tasks removed by retention (engine.expire_finished): a status call for one answers 410 task_expired to its owner.';

-- The archive an operator may keep of removed tasks (settings.archive_expired_tasks): each task as
-- retention removed it, its row as JSON (so the archive outlives later changes to the task table)
-- and its steps, for audit and reporting by SQL; nothing in the product reads it, and a status
-- call for an archived task still answers 410 task_expired. Monthly partitions by finished_at
-- (UTC), named task_archive_YYYY_MM, each made by the first batch that needs it
-- (engine.task_archive_partition) and dropped whole once past archive_retention_months
-- (engine.drop_old_archive): an old month goes without a row delete or a table rewrite.
create table engine.task_archive (
  id uuid not null,
  user_id uuid,
  kind text not null,
  status text not null,
  finished_at timestamptz not null,
  task jsonb not null,
  steps jsonb not null,
  archived_at timestamptz not null default now(),
  primary key (id, finished_at)
) partition by range (finished_at);

-- An account's deletion removes its archived tasks (engine.forget_expired_tasks).
create index task_archive_user_idx on engine.task_archive (user_id);

alter table engine.task_archive enable row level security;

revoke all on engine.task_archive from public, anon, authenticated;

comment on table engine.task_archive is
  'Tasks retention removed while settings.archive_expired_tasks was on, with their steps; monthly partitions by finished_at, dropped after archive_retention_months.';

-- The archive's partition for the month (UTC) p_at falls in, made when missing; false when it could
-- not be made within 2 s (making one briefly locks the archive, and an operator's long read of it
-- holds that off: the batch waits for the next run rather than holding its tasks). Two retention
-- runs at once (the scheduled one and one by hand) make it once.
create function engine.task_archive_partition(p_at timestamptz) returns boolean
language plpgsql security definer set search_path = '' as $$
declare
  month timestamp := date_trunc('month', p_at at time zone 'UTC');
  part text := 'task_archive_' || to_char(month, 'YYYY_MM');
  timeout text := current_setting('lock_timeout');
begin
  if to_regclass('engine.' || part) is not null then
    return true;
  end if;
  perform pg_advisory_xact_lock(hashtext('engine.task_archive'));
  if to_regclass('engine.' || part) is null then
    perform set_config('lock_timeout', '2s', true);
    execute format('create table engine.%I partition of engine.task_archive for values from (%L) to (%L)',
      part, month at time zone 'UTC', (month + interval '1 month') at time zone 'UTC');
    execute format('alter table engine.%I enable row level security', part);
    perform set_config('lock_timeout', timeout, true);
  end if;
  return true;
exception when lock_not_available then
  perform set_config('lock_timeout', timeout, true);
  return false;
end $$;

-- Drops the archive's months past archive_retention_months (a month goes once its last day is that
-- old), whether or not archiving is still on. Dropping a partition briefly locks the archive
-- itself: an operator's long read of it makes the drop give up after 2 s and wait for the next
-- run, instead of queueing every reader behind it. Returns how many months went.
create function engine.drop_old_archive() returns integer
language plpgsql security definer set search_path = '' as $$
declare
  months integer;
  part text;
  dropped integer := 0;
  timeout text := current_setting('lock_timeout');
begin
  select archive_retention_months into months from engine.settings;
  for part in
    select c.relname from pg_catalog.pg_inherits i join pg_catalog.pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'engine.task_archive'::regclass and c.relname ~ '^task_archive_[0-9]{4}_[0-9]{2}$'
       and (to_date(substr(c.relname, 14), 'YYYY_MM') + interval '1 month') at time zone 'UTC'
           < now() - make_interval(months => months)
     order by c.relname
  loop
    begin
      perform set_config('lock_timeout', '2s', true);
      execute format('drop table engine.%I', part);
      dropped := dropped + 1;
    exception when lock_not_available then
      null;
    end;
  end loop;
  perform set_config('lock_timeout', timeout, true);
  return dropped;
end $$;

-- Retention's scan: finished tasks in finished_at order, never touching queued or running rows.
create index background_tasks_finished_idx on public.background_tasks (finished_at)
  where status in ('succeeded', 'failed', 'cancelled');

-- Removes up to p_batch finished tasks past their retention (their steps, slice ends and wait rows
-- go with them by cascade) and records each in engine.expired_tasks. A task goes only when nothing
-- still needs it: its parent is past retention too (a parent the owner may still resume finds its
-- children where it left them), it has no child left (children go first, in an earlier batch, so
-- the parent's cascade never removes an unrecorded row), and no live task waits on it. With
-- archiving on, each goes into engine.task_archive with its steps first, in the same transaction.
create function engine.expire_finished(p_batch integer default 500) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  s engine.settings;
  ids uuid[];
  removed integer;
begin
  select * into s from engine.settings;
  select array_agg(c.id) into ids from (
    select t.id from public.background_tasks t
     where t.status in ('succeeded', 'failed', 'cancelled')
       and t.finished_at < now() - make_interval(days => least(s.task_retention_days, s.clone_retention_days))
       and t.finished_at < now() - make_interval(days =>
             case when t.kind = 'clone.database' then s.clone_retention_days else s.task_retention_days end)
       and (t.parent_id is null or exists (
             select 1 from public.background_tasks p
              where p.id = t.parent_id and p.status in ('succeeded', 'failed', 'cancelled')
                and p.finished_at < now() - make_interval(days =>
                      case when p.kind = 'clone.database' then s.clone_retention_days else s.task_retention_days end)))
       and not exists (select 1 from public.background_tasks ch where ch.parent_id = t.id)
       and not exists (
             select 1 from engine.task_waits w join public.background_tasks wt on wt.id = w.waiter_id
              where w.target_id = t.id and wt.status not in ('succeeded', 'failed', 'cancelled'))
     order by t.finished_at
     limit least(greatest(p_batch, 1), 5000)
     for update of t skip locked) c;
  if ids is null then
    return 0;
  end if;
  if s.archive_expired_tasks then
    if not (select bool_and(engine.task_archive_partition(m.first))
              from (select min(t.finished_at) as first from public.background_tasks t where t.id = any(ids)
                     group by date_trunc('month', t.finished_at at time zone 'UTC')) m) then
      return 0;
    end if;
    insert into engine.task_archive (id, user_id, kind, status, finished_at, task, steps)
    select t.id, t.user_id, t.kind, t.status, t.finished_at, to_jsonb(t),
           coalesce((select jsonb_agg(to_jsonb(st) - 'task_id' order by st.name)
                       from public.background_task_steps st where st.task_id = t.id), '[]'::jsonb)
      from public.background_tasks t where t.id = any(ids)
    on conflict do nothing;
  end if;
  insert into engine.expired_tasks (id, user_id, kind, function_name, finished_at)
  select id, user_id, kind, function_name, finished_at from public.background_tasks where id = any(ids)
  on conflict (id) do nothing;
  delete from public.background_tasks where id = any(ids);
  get diagnostics removed = row_count;
  return removed;
end $$;

-- Up to p_batch pg_net responses older than net_response_retention_hours. Where the table is not
-- ours to delete from (pg_net owns it on hosted projects and prunes it itself), nothing.
create function engine.trim_net_responses(p_batch integer default 500) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  hours integer;
  removed integer;
begin
  if to_regclass('net._http_response') is null then
    return 0;
  end if;
  select net_response_retention_hours into hours from engine.settings;
  execute 'delete from net._http_response where ctid in (
             select ctid from net._http_response where created < now() - make_interval(hours => $1)
              order by created limit $2)'
    using hours, least(greatest(p_batch, 1), 5000);
  get diagnostics removed = row_count;
  return removed;
exception when insufficient_privilege then
  return 0;
end $$;

create index storage_cleanup_log_deleted_at_idx on public.storage_cleanup_log (deleted_at)
  where deleted_at is not null;

-- Up to p_batch cleanup-log rows of objects deleted more than cleanup_log_retention_days ago.
create function engine.trim_cleanup_log(p_batch integer default 500) returns integer
language plpgsql security definer set search_path = '' as $$
declare
  removed integer;
begin
  delete from public.storage_cleanup_log
   where id = any(array(
     select l.id from public.storage_cleanup_log l, engine.settings s
      where l.deleted_at is not null
        and l.deleted_at < now() - make_interval(days => s.cleanup_log_retention_days)
      order by l.deleted_at limit least(greatest(p_batch, 1), 5000)
      for update of l skip locked));
  get diagnostics removed = row_count;
  return removed;
end $$;

-- One retention pass: one batch of each kind, so a pass stays short however much is due (the
-- rest goes in the next passes). Returns what each step removed.
create function engine.retain(p_batch integer default null) returns jsonb
language plpgsql security definer set search_path = '' as $$
declare
  batch integer;
  record_days integer;
  tasks integer;
  responses integer;
  cleanup integer;
  records integer;
  archived_months integer;
begin
  select coalesce(p_batch, retention_batch), expired_record_days into batch, record_days from engine.settings;
  tasks := engine.expire_finished(batch);
  responses := engine.trim_net_responses(batch);
  cleanup := engine.trim_cleanup_log(batch);
  delete from engine.expired_tasks
   where id = any(array(
     select id from engine.expired_tasks where expired_at < now() - make_interval(days => record_days)
      order by expired_at limit least(greatest(batch, 1), 5000)));
  get diagnostics records = row_count;
  archived_months := engine.drop_old_archive();
  return jsonb_build_object('tasks', tasks, 'netResponses', responses, 'cleanupLog', cleanup,
    'expiredRecords', records, 'archiveMonthsDropped', archived_months);
end $$;

revoke all on function engine.expire_finished(integer), engine.trim_net_responses(integer),
  engine.trim_cleanup_log(integer), engine.retain(integer), engine.task_archive_partition(timestamptz),
  engine.drop_old_archive()
  from public, anon, authenticated;

-- Retention runs as its own scheduled job, one pass a minute, beside the sweeper rather than inside
-- its pass: the sweeper's passes stay as short as they were, and an operator moves the schedule
-- (cron.alter_job) without touching the sweeper. A pass is one batch of each kind; with the
-- default batch of 500 that is up to 720,000 tasks a day.
do $$
begin
  if not exists (select 1 from pg_extension where extname = 'pg_cron') then
    raise notice 'pg_cron not installed: schedule select engine.retain() yourself';
    return;
  end if;
  perform cron.schedule('reelforge-retention', '* * * * *', 'select engine.retain()');
end $$;
