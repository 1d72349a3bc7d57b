import { notBuiltActions } from "../../shared/http/not-built.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "produce-movie",
  actions: () => notBuiltActions("produce-movie", ["start"], "issue 5: the film pipeline"),
});
