/**
 * The layering, as data. In one sentence:
 *
 *   Imports point down — entrypoints (functions/, scripts/, bench/, tests/) → capabilities
 *   (shared/film, assets, clone, providers, render, client) → platform (the rest of shared/) —
 *   never in a cycle, and a capability uses another one way (today assets → film → providers ←
 *   render) and only through the modules that capability lists as public below.
 *
 * tests/unit/layering.test.ts checks every relative import under shared/, functions/, scripts/
 * and bench/ against these rules. Fix a failure by moving code, not by adding to a public list a
 * module that was never meant for sharing (task handlers, HTTP actions).
 */

/** Source roots whose .ts files are scanned. */
export const SCANNED_ROOTS = ["shared", "functions", "scripts", "bench"] as const;

/** Lowest first; a file may import its own layer or a lower one, never a higher one. */
export const LAYERS = ["platform", "capability", "entrypoint"] as const;
export type Layer = (typeof LAYERS)[number];

/** Top-level folders that are entrypoints (run by a runtime, a CLI or vitest; nothing imports them from shared/). */
export const ENTRYPOINT_ROOTS = ["functions", "scripts", "bench", "tests", "supabase", "deploy"];

/**
 * Capabilities (folders under shared/) and the modules each offers to other capabilities, as
 * paths relative to its folder. Anything not listed is that capability's own business.
 */
export const CAPABILITIES: Record<string, { publicModules: string[] }> = {
  // Used by assets (regenerate-asset): movie ownership and rows, the film's environment and job
  // runner, its pure request builders and prompt rules, the kinds it enqueues, its asset URLs, and
  // the turns its assemblies take (an accepted take's apply joins one).
  film: {
    publicModules: [
      "film-movie.ts",
      "film-env.ts",
      "film-jobs.ts",
      "film-progress.ts",
      "film-requests.ts",
      "film-kinds.ts",
      "assembly-turns.ts",
      "scene-failure.ts",
      "shot-renders.ts",
      "reference-image.ts",
      "video-prompt.ts",
      "asset-url.ts",
    ],
  },
  assets: { publicModules: [] },
  clone: { publicModules: [] },
  // Used by film, assets and render: the provider contracts, their errors and schemas, the
  // registry's entry points, the media copy, and the models' data (never an adapter itself).
  providers: {
    publicModules: [
      "types.ts",
      "provider-errors.ts",
      "film-schemas.ts",
      "render-request.ts",
      "copy-to-storage.ts",
      "http/media-url.ts",
      "registry/build-providers.ts",
      "registry/resolve-providers.ts",
      "registry/provider-catalog.ts",
      "runway/runway-models.ts",
      "elevenlabs/elevenlabs-models.ts",
    ],
  },
  render: { publicModules: [] },
  client: { publicModules: [] },
};

/** Everything else under shared/ (engine, http, storage, db, auth, crypto, net, runtime, usage, errors.ts, config.ts, ...) is platform. */
export function layerOf(file: string): Layer {
  const [root, folder] = file.split("/");
  if (root !== "shared") return "entrypoint";
  return folder in CAPABILITIES ? "capability" : "platform";
}

/** The capability a repo-relative file belongs to, or null. */
export function capabilityOf(file: string): string | null {
  const [root, folder] = file.split("/");
  return root === "shared" && folder in CAPABILITIES ? folder : null;
}
