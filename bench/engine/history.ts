/**
 * A history of finished tasks for the engine benchmark: films' task trees, all `succeeded`, with
 * their steps, written with generate_series in chunks.
 * Each film is a tree of FILM_TASKS tasks shaped like a produced film's (produce task, chains,
 * render jobs under a capped key, voices, mix, music, assembly), owned by one of HISTORY_USERS
 * users, finished 20 to 80 days ago: every row is past the default 14-day retention, so
 * engine.retain() has work. Removing the history users removes the rest by cascade.
 */
import type { Sql } from "postgres";

export const HISTORY_USERS = 500;
/** Tasks per film: the 12-scene test film leaves 36 (README "History does not pile up"). */
export const FILM_TASKS = 36;
/** Steps per task; that film leaves 233 steps for its 36 tasks. */
export const STEPS_PER_TASK = 6;
const CHUNK = 100_000;

// Deterministic ids, so a chunk can name parents inserted by an earlier chunk, and so the history
// is recognisable: users 00000000-0000-4000-a000-…, tasks 00000000-0000-4000-b000-….
const USER_ID = (n: string) => `('00000000-0000-4000-a000-' || lpad(to_hex(${n}), 12, '0'))::uuid`;
const TASK_ID = (n: string) => `('00000000-0000-4000-b000-' || lpad(to_hex(${n}), 12, '0'))::uuid`;

export interface HistoryBuild {
  tasks: number;
  steps: number;
  seconds: number;
}

async function ensureUsers(sql: Sql): Promise<void> {
  await sql.unsafe(`
    insert into auth.users (id, email)
    select ${USER_ID("u")}, 'bench-history-' || u || '@reelforge.local'
      from generate_series(0, ${HISTORY_USERS - 1}) u
    on conflict (id) do nothing`);
}

/**
 * Tasks [from, to) of the history; position 0 of each film is its parent. Each row is written as
 * the engine writes a task in its life, so the table's pages end up as a real history leaves
 * them: inserted queued (enqueue_task's columns), claimed (start_lease's), ended (complete_task's),
 * in one transaction so that no sweeper or worker sees the tasks before they have ended; the
 * vacuum after the build removes the two earlier versions of each. Inserted already finished
 * instead, every page held finished rows up to the table's fillfactor plus a leftover too small
 * for another: the free space map then handed those pages out one new task each, and the
 * benchmark's runs spread over thousands of pages (bench/README.md, "With a history").
 */
