/**
 * What a clone job did to its target, recorded on the target itself in the same transaction as
 * the work: each DDL statement (`applied`) and each copied chunk of rows (`chunks`). Work recorded
 * here is never done again, whatever the checkpoint on the source says, and `restart` can drop
 * exactly what the job made.
 */
import type { Sql } from "../db/client.ts";
import type { ClonePlan, DdlStatement } from "./schema-plan.ts";

const LEDGER_SCHEMA = "_reelforge_clone";

export async function ensureLedger(target: Sql) {
  await target.unsafe(`
    create schema if not exists ${LEDGER_SCHEMA};
    create table if not exists ${LEDGER_SCHEMA}.applied (
      job_id uuid not null,
      key text not null,
      drop_sql text,
      applied_at timestamptz not null default clock_timestamp(),
      primary key (job_id, key)
    );
    -- One row per chunk, keyed by where it starts: a chunk re-run after a kill finds its own
    -- record (whatever size it is re-planned with) instead of copying its rows a second time.
    create table if not exists ${LEDGER_SCHEMA}.chunks (
      job_id uuid not null,
      table_name text not null,
      after_key text not null,
      upper_key text[],
      rows bigint not null,
      done boolean not null,
      primary key (job_id, table_name, after_key)
    )`);
}

/** Runs one DDL statement unless this job already did, recording it in the same transaction. */
export async function applyOnce(target: Sql, jobId: string, statement: DdlStatement): Promise<boolean> {
  return await target.begin(async (tx) => {
    const done =
      await tx`select 1 from _reelforge_clone.applied where job_id = ${jobId} and key = ${statement.key}`;
    if (done.length > 0) return false;
    await tx.unsafe("set local check_function_bodies = off");
    await tx.unsafe(statement.sql);
    await tx`
      insert into _reelforge_clone.applied (job_id, key, drop_sql)
      values (${jobId}, ${statement.key}, ${statement.drop ?? null})`;
    return true;
  }) as boolean;
}

/** Drops what the job created, newest first, and forgets it. */
export async function dropWhatJobCreated(target: Sql, jobId: string): Promise<number> {
  const exists = await target`select to_regclass('_reelforge_clone.applied') is not null as ok`;
  if (!exists[0].ok) return 0;
  const rows = await target`
    select key, drop_sql from _reelforge_clone.applied where job_id = ${jobId} order by applied_at desc`;
  for (const row of rows) {
    if (row.drop_sql) await target.unsafe(row.drop_sql);
  }
  await target`delete from _reelforge_clone.applied where job_id = ${jobId}`;
  await forgetChunks(target, jobId);
  return rows.length;
}

/**
 * Removes the job's records, and the ledger once no job needs it any more. Run again after a kill
 * that came after the ledger was dropped and before the job's end was recorded, it finds nothing
 * and does nothing: it failed on the missing table, every attempt, and a finished clone never ended.
 */
export async function forgetJob(target: Sql, jobId: string) {
  const [ledger] = await target<{ applied: boolean; chunks: boolean }[]>`
    select to_regclass('_reelforge_clone.applied') is not null as applied,
           to_regclass('_reelforge_clone.chunks') is not null as chunks`;
  if (!ledger.applied && !ledger.chunks) return;
  if (ledger.applied) await target`delete from _reelforge_clone.applied where job_id = ${jobId}`;
  await forgetChunks(target, jobId);
  const [{ left }] = await target`
    select ${ledger.applied ? target`(select count(*) from _reelforge_clone.applied)` : target`0`}
         + ${ledger.chunks ? target`(select count(*) from _reelforge_clone.chunks)` : target`0`} as left`;
  if (Number(left) === 0) await target.unsafe(`drop schema ${LEDGER_SCHEMA} cascade`);
}

async function forgetChunks(target: Sql, jobId: string) {
  // A ledger made before chunks were recorded has no such table.
  const [{ present }] = await target`select to_regclass('_reelforge_clone.chunks') is not null as present`;
  if (present) await target`delete from _reelforge_clone.chunks where job_id = ${jobId}`;
}

/**
 * After a job succeeded its ledger is gone, but everything its plan created was made by it (the
 * preflight proved the target had none of it): drop it all, newest first.
 */
export async function dropWhatPlanCreated(target: Sql, plan: ClonePlan): Promise<number> {
  const statements = [...plan.types, ...plan.schema, ...plan.postData].filter((s) => s.drop).reverse();
  for (const statement of statements) await target.unsafe(statement.drop!);
  return statements.length;
}
