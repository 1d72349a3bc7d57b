/**
 * film.assemble (run by assemble; asset.apply's reassembly after an accepted clip, line or music):
 * the film rendered again from its completed scenes (the assembly filter, timeline, one render) →
 * movies.video_url, then the cover (an existing one kept) and finalize, so the film's status,
 * failed_scenes, warnings and progress say what is true of its scenes now: a failed film whose
 * scenes were repaired completes. Reassemblies finishing out of order leave the newest reading of
 * the scenes in place (postproduction.ts applyAssembly). A cancelled film stays cancelled (scenes it never made are not
 * failures, and its resume finishes it), and one in production is left to its own finalize. NoVideosToAssembleError when no clip is left.
 * A film's assemblies take turns (assembly-turns.ts): one waits for an older one still open before
 * it reads the scenes.
 */
import type { TaskHandler } from "../engine/slice-runner.ts";
import { PermanentTaskError } from "../errors.ts";
import { type FilmDeps, filmEnv } from "./film-env.ts";
import { loadMovie } from "./film-movie.ts";
import { assembleMovie, finalizeMovie, generateCover } from "./postproduction.ts";
import { assemblyAhead } from "./assembly-turns.ts";
import { SliceWait } from "../engine/task-context.ts";

const FINISHED = ["completed", "failed"];

export function assembleHandler(deps: FilmDeps): TaskHandler {
  return async (ctx) => {
    // One assembly of a film at a time: this one reads the scenes once the one before it ended.
    const ahead = await assemblyAhead(deps.sql, ctx.task.id);
    if (ahead) throw new SliceWait([ahead]);
    const movie = await loadMovie(deps.sql, String(ctx.payload.movieId));
    const env = await filmEnv(deps, movie.user_id);
    const film = await assembleMovie(ctx, env, movie);
    // A later reading of the scenes is already in place: its own assembly gives the verdict.
    if (film.superseded) return { type: "done", result: { videoUrl: film.url, superseded: true } };
    // Only a finished film gets a new verdict: one in production gets its own from its task.
    const now = await loadMovie(deps.sql, movie.id);
    const verdict = FINISHED.includes(now.status)
      ? await finalizeMovie(ctx, now, film, await generateCover(ctx, env, now, film.url !== null))
      : null;
    if (!film.url) throw new PermanentTaskError("assembly_failed", film.error ?? "assembly failed");
    return { type: "done", result: { videoUrl: film.url, status: verdict?.status ?? movie.status } };
  };
}
