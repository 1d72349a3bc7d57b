import { describe, expect, it } from "vitest";
import {
  productionPlanSchema,
  screenplaySchema,
  visualBibleSchema,
} from "../../shared/providers/film-schemas.ts";
import { criticalPath, filmDag, type FilmDagScene, sequentialTime, shotIds } from "../support/film-dag.ts";
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

describe("a film whose scenes are cut into shots", () => {
  // Scenes 1 (3 shots) → 2 (2 shots, continues 1); scene 3 (1 shot) on its own.
  const scenes: FilmDagScene[] = [
    { sceneNumber: 1, continuesFrom: null, generatedReference: true, clipMade: true, lines: 1, shots: 3 },
    { sceneNumber: 2, continuesFrom: 1, generatedReference: false, clipMade: true, lines: 2, shots: 2 },
    { sceneNumber: 3, continuesFrom: null, generatedReference: true, clipMade: true, lines: 0 },
  ];
  const renderMs = {
    endFrame: new Map<number, number | number[]>([[1, [100, 110, 120]], [2, [200, 210]], [3, 300]]),
    join: new Map([[1, 400], [2, 500]]),
    // Scene 3 has no lines: no mix (its 70 ms never counts).
    mix: new Map([[1, 50], [2, 60], [3, 70]]),
    assemble: 1000,
  };
  const nodes = filmDag({ latencies: L, scenes, portraits: 2, music: false, cover: false, renderMs });
  const byId = new Map(nodes.map((n) => [n.id, n]));

  it("runs a scene's shots in order, each from the end frame of the one before, then joins them", () => {
    expect(byId.get("video-1.1")!.after).toEqual(["reference-1"]);
    expect(byId.get("video-1.2")!.after).toEqual(["end-frame-1.1"]);
    expect(byId.get("video-1.3")!.after).toEqual(["end-frame-1.2"]);
    expect(byId.get("end-frame-1.3")!.ms).toBe(120);
    expect(byId.get("join-1")).toMatchObject({ ms: 400, after: ["end-frame-1.3"] });
    // The continued scene starts from the scene before once its shots are joined.
    expect(byId.get("reference-2")!.after).toEqual(["join-1"]);
    expect(byId.get("mix-2")!.after).toEqual(["join-2", "voices-2"]);
    // A one-shot scene keeps the names of a scene before shots, and has no join.
    expect(shotIds(3, 1, 1)).toEqual({ video: "video-3", endFrame: "end-frame-3" });
    expect(byId.get("end-frame-3")).toMatchObject({ ms: 300, after: ["video-3"] });
    expect(byId.has("join-3")).toBe(false);
    expect(nodes.filter((n) => n.id.startsWith("video-"))).toHaveLength(6);
  });

  it("puts every shot of the longest chain on the critical path, and every shot in the sequential time", () => {
    const { ms, path } = criticalPath(nodes);
    expect(path).toEqual([
      "plan",
      "bible",
      "screenplay",
      "portraits",
      "reference-1",
      "video-1.1",
      "end-frame-1.1",
      "video-1.2",
      "end-frame-1.2",
      "video-1.3",
      "end-frame-1.3",
      "join-1",
      "reference-2",
      "video-2.1",
      "end-frame-2.1",
      "video-2.2",
      "end-frame-2.2",
      "join-2",
      "mix-2",
      "assemble",
    ]);
    expect(ms).toBe(
      300 + 1000 + 1000 + (3 * 3000 + 100 + 110 + 120 + 400) + (2 * 3000 + 200 + 210 + 500) + 60 + 1000,
    );
    expect(sequentialTime(nodes)).toBe(
      300 + 2 * 1000 + 2 * 1000 + 6 * 3000 + (330 + 400) + (410 + 500) + 300 + 3 * 500 + (50 + 60) + 1000,
    );
  });

  it("weighs nothing for the end frames and join of a scene whose clip was never made", () => {
    const failed = filmDag({
      latencies: L,
      scenes: [{ ...scenes[0], clipMade: false }],
      portraits: 0,
      music: false,
      cover: false,
      renderMs,
    });
    const ids = new Map(failed.map((n) => [n.id, n]));
    expect(ids.get("end-frame-1.2")!.ms).toBe(0);
    expect(ids.get("join-1")!.ms).toBe(0);
    expect(ids.get("assemble")!.after).toEqual(["join-1", "voices-1"]);
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
