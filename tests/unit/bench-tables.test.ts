/**
 * bench/README.md's tables are generated from bench/results/*.json (npm run bench:tables): the
 * committed tables must be what the committed results generate, and the generator must refuse
 * regions it cannot fill.
 */
import { describe, expect, it } from "vitest";
import { resolve } from "node:path";
import { generatedBenchReadme, readResults, rewriteTables } from "../../bench/support/results-tables.ts";

const BENCH = resolve(import.meta.dirname!, "../../bench");

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

  it("renders the clone's CPU, per-phase times, slices and pgcopydb aim when the results have them", () => {
    const results = readResults(BENCH);
    const clone = structuredClone(results.clone);
    // Results from before the CPU was measured: none of the fields below.
    for (const tool of [clone.tools.cloneDatabase, clone.tools.pgDumpPsql, clone.tools.pgcopydb]) {
      delete tool.runsCpuSeconds;
      delete tool.medianCpuSeconds;
      delete tool.cpuSecondsPerGB;
    }
    delete clone.kills?.workerCpu;
    const region = "<!-- tables:begin clone -->\n<!-- tables:end clone -->\n";
    const before = rewriteTables(region, { ...results, clone });
    expect(before).not.toContain("CPU s (per GB)");
    const cpu = (median: number, perGB: number) => ({
      runsCpuSeconds: [median],
      medianCpuSeconds: median,
      cpuSecondsPerGB: perGB,
    });
    Object.assign(clone.tools.cloneDatabase, cpu(9.5, 8.8), { ratioToPgcopydb: 0.93 });
    Object.assign(clone.tools.pgDumpPsql, cpu(4.25, 3.9));
    Object.assign(clone.tools.pgcopydb, cpu(6.5, 6.04));
    clone.kills.workerCpu = { seconds: 12.5, secondsPerGB: 11.6 };
    clone.aim.minRatioToPgcopydb = 0.9;
    clone.aimsMet.vsPgcopydb = true;
    clone.tools.cloneDatabase.medianRun.phaseSeconds = { data: 7.25, post_data: 3.5, verify: 1.75 };
    clone.tools.cloneDatabase.medianRun.slices = {
      slicesEnded: { wall_budget: 0, cpu_budget: 4, finished: 1 },
      workerExits: { cpu_soft: 2, killed: 0 },
    };
    const out = rewriteTables(region, { ...results, clone });
    expect(out).toContain("CPU s (per GB)");
    expect(out).toContain("9.5 (8.8)");
    expect(out).toContain("4.3 (3.9)");
    expect(out).toContain("12.5 (11.6)");
    expect(out).toContain("8.8 s (3.9 s, 6.0 s)");
    expect(out).toMatch(/clone-database vs pgcopydb +\| 0\.93× +\| ≥ 0\.9× \(met\)/);
    expect(out).toContain("7.3 s / 3.5 s / 1.8 s");
    expect(out).toContain("cpu_budget 4, finished 1 (cpu_soft 2)");
  });

  it("refuses an unknown region and an unclosed one", () => {
    const results = readResults(BENCH);
    expect(() => rewriteTables("<!-- tables:begin nope -->\n<!-- tables:end nope -->\n", results)).toThrow(
      /no table generator named "nope"/,
    );
    expect(() => rewriteTables("<!-- tables:begin engine -->\n", results)).toThrow(/never closed: engine/);
  });
});
