import "../../shared/runtime/worker-clock.ts"; // first: starts the worker clock (see there)
import { CANCEL_JOBS_KIND, cancelJobsHandler } from "../../shared/film/cancel-jobs.ts";
import { produceMovieActions } from "../../shared/film/film-actions.ts";
import { MUSIC_KIND, musicHandler, PRODUCE_KIND, produceHandler } from "../../shared/film/produce-task.ts";
import { routedHandlers } from "../../shared/engine/routed-handlers.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";
import { DEPLOY_PROBE_KIND, deployProbeHandler } from "../../shared/engine/deploy-probe.ts";

serveEdgeFunction({
  name: "produce-movie",
  actions: produceMovieActions,
  handlers: (deps) =>
    routedHandlers("produce-movie", {
      [PRODUCE_KIND]: produceHandler(deps),
      [MUSIC_KIND]: musicHandler(deps),
      [CANCEL_JOBS_KIND]: cancelJobsHandler(deps),
      // The deploy script's doorbell check (scripts/deploy.sh): claimed, parked, cancelled.
      [DEPLOY_PROBE_KIND]: deployProbeHandler,
    }),
});
