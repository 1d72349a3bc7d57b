import "../../shared/runtime/worker-clock.ts"; // first: starts the worker clock (see there)
import { regenerateAssetActions } from "../../shared/assets/asset-actions.ts";
import {
  APPLY_KIND,
  applyHandler,
  CLEANUP_KIND,
  cleanupHandler,
  REGENERATE_KIND,
  regenerateHandler,
} from "../../shared/assets/asset-tasks.ts";
import { routedHandlers } from "../../shared/engine/routed-handlers.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "regenerate-asset",
  actions: regenerateAssetActions,
  handlers: (deps) =>
    routedHandlers("regenerate-asset", {
      [REGENERATE_KIND]: regenerateHandler(deps),
      [APPLY_KIND]: applyHandler(deps),
      [CLEANUP_KIND]: cleanupHandler(deps),
    }),
});
