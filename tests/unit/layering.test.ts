/**
 * Dependencies point one way (tests/support/layering-rules.ts states the rule): no import cycle,
 * no import up a layer, capabilities use each other one way and only through public modules.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  capabilityCycles,
  importCycles,
  type ImportGraph,
  privateCapabilityImports,
  readImportGraph,
  relativeSpecifiers,
  unresolvedImports,
  upwardImports,
} from "../support/import-graph.ts";
import { CAPABILITIES, SCANNED_ROOTS } from "../support/layering-rules.ts";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const graph = readImportGraph(repoRoot, SCANNED_ROOTS);
const showCycles = (cycles: string[][]) => cycles.map((cycle) => cycle.join(" → "));

describe("the repo's imports", () => {
  it("scans the sources", () => {
    expect(graph.size).toBeGreaterThan(200);
    expect(graph.get("functions/produce-movie/index.ts")?.length).toBeGreaterThan(0);
  });

  it("all resolve to files", () => {
    expect(unresolvedImports(repoRoot, graph)).toEqual([]);
  });

  it("have no cycle", () => {
    expect(showCycles(importCycles(graph))).toEqual([]);
  });

  it("never point up a layer", () => {
    expect(upwardImports(graph)).toEqual([]);
  });

  it("reach into another capability only through its public modules", () => {
    expect(privateCapabilityImports(graph)).toEqual([]);
  });

  it("between capabilities point one way", () => {
    expect(showCycles(capabilityCycles(graph))).toEqual([]);
  });

  it("public lists name modules that exist", () => {
    const missing = Object.entries(CAPABILITIES).flatMap(([name, { publicModules }]) =>
      publicModules.map((module) => `shared/${name}/${module}`).filter((file) => !graph.has(file))
    );
    expect(missing).toEqual([]);
  });
});

describe("the layering checks", () => {
  const made = (edges: Record<string, string[]>): ImportGraph => new Map(Object.entries(edges));

  it("read static, re-export, side-effect and dynamic imports, relative ones only", () => {
    const source = [
      `import { a } from "./a.ts";`,
      `import type {\n  B,\n} from "../b.ts";`,
      `export { c } from "./c.ts";`,
      `export * from "./d.ts";`,
      `import "./e.ts";`,
      `const f = await import("./f.ts");`,
      `import { z } from "zod";`,
      ` * a comment quoting import("./g.ts")`,
    ].join("\n");
    expect(relativeSpecifiers(source).sort()).toEqual([
      "../b.ts",
      "./a.ts",
      "./c.ts",
      "./d.ts",
      "./e.ts",
      "./f.ts",
    ]);
  });

  it("name a cycle's files in order", () => {
    const cycles = importCycles(
      made({ "a.ts": ["b.ts"], "b.ts": ["c.ts"], "c.ts": ["a.ts"], "d.ts": ["a.ts"] }),
    );
    expect(cycles).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"]]);
  });

  it("flag platform → capability and shared → entrypoint", () => {
    const found = upwardImports(made({
      "shared/engine/x.ts": ["shared/film/y.ts", "shared/db/client.ts"],
      "shared/film/y.ts": ["scripts/stack/z.ts"],
      "functions/f/index.ts": ["shared/film/y.ts"],
    }));
    expect(found).toEqual([
      "shared/engine/x.ts (platform) → shared/film/y.ts (capability)",
      "shared/film/y.ts (capability) → scripts/stack/z.ts (entrypoint)",
    ]);
  });

  it("flag a capability reaching into another's private module, and capabilities leaning on each other", () => {
    const g = made({
      "shared/assets/a.ts": ["shared/film/film-actions.ts"],
      "shared/film/b.ts": ["shared/assets/a.ts"],
    });
    expect(privateCapabilityImports(g)).toEqual([
      "shared/assets/a.ts → shared/film/film-actions.ts (not public in film)",
      "shared/film/b.ts → shared/assets/a.ts (not public in assets)",
    ]);
    expect(capabilityCycles(g)).toHaveLength(1);
  });
});
