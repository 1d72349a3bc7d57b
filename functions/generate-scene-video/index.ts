import { notBuiltActions } from "../../shared/http/not-built.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "generate-scene-video",
  actions: () => notBuiltActions("generate-scene-video", ["start"], "issue 5: the film pipeline"),
});
