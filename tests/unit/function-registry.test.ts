import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createFunctionRegistry } from "../../scripts/stack/function-registry.ts";

describe("function registry serving deploy sets", () => {
  let repo: string;
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text);
  };
  // Later than the build that just ran, whatever the file system's timestamp granularity.
  const touchLater = (path: string) =>
    utimesSync(join(repo, path), new Date(), new Date(Date.now() + 60_000));

  beforeEach(() => {
    repo = mkdtempSync(join(tmpdir(), "reelforge-registry-"));
    write("deno.json", JSON.stringify({ imports: { zod: "npm:zod@4.6.7" } }));
    write(
      "supabase/config.toml",
      [
        "[functions.hello]",
        "verify_jwt = false",
        `entrypoint = "../functions/hello/index.ts"`,
        `import_map = "../deno.json"`,
        "[functions.off]",
        "enabled = false",
        `entrypoint = "../functions/off/index.ts"`,
      ].join("\n"),
    );
    write(
      "functions/hello/index.ts",
      `import { greet } from "../../shared/greet.ts";\nDeno.serve(() => new Response(greet));\n`,
    );
    write("functions/off/index.ts", "");
    write("shared/greet.ts", `export const greet = "hello";\n`);
    write("package.json", "{}");
  });
  afterEach(() => rmSync(repo, { recursive: true, force: true }));

  it("serves a function from its set under the deploy dir, with the set's config and root", () => {
    const deployDir = join(repo, ".stack", "deploy");
    const fn = createFunctionRegistry(repo, { deployDir }).lookup("hello")!;
    expect(fn).toEqual({
      name: "hello",
      verifyJwt: false,
      entrypoint: join(deployDir, "hello", "functions/hello/index.ts"),
      config: join(deployDir, "hello", "deno.json"),
      rootDir: join(deployDir, "hello"),
    });
    expect(readFileSync(join(deployDir, "hello", "shared/greet.ts"), "utf8")).toContain("hello");
    expect(() => readFileSync(join(deployDir, "hello", "package.json"))).toThrow();
  });

  it("rebuilds the set when a source changes, taking in files a new import reaches", () => {
    const deployDir = join(repo, ".stack", "deploy");
    const registry = createFunctionRegistry(repo, { deployDir });
    registry.lookup("hello");
    write("shared/name.ts", `export const name = "world";\n`);
    write("shared/greet.ts", `import { name } from "./name.ts";\nexport const greet = "hello " + name;\n`);
    touchLater("shared/greet.ts");
    registry.lookup("hello");
    expect(readFileSync(join(deployDir, "hello", "shared/greet.ts"), "utf8")).toContain("./name.ts");
    expect(readFileSync(join(deployDir, "hello", "shared/name.ts"), "utf8")).toContain("world");
  });

  it("does not serve disabled or unknown functions", () => {
    const registry = createFunctionRegistry(repo, { deployDir: join(repo, ".stack", "deploy") });
    expect(registry.lookup("off")).toBeUndefined();
    expect(registry.lookup("nope")).toBeUndefined();
    expect(registry.list().map((fn) => fn.name)).toEqual(["hello"]);
  });
});