async function insertTasks(sql: Sql, from: number, to: number, span: number): Promise<void> {
  const ids = `${TASK_ID(String(from))} and ${TASK_ID(String(to - 1))}`;
  await sql.begin(async (tx) => {
    // Kinds by position in the film: 0 produce, 1-12 chains, 13-24 render jobs (pulled, capped
    // key), 25-30 voices, 31 location image, 32 music, 33 mix, 34 assembly, 35 local media.
    await tx.unsafe(`
      insert into public.background_tasks
        (id, user_id, kind, function_name, status, payload, run_after, idempotency_key, parent_id,
         concurrency_key, created_at, updated_at)
      select ${TASK_ID("i")}, ${USER_ID(`(i / ${FILM_TASKS}) % ${HISTORY_USERS}`)}, k.kind, k.fn,
             'queued', jsonb_build_object('movieId', ${TASK_ID(`i / ${FILM_TASKS}`)}, 'index', p),
             c.created, case when p > 0 then (i - p) || ':' || p end,
             case when p > 0 then ${TASK_ID("i - p")} end, k.ckey, c.created, c.created
        from generate_series(${from}, ${to - 1}) i
        cross join lateral (select i % ${FILM_TASKS} as p) pos
        cross join lateral (
          select case when p = 0 then 'film.produce' when p <= 12 then 'film.chain'
                      when p <= 24 then 'render' when p <= 30 then 'film.voices'
                      when p = 31 then 'film.location_image' when p = 32 then 'film.music'
                      when p = 33 then 'film.mix' when p = 34 then 'film.assemble' else 'local_media' end as kind,
                 case when p = 0 or p = 32 then 'produce-movie' when p <= 12 or p = 31 then 'generate-scene-video'
                      when p <= 24 or p = 35 then null when p = 34 then 'assemble' else 'generate-audio' end as fn,
                 case when p between 13 and 24 then 'render' end as ckey) k
        -- Oldest first, spread over 20-80 days ago; a film's tasks within minutes of each other.
        cross join lateral (
          select now() - interval '80 days' + (i::double precision / ${span}) * interval '60 days' as created) c`);
    await tx.unsafe(`
      update public.background_tasks
         set status = 'running', lease_owner = 'history', lease_expires_at = created_at + interval '30 seconds',
             fencing_token = 1, started_at = created_at, dispatched_at = created_at
       where id between ${ids}`);
    await tx.unsafe(`
      update public.background_tasks
         set status = 'succeeded', result = jsonb_build_object('ok', true), progress = 100,
             metadata = jsonb_build_object('progress', 'done'), attempts = 1, fencing_token = 2,
             lease_owner = null, lease_expires_at = null, finished_at = created_at + interval '2 minutes'
       where id between ${ids}`);
  });
  await sql.unsafe(`
    insert into public.background_task_steps (task_id, name, status, result, created_at, completed_at)
    select ${TASK_ID("i")}, 'step-' || s, 'completed', jsonb_build_object('ok', true, 'step', s),
           t.created_at, t.finished_at
      from generate_series(${from}, ${to - 1}) i
      cross join generate_series(1, ${STEPS_PER_TASK}) s
      join public.background_tasks t on t.id = ${TASK_ID("i")}`);
}

/**
 * The number after the highest history task present: where growing the history resumes. Not a
 * count: the scheduled retention job (engine.retain(), once a minute) removes films of this
 * history while the benchmark runs, and numbering from a count would reuse ids still present.
 */
export async function nextHistoryTask(sql: Sql): Promise<number> {
  const [last] = await sql.unsafe(`
    select id::text from public.background_tasks
     where id between ${TASK_ID("0")} and ${TASK_ID("281474976710655")}
     order by id desc
     limit 1`);
  return last ? parseInt(last.id.slice(-12), 16) + 1 : 0;
}

/**
 * Grows the history to `total` tasks (adding films after the ones already there), then vacuums
 * and analyzes both tables, as autovacuum would have long since done for rows this old.
 */
export async function buildHistory(
  sql: Sql,
  total: number,
  onProgress: (done: number) => void = () => {},
): Promise<HistoryBuild> {
  const started = performance.now();
  await ensureUsers(sql);
  // Whole films only, after the highest one present: a chunk boundary inside a film would leave
  // children before their parent.
  const have = Math.ceil(await nextHistoryTask(sql) / FILM_TASKS) * FILM_TASKS;
  const target = Math.ceil(total / FILM_TASKS) * FILM_TASKS;
  const chunk = Math.ceil(CHUNK / FILM_TASKS) * FILM_TASKS;
  for (let from = have; from < target; from += chunk) {
    const to = Math.min(from + chunk, target);
    await insertTasks(sql, from, to, target);
    onProgress(to);
  }
  await sql`vacuum analyze public.background_tasks`;
  await sql`vacuum analyze public.background_task_steps`;
  return {
    tasks: target - have,
    steps: (target - have) * STEPS_PER_TASK,
    seconds: (performance.now() - started) / 1000,
  };
}

/** Removes the history (and whatever retention recorded of it) through its users' cascade. */
export async function dropHistory(sql: Sql): Promise<void> {
  await sql.unsafe(`
    delete from auth.users where id = any (array(select ${USER_ID("u")} from generate_series(0, ${
    HISTORY_USERS - 1
  }) u))`);
}
