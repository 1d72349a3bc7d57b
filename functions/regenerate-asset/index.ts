import { notBuiltActions } from "../../shared/http/not-built.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "regenerate-asset",
  actions: () => notBuiltActions("regenerate-asset", ["regenerate","accept","reject"], "issue 6: asset regeneration"),
});
