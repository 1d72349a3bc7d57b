/**
 * A function's deploy set: the files `supabase functions deploy` uploads for it, collected the
 * way the Supabase CLI collects them (apps/cli-go/pkg/function/deno.go, `WalkImportPaths`), so
 * the local stack can serve and type-check exactly what a hosted project gets.
 *
 * The CLI uploads the import map named in config.toml (and the map a deno.json points to with
 * `importMap`), the `static_files`, and the entrypoint plus every file reached from it by a
 * relative (or absolute) path in an `import`/`export ... from`/`import("...")`, matched by its
 * regex over the raw text. Bare names are rewritten through the import map first; `npm:` and URL
 * targets are left to the hosted bundler. No node_modules, no package.json, no deno.lock.
 * Runtime-neutral (node:fs), so vitest builds sets too.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";

/** Supabase's maximum function bundle size. */
export const MAX_BUNDLE_BYTES = 20 * 1024 * 1024;

/** What config.toml says about one function; paths absolute. */
export interface DeploySource {
  name: string;
  entrypoint: string;
  importMap?: string;
  staticFiles?: string[];
}

/** The files of one deploy set, as paths relative to the project root (POSIX separators). */
export interface DeploySet {
  name: string;
  entrypoint: string;
  importMap?: string;
  files: string[];
  bytes: number;
  /** Relative import targets the walk met that do not exist (the CLI warns and goes on). */
  missing: string[];
}

// The CLI's pattern, verbatim (Go RE2 and JS agree on it: `.` stops at newlines, leftmost-first).
const IMPORT_PATH =
  /(?:import|export)\s+(?:type\s+)?(?:\{[^{}]+\}|.*?)\s*(?:from)?\s*['"](.*?)['"]|import\(\s*['"](.*?)['"]\)/gi;

/** Collects `source`'s deploy set under `rootDir` (the directory `supabase/` sits in). */
export function collectDeploySet(rootDir: string, source: DeploySource): DeploySet {
  const rel = (path: string) => relative(rootDir, path).split("\\").join("/");
  const files = new Set<string>();
  const missing: string[] = [];
  let imports: Record<string, string> = {};

  if (source.importMap) {
    const mapPath = rel(source.importMap);
    const map = readImportMap(rootDir, mapPath);
    files.add(mapPath);
    imports = map.imports;
    if (map.reference) {
      const referenced = posix.join(posix.dirname(mapPath), map.reference);
      files.add(referenced);
      imports = readImportMap(rootDir, referenced).imports;
    }
  }
  for (const file of source.staticFiles ?? []) {
    if (/[*?[{]/.test(file)) {
      throw new Error(`${source.name}: static_files globs are not supported here: ${file}`);
    }
    files.add(rel(file));
  }

  const entrypoint = rel(source.entrypoint);
  const stack = [entrypoint];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    let text: string;
    try {
      text = readFileSync(join(rootDir, current), "utf8");
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") throw error;
      missing.push(current);
      continue;
    }
    files.add(current);
    for (const match of text.matchAll(IMPORT_PATH)) {
      const target = resolveImport(current, (match[1] || match[2] || "").trim(), imports);
      if (target) stack.push(target);
    }
  }

  const sorted = [...files].sort();
  const bytes = sorted.reduce((sum, file) => sum + statSync(join(rootDir, file)).size, 0);
  return {
    name: source.name,
    entrypoint,
    importMap: source.importMap && rel(source.importMap),
    files: sorted,
    bytes,
    missing,
  };
}

/**
 * Copies the set into `outDir`, keeping paths relative to the project root, and deletes whatever
 * else is there. Updated in place, not emptied first: a worker still running the previous build
 * keeps a working directory that exists.
 */
export function writeDeploySet(rootDir: string, set: DeploySet, outDir: string): void {
  const keep = new Set(set.files);
  const existing = existsSync(outDir) ? readdirSync(outDir, { recursive: true, withFileTypes: true }) : [];
  for (const entry of existing) {
    const file = relative(outDir, join(entry.parentPath, entry.name)).split("\\").join("/");
    if (!entry.isDirectory() && !keep.has(file)) rmSync(join(outDir, file), { force: true });
  }
  for (const file of set.files) {
    mkdirSync(dirname(join(outDir, file)), { recursive: true });
    copyFileSync(join(rootDir, file), join(outDir, file));
  }
}

/** True when a file of the set changed since `builtAt` (ms), or a file went away. */
export function deploySetChangedSince(rootDir: string, set: DeploySet, builtAt: number): boolean {
  return set.files.some((file) => {
    const path = join(rootDir, file);
    return !existsSync(path) || statSync(path).mtimeMs > builtAt;
  });
}

// Mirrors the CLI: substitute import-map prefixes (values resolved against the map's directory);
// skip anything without a file extension or that is not a path (npm:, https:, bare names).
function resolveImport(current: string, specifier: string, imports: Record<string, string>): string | null {
  let mod = specifier;
  let substituted = false;
  for (const [key, value] of Object.entries(imports)) {
    if (mod.startsWith(key)) {
      mod = value + mod.slice(key.length);
      substituted = true;
    }
  }
  if (posix.extname(mod) === "") return null;
  const relativePath = mod.startsWith("./") || mod.startsWith("../");
  if (!relativePath && !mod.startsWith("/")) return null;
  if (relativePath && !substituted) mod = posix.join(posix.dirname(current), mod);
  return posix.normalize(mod);
}

interface ImportMap {
  imports: Record<string, string>;
  reference?: string;
}

function readImportMap(rootDir: string, mapPath: string): ImportMap {
  let parsed: { imports?: Record<string, string>; scopes?: unknown; importMap?: string };
  try {
    parsed = JSON.parse(readFileSync(join(rootDir, mapPath), "utf8"));
  } catch (error) {
    throw new Error(`cannot read import map ${mapPath}: ${(error as Error).message}`);
  }
  const imports: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed.imports ?? {})) {
    imports[key] = resolveMapTarget(mapPath, value);
  }
  // A deno.json with no imports of its own may point at an import map file instead.
  const reference = Object.keys(imports).length === 0 && !parsed.scopes ? parsed.importMap : undefined;
  return { imports, reference };
}

