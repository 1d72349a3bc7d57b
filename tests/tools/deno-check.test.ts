import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname!, "..", "..");
const entrypoints = [
  ...readdirSync(join(root, "functions")).map((name) => `functions/${name}/index.ts`),
  ...readdirSync(join(root, "tests/fixtures/functions")).map((name) =>
    `tests/fixtures/functions/${name}/index.ts`
  ),
];

const denoCheck = (...args: string[]) => () =>
  execFileSync(join(root, "node_modules/.bin/deno"), ["check", ...args], {
    cwd: root,
    encoding: "utf8",
    stdio: "pipe",
    env: { ...process.env, NO_COLOR: "1" },
  });

describe("deno check", () => {
  // tests/ holds compile-time cases of its own: each @ts-expect-error in tests/unit/task-routes.test.ts
  // must stay an error, and tests/unit/reelforge-client.test.ts compares the front-end client's wire
  // types with the server's and passes it a real SupabaseClient.
  it("type-checks every Edge Function entrypoint, and the tests, scripts and benchmarks, under Deno", () => {
    expect(entrypoints.length).toBeGreaterThanOrEqual(6);
    expect(denoCheck(...entrypoints, "tests/", "scripts/", "bench/")).not.toThrow();
  }, 180_000);

  it("type-checks the front-end client with a browser's libraries only", () => {
    // deno.json's libs include the Deno namespace; a browser bundle has none of it.
    const dir = mkdtempSync(join(tmpdir(), "reelforge-browser-"));
    try {
      writeFileSync(
        join(dir, "deno.json"),
        JSON.stringify({ compilerOptions: { strict: true, lib: ["esnext", "dom"] } }),
      );
      expect(denoCheck("--config", join(dir, "deno.json"), "shared/client/index.ts")).not.toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
