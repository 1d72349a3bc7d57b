import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const entrypoints = [
  ...readdirSync(join(root, "functions")).map((name) => `functions/${name}/index.ts`),
  ...readdirSync(join(root, "tests/fixtures/functions")).map((name) => `tests/fixtures/functions/${name}/index.ts`),
];

describe("deno check", () => {
  it("type-checks every Edge Function entrypoint under Deno", () => {
    expect(entrypoints.length).toBeGreaterThanOrEqual(6);
    const run = () => execFileSync(join(root, "node_modules/.bin/deno"), ["check", ...entrypoints], {
      cwd: root, encoding: "utf8", stdio: "pipe", env: { ...process.env, NO_COLOR: "1" },
    });
    expect(run).not.toThrow();
  }, 180_000);
});
