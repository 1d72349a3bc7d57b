import "../../shared/runtime/worker-clock.ts"; // first: starts the worker clock (see there)
import { CANCEL_JOBS_KIND, cancelJobsHandler } from "../../shared/film/cancel-jobs.ts";
import { produceMovieActions } from "../../shared/film/film-actions.ts";
import { MUSIC_KIND, musicHandler, PRODUCE_KIND, produceHandler } from "../../shared/film/produce-task.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "produce-movie",
  actions: produceMovieActions,
  handlers: (deps) => ({ [PRODUCE_KIND]: produceHandler(deps), [MUSIC_KIND]: musicHandler(deps), [CANCEL_JOBS_KIND]: cancelJobsHandler(deps) }),
});
