/**
 * The single-scene entry points: generate-scene-video start { movieId, sceneNumber } (one scene
 * regenerated alone: a film.chain of one scene), generate-audio start { movieId, sceneNumber }
 * (its voices again, then its mix), assemble start { movieId } (film.assemble: the film rendered
 * again from its completed scenes). Each answers 202 { taskId }; the film must not be in production,
 * and assemble needs a scene whose video the assembly would use (409 nothing_to_assemble).
 * Each counts as a regeneration against the caller's usage limits (429 quota_exceeded), and is
 * refused with 409 regeneration_in_progress while the same work is still open (each is paid once).
 */
import { z } from "zod";
import { BadRequestError, ConflictError } from "../errors.ts";
import { type ActionSpec, defineAction } from "../http/function-app.ts";
import { uuidField, wholeNumber } from "../http/read-body.ts";
import { byMovieId } from "./film-actions.ts";
import {
  assertNoTakeApplying,
  idleMovie,
  lockMovieOutOfProduction,
  nothingToAssemble,
} from "./film-movie.ts";
import type { FilmDeps } from "./film-env.ts";
import { CHAIN_KIND, VOICES_KIND } from "./scene-tasks.ts";
import { admitUsage } from "../usage/usage-admission.ts";
import { ASSEMBLE_KIND } from "./film-kinds.ts";
import type { TaskKind } from "../engine/task-routes.ts";
import type { JsonObject, TransactionSql } from "../db/client.ts";

const bySceneInput = z.object({
  movieId: uuidField("movieId", "a movie's UUID"),
  sceneNumber: wholeNumber("sceneNumber", 1),
}).strict();

async function sceneExists(deps: FilmDeps, movieId: string, sceneNumber: number) {
  const [scene] = await deps
    .sql`select 1 from public.movie_scenes where movie_id = ${movieId} and scene_number = ${sceneNumber}`;
  if (!scene) {
    throw new BadRequestError("unknown_scene", `sceneNumber: movie ${movieId} has no scene ${sceneNumber}`);
  }
}

/** Refuses an assembly that would find no clip: its task would only fail, after the caller was charged for it. */
async function hasClipsToAssemble(deps: FilmDeps, movieId: string) {
  const nothing = await nothingToAssemble(deps.sql, movieId);
  if (nothing) throw new ConflictError("nothing_to_assemble", nothing);
}

/**
 * Refuses a start while a task of the same kind is open on the same work: its payload contains the
 * new one's (a film.chain covering the scene, the film.voices of the scene, any film.assemble of the
 * film, whoever enqueued it: a production, regenerate-asset or an earlier start). Each such task
 * pays its providers again and overwrites the same rows. Run in the transaction that enqueues,
 * after the film's row is locked, so parallel starts see each other's task.
 */
async function noSameWorkOpen(
  tx: TransactionSql,
  userId: string,
  kind: TaskKind,
  payload: Record<string, unknown>,
) {
  // The same rule a resume of such a task applies (engine.resume_by_owner).
  const [open] = await tx<{ id: string | null }[]>`
    select engine.open_task_of_same_work(${userId}, ${kind}, ${tx.json(payload as JsonObject)}) as id`;
  if (open.id) {
    const scene = typeof payload.sceneNumber === "number"
      ? `, scene ${payload.sceneNumber}`
      : Array.isArray(payload.scenes)
      ? `, scene ${payload.scenes.join(", ")}`
      : "";
    throw new ConflictError(
      "regeneration_in_progress",
      `Movie ${payload.movieId}${scene} already has ${kind} task ${open.id} open: follow it with status, or cancel it before starting again`,
    );
  }
}

function enqueueAction(
  deps: FilmDeps,
  kind: TaskKind,
  payloadOf: (input: { movieId: string; sceneNumber?: number }) => Record<string, unknown>,
  input: z.ZodType,
  /** What the task needs of the film beyond its being idle, checked before anything is charged. */
  filmReady?: (movieId: string) => Promise<void>,
): ActionSpec {
  // Each of them generates or renders: paid capacity.
  return defineAction({
    spends: true,
    input,
    async run(body: { movieId: string; sceneNumber?: number }, caller) {
      await idleMovie(deps, body.movieId, caller.userId);
      if (body.sceneNumber !== undefined) await sceneExists(deps, body.movieId, body.sceneNumber);
      await filmReady?.(body.movieId);
      // A regeneration of the caller's film: admitted against their limits with the enqueue.
      const payload = payloadOf(body);
      const task = await deps.sql.begin(async (tx) => {
        await admitUsage(tx, caller.userId, "regeneration", kind);
        // Same-film starts queue here (user lock, then film, as a film's redo takes them), so the
        // second one sees the first one's task; and the film's status is read again under its lock.
        // Checked before the transaction only, a start that waited here for a resume went on and
        // was charged and run beside the resumed production (its assembly rendered a film missing
        // a scene still being made).
        await lockMovieOutOfProduction(tx, body.movieId);
        await noSameWorkOpen(tx, caller.userId, kind, payload);
        await assertNoTakeApplying(tx, caller.userId, body.movieId, "start this");
        return await deps.store.enqueue({ userId: caller.userId, kind, payload, maxAttempts: 5 }, tx);
      });
      return {
        status: 202,
        body: {
          taskId: task.id,
          movieId: body.movieId,
          ...(body.sceneNumber ? { sceneNumber: body.sceneNumber } : {}),
        },
      };
    },
  });
}

export const sceneVideoActions = (deps: FilmDeps) => ({
  start: enqueueAction(
    deps,
    CHAIN_KIND,
    (b) => ({ movieId: b.movieId, scenes: [b.sceneNumber] }),
    bySceneInput,
  ),
});
export const sceneAudioActions = (deps: FilmDeps) => ({
  start: enqueueAction(
    deps,
    VOICES_KIND,
    (b) => ({ movieId: b.movieId, sceneNumber: b.sceneNumber }),
    bySceneInput,
  ),
});
export const assembleActions = (deps: FilmDeps) => ({
  start: enqueueAction(
    deps,
    ASSEMBLE_KIND,
    (b) => ({ movieId: b.movieId }),
    byMovieId,
    (movieId) => hasClipsToAssemble(deps, movieId),
  ),
});
