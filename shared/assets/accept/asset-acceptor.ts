/**
 * What accepting a preview does for one kind of asset, behind one interface: the accept action
 * (asset-actions.ts) makes the preview current (asset_admin.accept_run) and then hands the
 * accepted version to its kind's acceptor, inside the same transaction, so the film/scene/line/
 * library columns and any follow-up task commit with it or not at all.
 */
import type { TransactionSql } from "../../db/client.ts";
import type { TaskStore } from "../../engine/task-store.ts";
import type { AssetRunRow } from "../asset-preview-file.ts";
import type { RegenerateKind } from "../asset-target.ts";
import { APPLY_KIND } from "../asset-kinds.ts";

/** Everything an acceptor may use, all inside the accept transaction. */
export interface AcceptContext {
  tx: TransactionSql;
  store: TaskStore;
  /** The caller, who owns the run. */
  userId: string;
  /** The run's id as the caller sent it: the follow-up tasks' idempotency keys are made of it. */
  runId: string;
  run: AssetRunRow;
  /** The row asset_admin.accept_run answered: the version now current. */
  // deno-lint-ignore no-explicit-any
  asset: Record<string, any>;
  /**
   * A clip: regenerate the scenes continuing from its last frame once it is extracted (else they
   * are only marked stale). asset-continuity.ts.
   */
  cascade: boolean;
}

/** The tasks an accept started, if any: the answer names them. */
export interface AcceptResult {
  applyTaskId?: string;
  produceTaskId?: string;
  /** A clip: the scenes now stale (continuing from its old last frame). */
  staleScenes?: number[];
  /** A shot: the later shots of its scene, now stale. */
  staleShots?: { sceneNumber: number; shotNumber: number }[];
}

export interface AssetAcceptor {
  readonly kind: RegenerateKind;
  /** False for script: its accept restarts the film, whatever state the film is in. */
  readonly needsIdleMovie: boolean;
  /** Runs in the transaction before the preview is made current (script counts as a film). */
  admit?(tx: TransactionSql, userId: string): Promise<void>;
  /** Writes the accepted version where the film reads it, and starts what must follow. */
  accept(ctx: AcceptContext): Promise<AcceptResult>;
}

export { slotOwnerId } from "../asset-target.ts";

/** What a cascade regenerates next: a scene (its first shot when it is cut into shots) or one shot. */
export interface CascadeTarget {
  sceneNumber: number;
  shotNumber?: number;
}

/**
 * asset.apply for an accepted clip, line or track: the scene remixed (when there is one) and the
 * film reassembled. Music has no scene: the apply only reassembles (the render mixes the new track).
 */
export async function enqueueApply(
  ctx: AcceptContext,
  newClip: boolean,
  cascade: CascadeTarget[] = [],
): Promise<AcceptResult> {
  const { tx, store, userId, runId, run } = ctx;
  const task = await store.enqueue({
    userId,
    kind: APPLY_KIND,
    idempotencyKey: `apply:${runId}`,
    // cascade: the scenes or shots to regenerate from the new clip's end frame once it is extracted.
    payload: {
      movieId: run.movie_id,
      sceneNumber: run.target.sceneNumber ?? null,
      shotNumber: run.target.shotNumber ?? null,
      runId,
      newClip,
      cascade,
    },
    maxAttempts: 5,
  }, tx);
  await tx`update public.asset_runs set apply_task_id = ${task.id} where id = ${runId}`;
  return { applyTaskId: task.id };
}
