/**
 * The only module that touches Deno and EdgeRuntime globals: entry files hand their spec (or, for
 * a function with no task slices, their app) here. The clone's wire client alone also reaches
 * Deno, for Deno.connect (clone/pg-wire-transport.ts).
 */
import { buildFunction, type FunctionSpec } from "../http/build-function.ts";
import { workerStartedAt } from "./worker-clock.ts";

declare const EdgeRuntime: { waitUntil(promise: Promise<unknown>): void } | undefined;

export function serveEdgeFunction(spec: FunctionSpec) {
  const { app } = buildFunction(spec, {
    env: Deno.env.toObject(),
    // Without EdgeRuntime (plain `deno run`), the promise still runs; nothing keeps it alive.
    waitUntil: (work) => typeof EdgeRuntime !== "undefined" ? EdgeRuntime.waitUntil(work) : void work,
    // Not performance.timeOrigin: edge-runtime leaves it unset (see worker-clock.ts).
    workerStartedAt,
  });
  Deno.serve(app.fetch);
}

/** A function that runs no task slices (providers): its app, built from the env and served. */
export function serveApp(
  build: (env: Record<string, string>) => { fetch: (request: Request) => Response | Promise<Response> },
) {
  Deno.serve(build(Deno.env.toObject()).fetch);
}
