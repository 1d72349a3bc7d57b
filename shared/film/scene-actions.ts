/**
 * The single-scene entry points: generate-scene-video start { movieId, sceneNumber } (one scene
 * regenerated alone: a film.chain of one scene), generate-audio start { movieId, sceneNumber }
 * (its voices again, then its mix), assemble start { movieId } (film.assemble: the film rendered
 * again from its completed scenes). Each answers 202 { taskId }; the film must not be in production.
 * Each counts as a regeneration against the caller's usage limits (429 quota_exceeded).
 */
import { z } from "zod";
import { BadRequestError, ConflictError } from "../errors.ts";
import { type ActionSpec, defineAction } from "../http/function-app.ts";
import { byMovieId } from "./film-actions.ts";
import { ownMovie } from "./film-movie.ts";
import type { FilmDeps } from "./film-env.ts";
import { CHAIN_KIND, VOICES_KIND } from "./scene-tasks.ts";
import { admitUsage } from "../usage/usage-admission.ts";
import { ASSEMBLE_KIND } from "./film-kinds.ts";
import type { TaskKind } from "../engine/task-routes.ts";

const bySceneInput = z.object({
  movieId: z.string().uuid({ error: "movieId must be a movie's UUID" }),
  sceneNumber: z.number({ error: "sceneNumber is required (a whole number)" }).int(
    "sceneNumber must be a whole number",
  ).min(1, "sceneNumber must be 1 or more"),
}).strict();

async function idleMovie(deps: FilmDeps, movieId: string, userId: string) {
  const movie = await ownMovie(deps, movieId, userId);
  if (movie.status === "pending" || movie.status === "processing") {
    throw new ConflictError(
      "movie_in_production",
      `Movie ${movieId} is still in production; wait for it to end or cancel it`,
    );
  }
  return movie;
}

async function sceneExists(deps: FilmDeps, movieId: string, sceneNumber: number) {
  const [scene] = await deps
    .sql`select 1 from public.movie_scenes where movie_id = ${movieId} and scene_number = ${sceneNumber}`;
  if (!scene) {
    throw new BadRequestError("unknown_scene", `sceneNumber: movie ${movieId} has no scene ${sceneNumber}`);
  }
}

function enqueueAction(
  deps: FilmDeps,
  kind: TaskKind,
  payloadOf: (input: { movieId: string; sceneNumber?: number }) => Record<string, unknown>,
  input: z.ZodType,
): ActionSpec {
  // Each of them generates or renders: paid capacity.
  return defineAction({
    spends: true,
    input,
    async run(body: { movieId: string; sceneNumber?: number }, caller) {
      await idleMovie(deps, body.movieId, caller.userId);
      if (body.sceneNumber !== undefined) await sceneExists(deps, body.movieId, body.sceneNumber);
      // A regeneration of the caller's film: admitted against their limits with the enqueue.
      const task = await deps.sql.begin(async (tx) => {
        await admitUsage(tx, caller.userId, "regeneration", kind);
        return await deps.store.enqueue({
          userId: caller.userId,
          kind,
          payload: payloadOf(body),
          maxAttempts: 5,
        }, tx);
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
  start: enqueueAction(deps, ASSEMBLE_KIND, (b) => ({ movieId: b.movieId }), byMovieId),
});
