import { assembleHandler } from "../../shared/film/assemble-task.ts";
import { ASSEMBLE_KIND, assembleActions } from "../../shared/film/scene-actions.ts";
import { serveEdgeFunction } from "../../shared/runtime/edge-runtime.ts";

serveEdgeFunction({
  name: "assemble",
  actions: assembleActions,
  handlers: (deps) => ({ [ASSEMBLE_KIND]: assembleHandler(deps) }),
});
