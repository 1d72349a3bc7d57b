import { notBuiltActions } from "../../shared/http/not-built.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "generate-audio",
  actions: () => notBuiltActions("generate-audio", ["start"], "issue 5: the film pipeline"),
});
