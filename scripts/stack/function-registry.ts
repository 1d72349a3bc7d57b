/**
 * Which functions the gateway serves: the `[functions.<name>]` tables of supabase/config.toml
 * plus every local-only test fixture under tests/fixtures/functions/<name>/index.ts. Read on
 * every lookup so functions added while the stack runs are served without a restart.
 *
 * With a `deployDir`, every function is served from its deploy set (scripts/stack/deploy-set.ts),
 * not from the repository, so what runs here is what `supabase functions deploy` uploads. A set
 * is rebuilt on lookup when one of its files changed since it was built: an edit reaches the next
 * worker the pool spawns, as it did when workers ran the repository's files.
 */
import { join, relative, resolve } from "node:path";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { parseTomlTables } from "./config-toml.ts";
import {
  collectDeploySet,
  type DeploySet,
  deploySetChangedSince,
  type DeploySource,
  writeDeploySet,
} from "./deploy-set.ts";

export interface EdgeFunction {
  name: string;
  /** Absolute path of the entry file the worker runs. */
  entrypoint: string;
  /** Absolute path of the config file (deno.json / import map) the worker runs with, if any. */
  config?: string;
  /** The worker's working directory: the deploy set's root, or the repository. */
  rootDir: string;
  verifyJwt: boolean;
}

/** A function as config.toml (or the fixtures folder) declares it, paths in the repository. */
export interface FunctionSource extends DeploySource {
  verifyJwt: boolean;
}

export interface FunctionRegistry {
  lookup(name: string): EdgeFunction | undefined;
  list(): EdgeFunction[];
}

export interface FunctionRegistryOptions {
  /** Serve each function from its deploy set, built under `<deployDir>/<name>`. */
  deployDir?: string;
}

/** The functions supabase/config.toml deploys (enabled ones whose entry file exists), by name. */
export function readConfiguredFunctions(repoDir: string): FunctionSource[] {
  const supabaseDir = join(repoDir, "supabase");
  const configPath = join(supabaseDir, "config.toml");
  if (!existsSync(configPath)) return [];
  const functions: FunctionSource[] = [];
  for (const [table, values] of parseTomlTables(readFileSync(configPath, "utf8"))) {
    const match = table.match(/^functions\.([^.]+)$/);
    if (!match || values.enabled === false) continue;
    const name = match[1];
    const entrypoint = typeof values.entrypoint === "string"
      ? resolve(supabaseDir, values.entrypoint)
      : join(supabaseDir, "functions", name, "index.ts");
    const importMap = typeof values.import_map === "string"
      ? resolve(supabaseDir, values.import_map)
      : undefined;
    const staticFiles = Array.isArray(values.static_files)
      ? values.static_files.map((file) => resolve(supabaseDir, String(file)))
      : undefined;
    functions.push({ name, entrypoint, importMap, staticFiles, verifyJwt: values.verify_jwt !== false });
  }
  return functions.filter((fn) => existsSync(fn.entrypoint)).sort((a, b) => a.name.localeCompare(b.name));
}

/** Builds a registry rooted at the repository directory. */
export function createFunctionRegistry(
  repoDir: string,
  options: FunctionRegistryOptions = {},
): FunctionRegistry {
  const fixturesDir = join(repoDir, "tests", "fixtures", "functions");
  const built = new Map<string, { source: FunctionSource; set: DeploySet; builtAt: number }>();

  // Fixtures are deployed as if registered with the project's import map (they import `zod`).
  function readFixtures(): FunctionSource[] {
    if (!existsSync(fixturesDir)) return [];
    return readdirSync(fixturesDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(fixturesDir, entry.name, "index.ts")))
      .map((entry) => ({
        name: entry.name,
        entrypoint: join(fixturesDir, entry.name, "index.ts"),
        importMap: join(repoDir, "deno.json"),
        verifyJwt: true,
      }));
  }

  function sources(): FunctionSource[] {
    const byName = new Map<string, FunctionSource>();
    for (const fn of [...readFixtures(), ...readConfiguredFunctions(repoDir)]) byName.set(fn.name, fn);
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  function served(source: FunctionSource): EdgeFunction {
    const { name, verifyJwt } = source;
    if (!options.deployDir) {
      return { name, verifyJwt, entrypoint: source.entrypoint, config: source.importMap, rootDir: repoDir };
    }
    const setDir = join(options.deployDir, name);
    const inSet = (path: string) => join(setDir, relative(repoDir, path));
    return {
      name,
      verifyJwt,
      entrypoint: inSet(source.entrypoint),
      config: source.importMap && inSet(source.importMap),
      rootDir: setDir,
    };
  }

  // A set that fails to build (an unreadable import map) keeps serving its last good build.
  function ensureBuilt(source: FunctionSource): void {
    const previous = built.get(source.name);
    const sameSource = previous && JSON.stringify(previous.source) === JSON.stringify(source);
    if (sameSource && !deploySetChangedSince(repoDir, previous.set, previous.builtAt)) return;
    const builtAt = Date.now();
    try {
      const set = collectDeploySet(repoDir, source);
      writeDeploySet(repoDir, set, join(options.deployDir!, source.name));
      built.set(source.name, { source, set, builtAt });
    } catch (error) {
      console.error(`[gateway] ${source.name}: deploy set not rebuilt: ${error}`);
    }
  }

  return {
    list: () => sources().map(served),
    lookup(name) {
      const source = sources().find((fn) => fn.name === name);
      if (!source) return undefined;
      if (options.deployDir) ensureBuilt(source);
      return served(source);
    },
  };
}
