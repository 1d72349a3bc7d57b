import { buildProvidersFunction } from "../../shared/providers/registry/providers-function.ts";

// No task slices run here, so nothing needs EdgeRuntime.waitUntil.
const { app } = buildProvidersFunction({ env: Deno.env.toObject(), waitUntil: (work) => void work });
Deno.serve(app.fetch);
