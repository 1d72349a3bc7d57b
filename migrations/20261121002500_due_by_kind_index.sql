-- Worker processes claim by kind (claim_next_task(p_kinds)); the due index is ordered by run_after
-- alone, so every claim walked past the queued backlog of other kinds first. A per-kind due index
-- keeps a claim's cost independent of what else is waiting.
create index background_tasks_due_by_kind_idx
  on public.background_tasks (kind, run_after, created_at)
  where status = 'queued';
