/**
 * The film's grade with real FFmpeg: two clips of opposite tints (the same test pattern, one
 * pushed to blue, one to orange) go through the real assembly command with the grade a visual
 * bible gives, and their mean colours are measured before and after. Distances are in the
 * chroma plane (U, V) of 8-bit YUV: what a tint is.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gradeFromBible } from "../../shared/film/film-grade.ts";
import { FFMPEG_BASE_ARGS, runMediaCommand } from "../../shared/media/ffmpeg-process.ts";
import type { Timeline } from "../../shared/providers/types.ts";
import { buildAssembleArgs } from "../../shared/render/assemble-command.ts";
import {
  buildColourMeasureArgs,
  gradeClips,
  hexToYuv,
  parseColourMean,
  type YuvMean,
} from "../../shared/render/clip-grade.ts";

const TINTS = {
  blue: "colorchannelmixer=rr=0.45:gg=0.65:bb=1",
  orange: "colorchannelmixer=rr=1:gg=0.6:bb=0.35",
};

const chroma = (a: YuvMean, b: YuvMean) => Math.hypot(a.u - b.u, a.v - b.v);

async function meanColour(file: string, from: number, seconds: number): Promise<YuvMean> {
  const { stdout } = await runMediaCommand("ffmpeg", buildColourMeasureArgs(file, from, seconds));
  const mean = parseColourMean(stdout);
  if (!mean) throw new Error(`no frame measured in ${file}`);
  return mean;
}

describe("one grade for every clip (real FFmpeg)", () => {
  let dir: string;
  const files: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "render-grade-"));
    for (const [name, tint] of Object.entries(TINTS)) {
      const file = join(dir, `${name}.mp4`);
      await runMediaCommand("ffmpeg", [
        ...FFMPEG_BASE_ARGS,
        "-f",
        "lavfi",
        "-i",
        `testsrc2=s=320x240:r=24:d=1,${tint}`,
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        file,
      ]);
      files.push(file);
    }
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("moves clips of different tints toward the bible's look and toward each other", async () => {
    const grade = gradeFromBible({
      color_palette: ["#1b263b", "#415a77", "#778da9", "#e0e1dd"],
      emotional_tone: "uneasy",
      visual_style: "cold-toned drama, painterly frames",
      lighting: "hard moonlight, deep shadows",
    });
    const timeline: Timeline = {
      fps: 24,
      width: 320,
      height: 240,
      clips: [{ url: "https://x.test/a.mp4", inFrame: 0, outFrame: 24 }, {
        url: "https://x.test/b.mp4",
        inFrame: 0,
        outFrame: 24,
      }],
      dialogue: [],
      grade,
    };
    // "uneasy", "hard" and "cold": more contrast, less saturation, and each clip its own shift.
    expect(grade).toMatchObject({ contrast: 1.06, saturation: 0.9 });
    const clipGrades = await gradeClips(timeline, files, {});
    expect(clipGrades).toHaveLength(2);
    expect(clipGrades[0]).not.toBe(clipGrades[1]);
    const outputFile = join(dir, "graded.mp4");
    await runMediaCommand(
      "ffmpeg",
      buildAssembleArgs({
        timeline,
        path: "re_encode",
        clipFiles: files,
        clipHasAudio: [false, false],
        concatListFile: join(dir, "unused.txt"),
        dialogue: [],
        musicFile: null,
        loudness: "off",
        outputFile,
        clipGrades,
      }),
    );

    const target = hexToYuv(grade.target);
    const before = await Promise.all(files.map((file) => meanColour(file, 0.1, 0.8)));
    const after = [await meanColour(outputFile, 0.1, 0.8), await meanColour(outputFile, 1.1, 0.8)];
    // The tints really differ to begin with (tens of code values apart).
    expect(chroma(before[0], before[1])).toBeGreaterThan(40);
    // Strength 0.6: what is left of each distance is about 0.4 of it (× saturation, for the pair).
    expect(chroma(after[0], after[1])).toBeLessThan(0.5 * chroma(before[0], before[1]));
    for (const i of [0, 1]) {
      expect(chroma(after[i], target)).toBeLessThan(0.55 * chroma(before[i], target));
    }
  });
});
