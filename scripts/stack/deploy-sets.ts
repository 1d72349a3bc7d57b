/**
 * Builds every deployed function's set into one directory, measures it against the platform's
 * bundle limit, and caches or type-checks each set in isolation. Used by `stack start` and by
 * `npm run deploy:sets`.
 */
import { join } from "node:path";
import {
  collectDeploySet,
  type DeploySet,
  type DeploySource,
  isolatedDenoCommand,
  MAX_BUNDLE_BYTES,
  registryEnv,
  writeDeploySet,
} from "./deploy-set.ts";

/** A set written to disk. */
export interface BuiltDeploySet {
  set: DeploySet;
  dir: string;
}

/** Collects and writes each source's set to `<outDir>/<name>`. */
export function buildDeploySets(repoDir: string, outDir: string, sources: DeploySource[]): BuiltDeploySet[] {
  return sources.map((source) => {
    const set = collectDeploySet(repoDir, source);
    const dir = join(outDir, source.name);
    writeDeploySet(repoDir, set, dir);
    return { set, dir };
  });
}

/** One line per set (files, bytes, share of the 20 MB limit), and the names of sets over it. */
export function describeDeploySets(built: BuiltDeploySet[]): { report: string; oversized: string[] } {
  const lines = built.map(({ set }) => {
    const share = (100 * set.bytes / MAX_BUNDLE_BYTES).toFixed(1);
    const warn = set.missing.length > 0
      ? `  (missing, skipped as the CLI does: ${set.missing.join(", ")})`
      : "";
    return `${set.name.padEnd(22)} ${String(set.files.length).padStart(4)} files ${
      String(set.bytes).padStart(9)
    } bytes  ${share.padStart(5)}% of 20 MB${warn}`;
  });
  return {
    report: lines.join("\n"),
    oversized: built.filter(({ set }) => set.bytes > MAX_BUNDLE_BYTES).map(({ set }) => set.name),
  };
}

/**
 * An upper bound of the bundle the platform builds: the set's files plus every npm package its
 * graph resolves, whole (the bundler keeps only the modules it reaches). Needs a filled cache.
 */
export async function boundedBundleBytes(
  built: BuiltDeploySet,
  denoDir: string,
): Promise<{ bytes: number; packages: string[] }> {
  const info = JSON.parse(await runIsolatedDeno("info", built, denoDir)) as {
    npmPackages?: Record<string, unknown>;
  };
  const packages = Object.keys(info.npmPackages ?? {}).sort();
  let bytes = built.set.bytes;
  for (const id of packages) {
    const at = id.lastIndexOf("@");
    bytes += await directoryBytes(
      join(denoDir, "npm", "registry.npmjs.org", id.slice(0, at), id.slice(at + 1).split("_")[0]),
    );
  }
  return { bytes, packages };
}

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) total += await directoryBytes(path);
    else if (entry.isFile) total += (await Deno.stat(path)).size;
  }
  return total;
}

/** Runs `deno check` (or `cache`, `info`) on one written set in isolation; throws with Deno's output. */
export async function runIsolatedDeno(
  subcommand: "check" | "cache" | "info",
  built: BuiltDeploySet,
  denoDir: string,
): Promise<string> {
  const { args, cwd, env } = isolatedDenoCommand(subcommand, built.set, built.dir, denoDir);
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    clearEnv: true,
    env: {
      ...registryEnv(Deno.env.toObject()),
      ...env,
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/root",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!output.success) {
    const text = new TextDecoder().decode(output.stderr) + new TextDecoder().decode(output.stdout);
    throw new Error(`deno ${subcommand} of ${built.set.name}'s deploy set failed:\n${text.trim()}`);
  }
  return new TextDecoder().decode(output.stdout);
}
