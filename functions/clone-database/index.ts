import { notBuiltActions } from "../../shared/http/not-built.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "clone-database",
  actions: () => notBuiltActions("clone-database", ["start","restart"], "issue 3: clone-database"),
});
