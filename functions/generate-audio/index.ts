import "../../shared/runtime/worker-clock.ts"; // first: starts the worker clock (see there)
import { sceneAudioActions } from "../../shared/film/scene-actions.ts";
import { MIX_KIND, mixHandler, VOICES_KIND, voicesHandler } from "../../shared/film/scene-tasks.ts";
import { routedHandlers } from "../../shared/engine/routed-handlers.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "generate-audio",
  actions: sceneAudioActions,
  handlers: (deps) =>
    routedHandlers("generate-audio", { [VOICES_KIND]: voicesHandler(deps), [MIX_KIND]: mixHandler(deps) }),
});
