/**
 * The cascade after an accepted clip (asset-continuity.ts): once the clip's real last frame is
 * extracted, each scene continuing directly from it gets a regenerate run with no draft — a new,
 * paid take from the new frame (asset-preview-jobs.ts reads the predecessor's end frame) — which
 * is accepted by itself once its preview is made, with cascade again, so the chain follows scene
 * by scene. A scene the owner's quota no longer admits stays stale. A cascade whose accept is no
 * longer its slot's current version (the clip was accepted again since) starts nothing: the newer
 * accept cascades from its own frame, if it asked to.
 */
import type { TransactionSql } from "../db/client.ts";
import type { TaskContext } from "../engine/task-context.ts";
import { QuotaExceededError } from "../errors.ts";
import type { FunctionDeps } from "../function-deps.ts";
import { admitUsage } from "../usage/usage-admission.ts";
import { startRun } from "./asset-run-start.ts";
import { lockSlot, resolveSlot } from "./asset-target.ts";
import type { CascadeTarget } from "./accept/asset-acceptor.ts";

/**
 * Starts the cascade runs (recorded steps); returns the targets whose runs started. A scene cut
 * into shots is regenerated from its first shot (whose accept cascades along its shots).
 */
export async function startCascade(
  ctx: TaskContext,
  deps: Pick<FunctionDeps, "store">,
  movie: { id: string; user_id: string },
  targets: readonly CascadeTarget[],
  fromRunId: string,
): Promise<CascadeTarget[]> {
  const started: CascadeTarget[] = [];
  for (const next of targets) {
    const name = next.shotNumber === undefined
      ? `cascade:${next.sceneNumber}`
      : `cascade:${next.sceneNumber}:${next.shotNumber}`;
    try {
      const runId = await ctx.step(name, async (tx) => {
        if (!(await stillCurrent(tx, fromRunId))) return null;
        const [scene] = await tx`
          select s.id, s.stale, (select count(*)::int from public.scene_shots h where h.scene_id = s.id) as shots
            from public.movie_scenes s where s.movie_id = ${movie.id} and s.scene_number = ${next.sceneNumber}`;
        if (!scene) return null;
        const shotNumber = next.shotNumber ?? (scene.shots > 1 ? 1 : undefined);
        const [shot] = shotNumber === undefined ? [] : await tx`
          select stale from public.scene_shots where scene_id = ${scene.id} and shot_number = ${shotNumber}`;
        // Gone, or given a new clip meanwhile.
        if (shotNumber === undefined ? !scene.stale : !shot?.stale) return null;
        await admitUsage(tx, movie.user_id, "regeneration", "regenerate:video");
        const target = {
          movieId: movie.id,
          sceneNumber: next.sceneNumber,
          ...(shotNumber ? { shotNumber } : {}),
        };
        const { slot } = await resolveSlot(tx, "video", target);
        const run = await startRun(tx, deps.store, {
          userId: movie.user_id,
          slot,
          kind: "video",
          target,
          draft: {},
          cascadeOf: fromRunId,
        });
        return run.runId;
      });
      if (runId) started.push(next);
    } catch (error) {
      if (!(error instanceof QuotaExceededError)) throw error;
    }
  }
  return started;
}

/**
 * Whether the accepted run's take is still its slot's current version, under the slot's lock (the
 * lock asset_admin.accept_run takes): an accept of the same slot commits before this answer or
 * after the cascade's run has started. Before, an older accept's cascade started after a newer
 * accept had cleared the frame it needed, and its run failed for want of it (or, once the newer
 * frame was there, was paid for beside the newer accept's own cascade).
 */
async function stillCurrent(tx: TransactionSql, runId: string): Promise<boolean> {
  const [run] = await tx`select slot from public.asset_runs where id = ${runId}`;
  if (!run) return false;
  await lockSlot(tx, run.slot);
  const [take] = await tx`
    select 1 from public.asset_runs r join public.assets a on a.id = r.preview_asset_id
     where r.id = ${runId} and a.state = 'current'`;
  return take !== undefined;
}
