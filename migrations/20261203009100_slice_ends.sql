-- Why each slice ended: its wall-clock budget, its CPU budget, the task finished, it waits (on
-- children or another task), the handler chose to hand off, it failed, or it was fenced out.
-- The platform limits a worker's wall clock and its CPU; a slice hands off before either kills
-- it, and which of the two made it stop was nowhere to be seen: benchmarks and operators could
-- not tell work that is CPU-bound (the clone relays every row through the function) from work
-- that merely waits. One row per slice, written by the slice runner after the slice's outcome
-- committed (shared/engine/slice-end.ts); a row lost to a kill in between loses a statistic,
-- never work. Rows go with their task.

create table engine.slice_ends (
  id bigint generated always as identity primary key,
  task_id uuid not null references public.background_tasks (id) on delete cascade,
  worker text not null,
  kind text not null,
  reason text not null,
  -- CPU the worker spent during the slice, in ms (null without a CPU measure), and the slice's
  -- wall time: enough to see how close to its budgets a slice came.
  cpu_ms integer,
  wall_ms integer not null,
  ended_at timestamptz not null default now(),
  constraint slice_ends_reason_check check (reason in
    ('wall_budget', 'cpu_budget', 'finished', 'waiting', 'yielded', 'failed', 'fenced_out'))
);

-- The cascade from a deleted task, and a task's own slices (tests, status pages).
create index slice_ends_task_idx on engine.slice_ends (task_id);
-- Counts over a time window (benchmarks: the slices of one run).
create index slice_ends_ended_at_idx on engine.slice_ends (ended_at);

-- Nothing for API users: only the engine's own function writes it, and the service role reads it.
alter table engine.slice_ends enable row level security;
revoke all on engine.slice_ends from public, anon, authenticated;
grant select on engine.slice_ends to service_role;

comment on table engine.slice_ends is
  'One row per task slice run by an Edge Function: why it ended (wall_budget, cpu_budget, finished, waiting, yielded, failed, fenced_out).';

create function engine.record_slice_end(
  p_task_id uuid, p_worker text, p_kind text, p_reason text, p_cpu_ms integer, p_wall_ms integer
) returns void
language sql security definer set search_path = '' as $$
  insert into engine.slice_ends (task_id, worker, kind, reason, cpu_ms, wall_ms)
  values (p_task_id, p_worker, p_kind, p_reason, p_cpu_ms, p_wall_ms);
$$;

revoke all on function engine.record_slice_end(uuid, text, text, text, integer, integer) from public, anon, authenticated;
grant execute on function engine.record_slice_end(uuid, text, text, text, integer, integer) to service_role;
