import { buildProvidersFunction } from "../../shared/providers/registry/providers-function.ts";
import { serveApp } from "../../shared/runtime/edge-runtime.ts";

// No task slices run here, so nothing needs EdgeRuntime.waitUntil.
serveApp((env) => buildProvidersFunction({ env, waitUntil: (work) => void work }).app);
