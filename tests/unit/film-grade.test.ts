import { describe, expect, it } from "vitest";
import { GRADE_STRENGTH, gradeFromBible } from "../../shared/film/film-grade.ts";
import { buildFilmTimeline } from "../../shared/film/film-timeline.ts";
import { checkRenderRequest } from "../../shared/providers/render-request.ts";
import type { Timeline, TimelineGrade } from "../../shared/providers/types.ts";
import { clipGradeFilter, hexToYuv, parseColourMean } from "../../shared/render/clip-grade.ts";
import { buildClipGraph } from "../../shared/render/clip-graph.ts";

const bible = (color_palette: string[], words = { emotional_tone: "", visual_style: "", lighting: "" }) => ({
  color_palette,
  ...words,
});
const COLD = ["#1b263b", "#415a77", "#778da9", "#e0e1dd"];
const WARM = ["#f4a259", "#bc4b51", "#5b8e7d", "#f4e285"];
const chroma = (hex: string) => {
  const { u, v } = hexToYuv(hex);
  return { u: u - 128, v: v - 128 };
};

describe("the grade a visual bible gives", () => {
  it("is the same for the same bible, and leans the way its palette does", () => {
    expect(gradeFromBible(bible(COLD))).toEqual(gradeFromBible(bible(COLD)));
    // Blue (U) over red (V) for a cold palette; the other way round for a warm one.
    const cold = chroma(gradeFromBible(bible(COLD)).target);
    const warm = chroma(gradeFromBible(bible(WARM)).target);
    expect(cold.u).toBeGreaterThan(0);
    expect(cold.v).toBeLessThan(0);
    expect(warm.u).toBeLessThan(0);
    expect(warm.v).toBeGreaterThan(0);
  });

  it("tints toward the palette rather than painting in it: the target is less saturated than its mean", () => {
    const mean = "#bf976b"; // WARM's channels averaged
    const target = chroma(gradeFromBible(bible(WARM)).target);
    expect(Math.hypot(target.u, target.v)).toBeLessThan(Math.hypot(chroma(mean).u, chroma(mean).v));
    expect(Math.hypot(target.u, target.v)).toBeGreaterThan(0);
  });

  it.each([
    [{ emotional_tone: "amused", visual_style: "", lighting: "" }, 1, 1.1],
    [{ emotional_tone: "wistful", visual_style: "", lighting: "" }, 0.94, 1],
    [{ emotional_tone: "uneasy", visual_style: "cold-toned noir", lighting: "hard light" }, 1.06, 0.9],
    [{ emotional_tone: "", visual_style: "", lighting: "" }, 1, 1],
  ])("reads contrast and saturation from the mood words %o", (words, contrast, saturation) => {
    expect(gradeFromBible(bible(COLD, words))).toMatchObject({
      contrast,
      saturation,
      strength: GRADE_STRENGTH,
    });
  });
});

describe("a clip's grade filter", () => {
  const grade: TimelineGrade = { target: "#757c86", strength: 0.5, contrast: 1, saturation: 1 };
  const target = hexToYuv(grade.target);

  it("shifts the clip's mean chroma half way (strength 0.5) to the target's", () => {
    const filter = clipGradeFilter(grade, { y: 100, u: target.u + 20, v: target.v - 10 });
    expect(filter).toBe("lutyuv=u='clip(val-10,16,240)':v='clip(val+5,16,240)'");
  });

  it("shifts from the mean as eq's saturation leaves it, after eq", () => {
    const filter = clipGradeFilter({ ...grade, saturation: 0.5, contrast: 1.1 }, { y: 100, u: 168, v: 128 });
    const [eq, lut] = filter.split(",lutyuv=");
    expect(eq).toBe("eq=contrast=1.1:saturation=0.5");
    // eq leaves U at 128 + 0.5 × 40 = 148; half way to the target from there.
    const du = Math.round(0.5 * (target.u - 148) * 100) / 100;
    expect(lut).toContain(`u='clip(val${du},16,240)'`);
  });

  it("leaves a clip already at the target alone, and grades an unmeasured clip by eq only", () => {
    expect(clipGradeFilter(grade, target)).toBe("null");
    expect(clipGradeFilter({ ...grade, contrast: 1.06 }, null)).toBe("eq=contrast=1.06:saturation=1");
  });

  it("reads the mean of the frames signalstats printed", () => {
    const printed = [
      "frame:0 pts:0",
      "lavfi.signalstats.YAVG=100",
      "lavfi.signalstats.UAVG=160",
      "lavfi.signalstats.VAVG=120.5",
      "frame:1 pts:1",
      "lavfi.signalstats.YAVG=110",
      "lavfi.signalstats.UAVG=150",
      "lavfi.signalstats.VAVG=121.5",
    ].join("\n");
    expect(parseColourMean(printed)).toEqual({ y: 105, u: 155, v: 121 });
    expect(parseColourMean("")).toBeNull();
  });
});

describe("the grade on the timeline and in the graph", () => {
  const scene = { url: "https://x/1.mp4", durationSeconds: 2, isContinuation: false, lines: [] };
  const scenes = [
    { ...scene, sceneNumber: 1, locationSlug: "a", timeOfDay: "day" },
    { ...scene, sceneNumber: 2, locationSlug: "a", timeOfDay: "day", url: "https://x/2.mp4" },
  ];
  const grade = gradeFromBible(bible(COLD));

  it("travels in the timeline, and a film without a bible has none", () => {
    const graded = buildFilmTimeline(scenes, { width: 640, height: 360 }, null, grade);
    expect(graded.grade).toEqual(grade);
    expect(buildFilmTimeline(scenes, { width: 640, height: 360 }, null)).not.toHaveProperty("grade");
    const request = { op: "assemble", timeline: graded, output: { bucket: "b", path: "p" } };
    expect(checkRenderRequest(request).ok).toBe(true);
    const bad = { ...request, timeline: { ...graded, grade: { ...grade, target: "blue", strength: 2 } } };
    const check = checkRenderRequest(bad);
    expect(!check.ok && check.problems).toEqual([
      "timeline.grade.target: must be #rrggbb",
      expect.stringMatching(/^timeline\.grade\.strength: /),
    ]);
  });

  it("ends each clip's conformed picture in its own grade filter, and an ungraded one in none", () => {
    const timeline: Timeline = buildFilmTimeline(scenes, { width: 640, height: 360 }, null, grade);
    const graph = buildClipGraph(timeline, [false, false], { grades: ["eq=contrast=1.06", "null"] });
    expect(graph[0]).toMatch(/format=yuv420p,eq=contrast=1\.06\[v0\]$/);
    expect(graph[2]).toMatch(/format=yuv420p,null\[v1\]$/);
    expect(buildClipGraph(timeline, [false, false])[0]).toMatch(/format=yuv420p\[v0\]$/);
  });
});
