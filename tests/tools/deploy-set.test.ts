import { execFileSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  collectDeploySet,
  type DeploySet,
  isolatedDenoCommand,
  MAX_BUNDLE_BYTES,
  registryEnv,
  writeDeploySet,
} from "../../scripts/stack/deploy-set.ts";
import { readConfiguredFunctions } from "../../scripts/stack/function-registry.ts";

const root = join(import.meta.dirname!, "..", "..");
const deno = join(root, "node_modules/.bin/deno");
// Shared with the stack and `npm run deploy:sets`: the first run downloads the npm packages.
const denoDir = join(root, ".stack", "deno-cache");
const outDir = mkdtempSync(join(tmpdir(), "reelforge-deploy-"));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function runDeno(args: string[], cwd: string, env: Record<string, string> = {}): string {
  return execFileSync(deno, args, {
    cwd,
    encoding: "utf8",
    stdio: "pipe",
    maxBuffer: 64 * 1024 * 1024,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/root",
      NO_COLOR: "1",
      ...registryEnv(process.env),
      ...env,
    },
  });
}

/** The repository's files Deno's own module graph of `entrypoint` loads (npm packages aside). */
function graphFiles(entrypoint: string): string[] {
  const info = JSON.parse(runDeno(["info", "--json", entrypoint], root)) as {
    modules: { specifier: string }[];
  };
  const prefix = `file://${root}/`;
  return info.modules.map((module) => module.specifier)
    .filter((specifier) => specifier.startsWith(prefix) && !specifier.includes("/node_modules/"))
    .map((specifier) => specifier.slice(prefix.length));
}

describe("deploy sets", () => {
  const functions = readConfiguredFunctions(root);

  it("cover every function folder, each registered in config.toml with the project's import map", () => {
    expect(functions.map((fn) => fn.name)).toEqual(readdirSync(join(root, "functions")).sort());
    for (const fn of functions) expect(fn.importMap).toBe(join(root, "deno.json"));
  });

  describe.each(functions.map((fn) => [fn.name, fn] as const))("%s", (name, source) => {
    let set: DeploySet;
    const setDir = join(outDir, name);
    beforeAll(() => {
      set = collectDeploySet(root, source);
      writeDeploySet(root, set, setDir);
    });

    it(
      "holds every file Deno's module graph needs, the import map, and no node_modules or package.json",
      () => {
        expect(set.missing).toEqual([]);
        expect(set.files).toContain("deno.json");
        expect(set.files).toContain(`functions/${name}/index.ts`);
        expect(set.files.filter((file) => file.includes("node_modules") || file.endsWith("package.json")))
          .toEqual([]);
        const outside = graphFiles(source.entrypoint).filter((file) => !set.files.includes(file));
        expect(outside).toEqual([]);
      },
      60_000,
    );

    it("stays under the platform's 20 MB bundle limit", () => {
      expect(set.bytes).toBeGreaterThan(0);
      expect(set.bytes).toBeLessThan(MAX_BUNDLE_BYTES);
    });

    it("type-checks alone, npm packages from the registry through its own Deno cache", () => {
      const { args, cwd, env } = isolatedDenoCommand("check", set, setDir, denoDir);
      expect(() => runDeno(args, cwd, env)).not.toThrow();
    }, 300_000);
  });
});

// What Supabase's edge-runtime blocks or lacks in a user worker (ext/runtime/js/bootstrap.js and
// denoOverrides.js): no subprocesses, Deno's file APIs blocklisted, Deno.exit/kill no-ops, no
// FFI, no timeOrigin (its bootstrap never sets it). Comments aside.
const EDGE_RUNTIME_LACKS = [
  /\bnode:child_process\b/,
  /\bDeno\.(Command|run|exit|kill|listen|listenTls|dlopen|chdir|cwd)\b/,
  /\bDeno\.(write|read)(Text)?File(Sync)?\b/,
  /\bDeno\.(open|create|mkdir|remove|rename|makeTemp\w*)(Sync)?\b/,
  /\bperformance\.timeOrigin\b/,
];

describe("the code every deploy set carries", () => {
  it("uses nothing edge-runtime blocks or lacks, and writes no files (media goes through Storage's API)", () => {
    const files = new Set(readConfiguredFunctions(root).flatMap((fn) => collectDeploySet(root, fn).files));
    const offenders = [...files].filter((file) => file.endsWith(".ts")).flatMap((file) => {
      const code = readFileSync(join(root, file), "utf8").split("\n").filter((line) =>
        !/^\s*(\/\/|\*|\/\*)/.test(line)
      ).join("\n");
      const lacking = EDGE_RUNTIME_LACKS.filter((pattern) => pattern.test(code)).map((pattern) =>
        `${file}: ${pattern}`
      );
      const writesFiles = /from "node:fs(\/promises)?"/.test(code) ? [`${file}: node:fs`] : [];
      return [...lacking, ...writesFiles];
    });
    expect(files.size).toBeGreaterThan(100);
    expect(offenders).toEqual([]);
  });
});

describe("collecting a deploy set as the Supabase CLI does", () => {
  const project = mkdtempSync(join(tmpdir(), "reelforge-walk-"));
  afterAll(() => rmSync(project, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(project, path)), { recursive: true });
    writeFileSync(join(project, path), text);
  };
  write("deno.json", JSON.stringify({ imports: { zod: "npm:zod@4", "#lib/": "./lib/" } }));
  write(
    "fn/index.ts",
    [
      `import { a } from "../lib/a.ts";`,
      `export * from "./b.ts";`,
      `import type {\n  C,\n} from "./c.ts";`,
      `import { z } from "zod";`,
      `import { d } from "#lib/d.ts";`,
      `const e = await import("./e.ts");`,
      `import { gone } from "./gone.ts";`,
    ].join("\n"),
  );
  for (const file of ["lib/a.ts", "fn/b.ts", "fn/c.ts", "lib/d.ts", "fn/e.ts", "fn/unused.ts"]) {
    write(file, "export {};\n");
  }
  write("package.json", "{}");

  it("follows relative, import-map and dynamic imports, skips npm:, and reports what does not exist", () => {
    const set = collectDeploySet(project, {
      name: "fn",
      entrypoint: join(project, "fn/index.ts"),
      importMap: join(project, "deno.json"),
    });
    expect(set.files).toEqual([
      "deno.json",
      "fn/b.ts",
      "fn/c.ts",
      "fn/e.ts",
      "fn/index.ts",
      "lib/a.ts",
      "lib/d.ts",
    ]);
    expect(set.missing).toEqual(["fn/gone.ts"]);
  });

  it("writes only the set's files, removing what a previous build left", () => {
    const set = collectDeploySet(project, {
      name: "fn",
      entrypoint: join(project, "fn/index.ts"),
      importMap: join(project, "deno.json"),
    });
    const dir = join(project, "out");
    write("out/fn/stale.ts", "export {};\n");
    writeDeploySet(project, set, dir);
    expect(existsSync(join(dir, "fn/stale.ts"))).toBe(false);
    expect(existsSync(join(dir, "fn/unused.ts"))).toBe(false);
    expect(existsSync(join(dir, "package.json"))).toBe(false);
    expect(
      readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((file) => file.endsWith(".ts")).sort(),
    )
      .toEqual(["fn/b.ts", "fn/c.ts", "fn/e.ts", "fn/index.ts", "lib/a.ts", "lib/d.ts"]);
  });
});
