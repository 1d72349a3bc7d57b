import "../../shared/runtime/worker-clock.ts"; // first: starts the worker clock (see there)
import { sceneVideoActions } from "../../shared/film/scene-actions.ts";
import { CHAIN_KIND, chainHandler } from "../../shared/film/scene-tasks.ts";
import { LOCATION_IMAGE_KIND, locationImageHandler } from "../../shared/film/location-image-task.ts";
import { routedHandlers } from "../../shared/engine/routed-handlers.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "generate-scene-video",
  actions: sceneVideoActions,
  handlers: (deps) =>
    routedHandlers("generate-scene-video", {
      [CHAIN_KIND]: chainHandler(deps),
      [LOCATION_IMAGE_KIND]: locationImageHandler(deps),
    }),
});
