/**
 * Which Edge Function runs which task kind, in one place. A task row's `function_name` is the
 * function whose doorbell runs its slices; every enqueue derives it from here (`functionFor`),
 * and every function declares its handlers through `routedHandlers` (routed-handlers.ts), which
 * accepts exactly the kinds routed to it: a kind sent to the wrong function, or a routed kind
 * with no handler, is a type error rather than an `unknown_kind` at run time. SQL that enqueues
 * (the storage-cleanup cron doorbell, asset_admin.reset_film) names functions as literals;
 * tests/unit/task-routes.test.ts checks them against this map.
 *
 * Only kinds and function names live here (platform); the handlers stay in their capabilities.
 */

/** Kind → the Edge Function that runs it; null: pulled by render worker processes (no doorbell). */
export const TASK_ROUTES = {
  "film.produce": "produce-movie",
  "film.music": "produce-movie",
  "film.cancel_jobs": "produce-movie",
  // The deploy script's doorbell check (scripts/deploy/doorbell-probe.ts).
  "deploy.probe": "produce-movie",
  "film.chain": "generate-scene-video",
  "film.location_image": "generate-scene-video",
  "film.voices": "generate-audio",
  "film.mix": "generate-audio",
  "film.assemble": "assemble",
  "storage.cleanup": "assemble",
  // A deleted account's files (orphan-cleanup.ts), enqueued by the account's deletion.
  "account.forget": "assemble",
  "asset.regenerate": "regenerate-asset",
  "asset.apply": "regenerate-asset",
  "asset.cleanup": "regenerate-asset",
  "clone.database": "clone-database",
  "render": null,
  "local_media": null,
} as const;

/** Every task kind the deployed functions and render workers know. */
export type TaskKind = keyof typeof TASK_ROUTES;

/** An Edge Function that runs tasks. */
export type TaskFunction = NonNullable<(typeof TASK_ROUTES)[TaskKind]>;

/** The kinds routed to function `F`. */
export type KindsOf<F extends TaskFunction> = {
  [K in TaskKind]: (typeof TASK_ROUTES)[K] extends F ? K : never;
}[TaskKind];

/**
 * Kinds of the test-only engine-probe function (tests/fixtures/functions/engine-probe, served by
 * the local stack, never deployed). They stay out of TASK_ROUTES, so no deployed function can be
 * asked to handle one; `functionFor` sends them to that function.
 */
export type ProbeKind = `probe.${string}`;
export const PROBE_FUNCTION = "engine-probe";

/** A kind an enqueue may name: a registered one, or a test fixture's. */
export type RoutableKind = TaskKind | ProbeKind;

export function isTaskKind(kind: string): kind is TaskKind {
  return Object.hasOwn(TASK_ROUTES, kind);
}

/** The function whose doorbell runs `kind` (the row's `function_name`); null for pulled kinds. */
export function functionFor(kind: RoutableKind): string | null {
  if (isTaskKind(kind)) return TASK_ROUTES[kind];
  if (kind.startsWith("probe.")) return PROBE_FUNCTION;
  // Unreachable for typed callers; a string smuggled past the types must not become a task no one runs.
  throw new Error(`task kind ${kind} is not in TASK_ROUTES`);
}
