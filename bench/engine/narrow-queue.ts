/**
 * A prototype of the data model issue 17 §3 points at for one claimer: queue and lease state in a
 * narrow row of its own (bench_narrow.queue), apart from the 30-column task record every reader
 * uses. It keeps what the engine's claim keeps: the caller reaches the table only through a
 * `SECURITY DEFINER` function with its own `search_path`, the oldest due row is leased with a
 * fencing token in one statement (`for update skip locked`), and fair claiming's two probes of
 * the per-user due index run as in engine.claim_next_task. Its end does what such a model would
 * have to: remove the narrow row (fenced) and write the end into the task record. A second table,
 * `queue_bare`, is the same without the two indexes a claim adds entries to beyond the primary
 * key (live leases, for the sweeper; task ids, for the record's readers): graphile-worker's job
 * table gets one entry per claim, its primary key's. Built and dropped by bench/engine-calls.ts;
 * nothing in the product uses it. What it leaves out of what the engine does: its claim does not
 * touch the task record (which would have to take its running status from the narrow row), and
 * its end runs nothing of engine.after_terminal (parents, waiters, keys).
 */
import postgres, { type Sql } from "postgres";
import { gather } from "../../shared/worker/slot-batches.ts";
import type { DrainResult } from "./engine-throughput.ts";

export const NARROW_SCHEMA = "bench_narrow";
export type NarrowTable = "queue" | "queue_bare";

export async function createNarrowQueue(sql: Sql): Promise<void> {
  await dropNarrowQueue(sql);
  await sql.unsafe(`create schema ${NARROW_SCHEMA}`);
  await sql.unsafe(narrowTable("queue", true));
  await sql.unsafe(narrowTable("queue_bare", false));
}

function narrowTable(name: string, leaseIndexes: boolean): string {
  const table = `${NARROW_SCHEMA}.${name}`;
  return `
    create table ${table} (
      id bigserial primary key,
      task_id uuid not null references public.background_tasks (id) on delete cascade,
      kind text not null,
      user_id uuid,
      concurrency_key text,
      payload jsonb not null default '{}',
      status text not null default 'queued',
      attempts integer not null default 0,
      max_attempts integer not null default 5,
      run_after timestamptz not null default now(),
      created_at timestamptz not null default now(),
      lease_owner text,
      lease_expires_at timestamptz,
      fencing_token bigint not null default 0
    ) with (fillfactor = 70);
    create index on ${table} (kind, run_after, created_at) where status = 'queued';
    create index on ${table} (kind, user_id, coalesce(concurrency_key, ''), run_after, created_at)
      where status = 'queued';
    ${
    leaseIndexes
      ? `create index on ${table} (lease_expires_at)
           where status = 'running' and lease_expires_at is not null;
         create index on ${table} (task_id);`
      : ""
  }

    create function ${table}_claim(p_kinds text[], p_worker_id text, p_lease_seconds integer)
    returns setof ${table}
    language plpgsql security definer set search_path = '' as $$
    declare
      claimed ${table};
    begin
      update ${table} b
         set status = 'running', lease_owner = p_worker_id, attempts = b.attempts + 1,
             lease_expires_at = now() + make_interval(secs => p_lease_seconds),
             fencing_token = b.fencing_token + 1
       where b.id = (select d.id from ${table} d
                      where d.status = 'queued' and d.kind = p_kinds[1] and d.run_after <= now()
                      order by d.run_after, d.created_at
                      limit 1
                      for update skip locked)
         and b.concurrency_key is null
         and (b.user_id is null or (
               (select o.user_id from ${table} o
                 where o.status = 'queued' and o.kind = p_kinds[1]
                   and (o.kind, o.user_id) < (p_kinds[1], b.user_id)
                 order by o.kind, o.user_id limit 1) is null
               and (select o.user_id from ${table} o
                     where o.status = 'queued' and o.kind = p_kinds[1]
                       and (o.kind, o.user_id) > (p_kinds[1], b.user_id)
                     order by o.kind, o.user_id limit 1) is null))
      returning * into claimed;
      if found then
        return next claimed;
      end if;
    end $$;

    create function ${table}_complete(p_id bigint, p_token bigint, p_result jsonb)
    returns boolean
    language plpgsql security definer set search_path = '' as $$
    declare
      ended_task uuid;
    begin
      delete from ${table} where id = p_id and fencing_token = p_token and status = 'running'
      returning task_id into ended_task;
      if not found then
        return false;
      end if;
      update public.background_tasks
         set status = 'succeeded', result = p_result, progress = 100, finished_at = now()
       where id = ended_task;
      return true;
    end $$;
  `;
}

/** Queues one row in `table` for each of the kind's queued task records, carrying its payload. */
export async function queueNarrowRows(sql: Sql, table: NarrowTable, kind: string): Promise<void> {
  await sql.unsafe(`delete from ${NARROW_SCHEMA}.${table}`);
  await sql.unsafe(
    `insert into ${NARROW_SCHEMA}.${table} (task_id, kind, user_id, payload, created_at)
     select id, kind, user_id, payload, created_at from public.background_tasks
      where kind = $1 and status = 'queued' order by created_at`,
    [kind],
  );
  await sql.unsafe(`vacuum analyze ${NARROW_SCHEMA}.${table}`);
}

export async function dropNarrowQueue(sql: Sql): Promise<void> {
  await sql.unsafe(`drop schema if exists ${NARROW_SCHEMA} cascade`);
}

/**
 * One claimer draining `table` as a worker slot drains the engine's queue
 * (bench/engine/engine-throughput.ts): claim, hand the end to the other connection without
 * waiting for it, claim the next; through the worker's own gatherers, so what is asked while a
 * call is in flight goes in the next.
 */
export async function drainNarrow(dbUrl: string, table: NarrowTable, kind: string): Promise<DrainResult> {
  const sql = postgres(dbUrl, { max: 2, onnotice: () => {} });
  // deno-lint-ignore no-explicit-any
  type Row = any;
  const claim = gather<void, Row | null>(async (asks) => {
    const rows = await sql.unsafe(`select * from ${NARROW_SCHEMA}.${table}_claim($1, $2, $3)`, [
      [kind],
      "bench-narrow",
      30,
    ], { prepare: true });
    return asks.map((_, i) => rows[i] ?? null);
  });
  const end = gather<Row, boolean>(async (claimed) => {
    const ended: boolean[] = [];
    for (const row of claimed) {
      const [answer] = await sql.unsafe(`select ${NARROW_SCHEMA}.${table}_complete($1, $2, null) as ended`, [
        row.id,
        row.fencing_token,
      ], { prepare: true });
      ended.push(answer.ended);
    }
    return ended;
  });
  try {
    await Promise.all([sql`select 1`, sql`select 1`]);
    const started = performance.now();
    let tasks = 0;
    const ending: Promise<void>[] = [];
    for (let row = await claim(); row !== null; row = await claim()) {
      ending.push(
        end(row).then((ended) => {
          if (!ended) throw new Error(`narrow row ${row.id} was fenced out of its own claim`);
        }),
      );
      tasks++;
    }
    await Promise.all(ending);
    const ms = performance.now() - started;
    return { tasks, ms, tasksPerSecond: (tasks / ms) * 1000, databaseCpuMs: null };
  } finally {
    await sql.end();
  }
}
