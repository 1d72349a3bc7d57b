/**
 * film.assemble (run by assemble): the film rendered again from its completed scenes (the assembly
 * filter, timeline, one render) → movies.video_url; NoVideosToAssembleError when no clip is left.
 */
import type { TaskHandler } from "../engine/slice-runner.ts";
import { PermanentTaskError } from "../errors.ts";
import { type FilmDeps, filmEnv } from "./film-env.ts";
import { loadMovie } from "./film-movie.ts";
import { assembleMovie } from "./postproduction.ts";

export function assembleHandler(deps: FilmDeps): TaskHandler {
  return async (ctx) => {
    const movie = await loadMovie(deps.sql, String(ctx.payload.movieId));
    const env = await filmEnv(deps, movie.user_id);
    const film = await assembleMovie(ctx, env, movie);
    if (!film.url) throw new PermanentTaskError("assembly_failed", film.error ?? "assembly failed");
    return { type: "done", result: { videoUrl: film.url } };
  };
}
