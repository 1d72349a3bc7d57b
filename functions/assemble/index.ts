import { notBuiltActions } from "../../shared/http/not-built.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "assemble",
  actions: () => notBuiltActions("assemble", ["start"], "issue 5: the film pipeline"),
});
