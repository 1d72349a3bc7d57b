/**
 * A scene's mix needs its clip and its voices. Whichever half ends last enqueues the mix: each
 * half records itself and reads the other in one transaction holding the movie_scenes row lock,
 * and the mix task's idempotency key (root task + scene) makes the enqueue happen once.
 */
import type { TransactionSql } from "../db/client.ts";
import type { TaskContext } from "../engine/task-context.ts";
import type { TaskStore } from "../engine/task-store.ts";
import { MIX_KIND } from "./film-kinds.ts";

const CLIP_DONE = ["completed", "failed"];
const VOICES_DONE = ["completed", "failed", "skipped"];

/** Call after this half's own update in the same transaction (the update holds the row lock). */
export async function afterHalfDone(
  tx: TransactionSql,
  store: TaskStore,
  ctx: TaskContext,
  movieId: string,
  sceneNumber: number,
) {
  const [scene] = await tx`
    select status, audio_status, mix_status from public.movie_scenes
     where movie_id = ${movieId} and scene_number = ${sceneNumber} for update`;
  if (!scene || !CLIP_DONE.includes(scene.status) || !VOICES_DONE.includes(scene.audio_status)) {
    return "waiting";
  }
  if (scene.status !== "completed" || scene.audio_status !== "completed") {
    await tx`update public.movie_scenes set mix_status = 'skipped' where movie_id = ${movieId} and scene_number = ${sceneNumber}`;
    return "skipped";
  }
  const root = ctx.task.parentId ?? ctx.task.id;
  await store.enqueue({
    userId: ctx.task.userId,
    kind: MIX_KIND,
    payload: { movieId, sceneNumber },
    idempotencyKey: `${root}:mix:${sceneNumber}`,
    parentId: ctx.task.parentId,
    maxAttempts: 5,
  }, tx);
  await tx`update public.movie_scenes set mix_status = 'pending' where movie_id = ${movieId} and scene_number = ${sceneNumber}`;
  return "mix_enqueued";
}
