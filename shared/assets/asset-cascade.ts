/**
 * The cascade after an accepted clip (asset-continuity.ts): once the clip's real last frame is
 * extracted, each scene continuing directly from it gets a regenerate run with no draft — a new,
 * paid take from the new frame (asset-preview-jobs.ts reads the predecessor's end frame) — which
 * is accepted by itself once its preview is made, with cascade again, so the chain follows scene
 * by scene. A scene the owner's quota no longer admits stays stale.
 */
import type { TaskContext } from "../engine/task-context.ts";
import { QuotaExceededError } from "../errors.ts";
import type { FunctionDeps } from "../function-deps.ts";
import { admitUsage } from "../usage/usage-admission.ts";
import { startRun } from "./asset-run-start.ts";
import { resolveSlot } from "./asset-target.ts";

/** Starts the cascade runs (recorded steps); returns the scene numbers whose runs started. */
export async function startCascade(
  ctx: TaskContext,
  deps: Pick<FunctionDeps, "store">,
  movie: { id: string; user_id: string },
  sceneNumbers: readonly number[],
  fromRunId: string,
): Promise<number[]> {
  const started: number[] = [];
  for (const sceneNumber of sceneNumbers) {
    try {
      const runId = await ctx.step(`cascade:${sceneNumber}`, async (tx) => {
        const [scene] = await tx`
          select stale from public.movie_scenes where movie_id = ${movie.id} and scene_number = ${sceneNumber}`;
        if (!scene?.stale) return null; // gone, or given a new clip meanwhile
        await admitUsage(tx, movie.user_id, "regeneration", "regenerate:video");
        const target = { movieId: movie.id, sceneNumber };
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
      if (runId) started.push(sceneNumber);
    } catch (error) {
      if (!(error instanceof QuotaExceededError)) throw error;
    }
  }
  return started;
}
