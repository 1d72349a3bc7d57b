/**
 * The gateway runs every function from its deploy set (what `supabase functions deploy` uploads),
 * not from the repository: the worker's entry file, config and working directory are the set's,
 * and `npm:` packages come from the stack's own Deno cache, never node_modules. Linux /proc tells.
 * Needs a running stack (`npm run stack:start`).
 */
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readConfiguredFunctions } from "../../scripts/stack/function-registry.ts";
import { admin, stackDir, stackEnv } from "../support/stack.ts";

const env = stackEnv();
const root = join(import.meta.dirname!, "..", "..");
const served = [...readConfiguredFunctions(root).map((fn) => fn.name), "echo", "engine-probe"];

interface WorkerSummary {
  function: string;
  pid: number;
}

describe("functions served from their deploy sets", () => {
  it.each(served)("%s boots from its set, with the stack's Deno cache and no package.json", async (name) => {
    const response = await fetch(`${env.API_URL}/functions/v1/${name}`, {
      headers: { authorization: `Bearer ${env.ANON_KEY}` },
    });
    await response.body?.cancel();
    // A booted function answers a GET itself: echo says what it got, ours refuse the method.
    expect(response.status).toBe(name === "echo" ? 200 : 405);

    const worker = ((await admin("workers")).live as WorkerSummary[]).find((candidate) =>
      candidate.function === name
    );
    expect(worker).toBeDefined();
    const setDir = join(stackDir, "deploy", name);
    const args = readFileSync(`/proc/${worker!.pid}/cmdline`, "utf8").split("\0");
    const environ = readFileSync(`/proc/${worker!.pid}/environ`, "utf8").split("\0");
    expect(readlinkSync(`/proc/${worker!.pid}/cwd`)).toBe(setDir);
    expect(args).toContain(join(setDir, "deno.json"));
    expect(args.at(-2)).toMatch(
      new RegExp(`^${setDir}/(functions|tests/fixtures/functions)/${name}/index\\.ts$`),
    );
    expect(
      args.some((arg) =>
        arg.startsWith(root + "/") && !arg.startsWith(stackDir) && arg.includes("/functions/")
      ),
    ).toBe(false);
    expect(environ).toContain(`DENO_DIR=${join(stackDir, "deno-cache")}`);
    expect(environ).toContain("DENO_NO_PACKAGE_JSON=1");
  }, 60_000);
});
