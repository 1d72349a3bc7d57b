import "../../shared/runtime/worker-clock.ts"; // first: starts the worker clock (see there)
import { assembleHandler } from "../../shared/film/assemble-task.ts";
import {
  FORGET_ACCOUNT_KIND,
  forgetAccountHandler,
  STORAGE_CLEANUP_KIND,
  storageCleanupHandler,
} from "../../shared/film/orphan-cleanup.ts";
import { ASSEMBLE_KIND } from "../../shared/film/film-kinds.ts";
import { assembleActions } from "../../shared/film/scene-actions.ts";
import { routedHandlers } from "../../shared/engine/routed-handlers.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "assemble",
  actions: assembleActions,
  handlers: (deps) =>
    routedHandlers("assemble", {
      [ASSEMBLE_KIND]: assembleHandler(deps),
      [STORAGE_CLEANUP_KIND]: storageCleanupHandler(deps),
      [FORGET_ACCOUNT_KIND]: forgetAccountHandler(deps),
    }),
});
