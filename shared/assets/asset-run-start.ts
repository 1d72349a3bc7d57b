/**
 * A regenerate run and its asset.regenerate task, in the caller's transaction: the start action's
 * (a user's draft) and a cascade's (asset-cascade.ts: an empty draft, cascade_of the accepted run
 * it continues from, accepted by itself once its preview is made).
 */
import type { Json, TransactionSql } from "../db/client.ts";
import type { TaskStore } from "../engine/task-store.ts";
import { REGENERATE_KIND } from "./asset-kinds.ts";
import { type AssetDraft, type AssetTarget, lockSlot } from "./asset-target.ts";

export interface NewRun {
  userId: string;
  slot: string;
  kind: string;
  target: AssetTarget;
  draft: AssetDraft;
  cascadeOf?: string | null;
}

/** Inserts the run at the slot's current version (under the slot's lock); returns its id. */
export async function insertRun(tx: TransactionSql, run: NewRun): Promise<string> {
  await lockSlot(tx, run.slot);
  const [current] =
    await tx`select version from public.assets where slot = ${run.slot} and state = 'current'`;
  const [row] = await tx`
    insert into public.asset_runs (user_id, movie_id, slot, kind, target, draft, base_version, cascade_of)
    values (${run.userId}, ${run.target.movieId}, ${run.slot}, ${run.kind}, ${tx.json(run.target as Json)}, ${
    tx.json(run.draft as Json)
  }, ${current?.version ?? null}, ${run.cascadeOf ?? null})
    returning id`;
  return row.id as string;
}

/** A run whose preview an asset.regenerate task makes. */
export async function startRun(
  tx: TransactionSql,
  store: TaskStore,
  run: NewRun,
): Promise<{ runId: string; taskId: string }> {
  const runId = await insertRun(tx, run);
  const task = await store.enqueue({
    userId: run.userId,
    kind: REGENERATE_KIND,
    payload: { runId },
    idempotencyKey: `run:${runId}`,
    maxAttempts: 5,
  }, tx);
  await tx`update public.asset_runs set task_id = ${task.id} where id = ${runId}`;
  return { runId, taskId: task.id };
}
