/**
 * bench/README.md's tables are generated from bench/results/*.json (npm run bench:tables): the
 * committed tables must be what the committed results generate, and the generator must refuse
 * regions it cannot fill.
 */
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { generatedBenchReadme, readResults, rewriteTables } from "../../bench/support/results-tables.ts";

const BENCH = resolve(import.meta.dirname, "../../bench");

describe("bench/README.md tables", () => {
  it("equal what bench/results/*.json generate", () => {
    const { current, generated } = generatedBenchReadme(BENCH);
    expect(current, "bench/README.md tables are stale: run npm run bench:tables").toBe(generated);
  });

  it("has a generated region for every results file", () => {
    const { current } = generatedBenchReadme(BENCH);
    for (const name of Object.keys(readResults(BENCH))) {
      expect(current, `no tables region for bench/results/${name}.json`).toContain(
        `<!-- tables:begin ${name} -->`,
      );
    }
  });

  it("replaces a hand-edited figure with the measured one", () => {
    const results = readResults(BENCH);
    const edited = "intro\n<!-- tables:begin engine -->\n| 1 | 99999 |\n<!-- tables:end engine -->\noutro\n";
    const out = rewriteTables(edited, results);
    expect(out).not.toContain("99999");
    expect(out).toContain(String(Math.round(results.engine.throughput[0].engine.median)));
    expect(out.startsWith("intro\n") && out.endsWith("outro\n")).toBe(true);
  });

  it("refuses an unknown region and an unclosed one", () => {
    const results = readResults(BENCH);
    expect(() => rewriteTables("<!-- tables:begin nope -->\n<!-- tables:end nope -->\n", results)).toThrow(
      /no table generator named "nope"/,
    );
    expect(() => rewriteTables("<!-- tables:begin engine -->\n", results)).toThrow(/never closed: engine/);
  });
});