function resolveMapTarget(mapPath: string, target: string): string {
  if (target.startsWith("/") || /^[a-z][a-z0-9+.-]*:/i.test(target)) return target;
  return "./" + posix.join(posix.dirname(mapPath), target) + (target.endsWith("/") ? "/" : "");
}

/**
 * `deno <subcommand>` over a written set, isolated as the hosted bundler is: the set's own config,
 * no lockfile, no package.json discovery (the CLI sets DENO_NO_PACKAGE_JSON=1 when it bundles
 * with an import map), and `denoDir` as the cache, so `npm:` packages come from the registry.
 */
export function isolatedDenoCommand(
  subcommand: "check" | "cache" | "info",
  set: DeploySet,
  setDir: string,
  denoDir: string,
) {
  const config = set.importMap ? ["--config", join(setDir, set.importMap)] : [];
  return {
    args: [
      subcommand,
      "--no-lock",
      ...config,
      ...(subcommand === "info" ? ["--json"] : []),
      join(setDir, set.entrypoint),
    ],
    cwd: setDir,
    env: { DENO_DIR: denoDir, DENO_NO_PACKAGE_JSON: "1", NO_COLOR: "1" },
  };
}

/**
 * What a Deno that downloads from the npm registry needs from the environment: proxies, a custom
 * registry, and the OS's trust store too (machines behind a TLS-inspecting proxy trust its CA
 * there, not in Deno's built-in Mozilla list).
 */
export function registryEnv(env: Record<string, string | undefined>): Record<string, string> {
  const passed: Record<string, string> = { DENO_TLS_CA_STORE: env.DENO_TLS_CA_STORE || "mozilla,system" };
  for (
    const name of [
      "DENO_CERT",
      "HTTPS_PROXY",
      "HTTP_PROXY",
      "NO_PROXY",
      "https_proxy",
      "http_proxy",
      "no_proxy",
      "NPM_CONFIG_REGISTRY",
    ]
  ) {
    if (env[name]) passed[name] = env[name]!;
  }
  return passed;
}
