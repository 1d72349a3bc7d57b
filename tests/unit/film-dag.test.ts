import { describe, expect, it } from "vitest";
import {
  productionPlanSchema,
  screenplaySchema,
  visualBibleSchema,
} from "../../shared/providers/film-schemas.ts";
import { criticalPath, filmDag, type FilmDagScene, sequentialTime } from "../support/film-dag.ts";
import {
  continuesFrom,
  productionPlan,
  sceneLines,
  screenplay,
  twoChainsPerTwelve,
  visualBible,
} from "../support/film-script.ts";
import { continuityChains, planScenes } from "../../shared/film/scene-plan.ts";

const L = { llm: 100, image: 1000, video: 3000, voice: 500, lipsync: 0, music: 2000 };

describe("critical path and sequential time", () => {
  it("take the longest chain of dependent work, and the sum of all of it", () => {
    const nodes = [
      { id: "a", ms: 1, after: [] },
      { id: "b", ms: 5, after: ["a"] },
      { id: "c", ms: 2, after: ["a"] },
      { id: "d", ms: 1, after: ["b", "c"], sequentialMs: 3 },
    ];
    expect(criticalPath(nodes)).toEqual({ ms: 7, path: ["a", "b", "d"] });
    expect(sequentialTime(nodes)).toBe(11);
  });

  it("refuse a cycle and a missing node", () => {
    expect(() => criticalPath([{ id: "a", ms: 1, after: ["b"] }, { id: "b", ms: 1, after: ["a"] }])).toThrow(
      /cycle/,
    );
    expect(() => criticalPath([{ id: "a", ms: 1, after: ["z"] }])).toThrow(/z is referenced/);
  });

  it("of a 12-scene film run the longest continuation chain one scene after another", () => {
    const shape = twoChainsPerTwelve(12);
    const scenes: FilmDagScene[] = Array.from({ length: 12 }, (_, i) => ({
      sceneNumber: i + 1,
      continuesFrom: continuesFrom(shape, i + 1),
      generatedReference: continuesFrom(shape, i + 1) === null,
      clipMade: true,
      lines: sceneLines(shape, i + 1).length,
    }));
    const renderMs = {
      endFrame: new Map(scenes.map((s) => [s.sceneNumber, 200])),
      mix: new Map(scenes.map((s) => [s.sceneNumber, 300])),
      assemble: 4000,
    };
    const nodes = filmDag({ latencies: L, scenes, portraits: 3, music: true, cover: true, renderMs });
    const { ms, path } = criticalPath(nodes);
    // LLM ×3, portraits, chain 7–10 (image, 4 × (clip + end frame)), mix of 10, assembly, cover.
    expect(ms).toBe(300 + 1000 + 1000 + 4 * (3000 + 200) + 300 + 4000 + 1000);
    expect(path.filter((id) => id.startsWith("video-"))).toEqual([
      "video-7",
      "video-8",
      "video-9",
      "video-10",
    ]);
    const lines = scenes.reduce((sum, s) => sum + s.lines, 0);
    expect(sequentialTime(nodes)).toBe(
      300 + 3 * 1000 + 7 * 1000 + 12 * (3000 + 200 + 300) + lines * 500 + 2000 + 4000 + 1000,
    );
  });
});

describe("the film script fixture", () => {
  it("gives answers the pipeline's schemas accept, with the chains it was asked for", () => {
    const shape = twoChainsPerTwelve(24);
    const plan = productionPlan(shape);
    const written = screenplay(shape, "Fog");
    productionPlanSchema.parse(plan);
    visualBibleSchema.parse(visualBible());
    screenplaySchema.parse(written);
    const scenes = planScenes(written, plan, 24);
    const chains = continuityChains(
      scenes.map((s) => ({ sceneNumber: s.sceneNumber, continuesFrom: s.continuesFrom })),
    );
    expect(chains.filter((c) => c.length > 1)).toEqual([[2, 3, 4], [7, 8, 9, 10], [14, 15, 16], [
      19,
      20,
      21,
      22,
    ]]);
    expect(chains).toHaveLength(24 - 2 * 5);
    const texts = written.scenes.flatMap((s) => s.dialogue.map((d) => d.line));
    expect(new Set(texts).size).toBe(texts.length);
    for (const s of written.scenes) {
      for (const d of s.dialogue) {
        expect(d.timing + d.line.length * 0.06).toBeLessThan(s.duration.screen_time_seconds);
      }
    }
  });
});
