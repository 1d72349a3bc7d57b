/**
 * Which functions the gateway serves: the `[functions.<name>]` tables of supabase/config.toml
 * plus every local-only test fixture under tests/fixtures/functions/<name>/index.ts. Read on
 * every lookup so functions added while the stack runs are served without a restart.
 */
import { join, resolve } from "node:path";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { parseTomlTables } from "./config-toml.ts";

export interface EdgeFunction {
  name: string;
  /** Absolute path of the entry file. */
  entrypoint: string;
  verifyJwt: boolean;
}

export interface FunctionRegistry {
  lookup(name: string): EdgeFunction | undefined;
  list(): EdgeFunction[];
}

/** Builds a registry rooted at the repository directory. */
export function createFunctionRegistry(repoDir: string): FunctionRegistry {
  const supabaseDir = join(repoDir, "supabase");
  const fixturesDir = join(repoDir, "tests", "fixtures", "functions");

  function readConfigured(): EdgeFunction[] {
    const configPath = join(supabaseDir, "config.toml");
    if (!existsSync(configPath)) return [];
    const functions: EdgeFunction[] = [];
    for (const [table, values] of parseTomlTables(readFileSync(configPath, "utf8"))) {
      const match = table.match(/^functions\.([^.]+)$/);
      if (!match || values.enabled === false) continue;
      const name = match[1];
      const entrypoint = typeof values.entrypoint === "string"
        ? resolve(supabaseDir, values.entrypoint)
        : join(supabaseDir, "functions", name, "index.ts");
      functions.push({ name, entrypoint, verifyJwt: values.verify_jwt !== false });
    }
    return functions;
  }

  function readFixtures(): EdgeFunction[] {
    if (!existsSync(fixturesDir)) return [];
    return readdirSync(fixturesDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(fixturesDir, entry.name, "index.ts")))
      .map((entry) => ({
        name: entry.name,
        entrypoint: join(fixturesDir, entry.name, "index.ts"),
        verifyJwt: true,
      }));
  }

  // A function whose entry file does not exist yet is not servable; config.toml may run ahead.
  function list(): EdgeFunction[] {
    const byName = new Map<string, EdgeFunction>();
    for (const fn of [...readFixtures(), ...readConfigured()]) {
      if (existsSync(fn.entrypoint)) byName.set(fn.name, fn);
    }
    return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  return {
    list,
    lookup: (name) => list().find((fn) => fn.name === name),
  };
}
