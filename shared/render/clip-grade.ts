/**
 * A film's grade (TimelineGrade) as one FFmpeg filter chain per clip. The same filter on every
 * clip would shift them all alike and leave their differences as they were; instead each clip's
 * mean colour over its in/out range is measured first (signalstats on a few small frames a
 * second), and its chroma is moved `strength` of the way to the target's, so clips of different
 * tints end closer to the film's look and to each other (their chroma distance × 1 − strength).
 * Colours are 8-bit limited-range YUV, what the assembly encodes (yuv420p); the target's hex is
 * read as BT.709.
 */
import type { Timeline, TimelineGrade } from "../providers/types.ts";
import { FFMPEG_BASE_ARGS, type MediaCommandOptions, runMediaCommand } from "../media/ffmpeg-process.ts";
import { keptByBytes } from "../media/kept-by-bytes.ts";
import { framesToSeconds, secondsArg } from "./frame-grid.ts";

/** A mean colour in 8-bit limited-range YUV (neutral chroma is 128). */
export type YuvMean = { y: number; u: number; v: number };

// Frames a second sampled, and their width: a mean needs neither every frame nor every pixel.
const MEASURE_FPS = 4;
const MEASURE_WIDTH = 64;

/** A #rrggbb colour in 8-bit limited-range BT.709 YUV. */
export function hexToYuv(hex: string): YuvMean {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return { y: 16 + 219 * y, u: 128 + (224 * (b - y)) / 1.8556, v: 128 + (224 * (r - y)) / 1.5748 };
}

/** FFmpeg arguments printing signalstats of `seconds` of a file's picture from `fromSeconds`. */
export function buildColourMeasureArgs(file: string, fromSeconds: number, seconds: number): string[] {
  return [
    ...FFMPEG_BASE_ARGS,
    "-ss",
    secondsArg(fromSeconds),
    "-t",
    secondsArg(seconds),
    "-i",
    file,
    "-map",
    "0:v:0",
    "-vf",
    `fps=${MEASURE_FPS},scale=${MEASURE_WIDTH}:-2,format=yuv420p,signalstats,metadata=mode=print:file=-`,
    "-f",
    "null",
    "-",
  ];
}

/** The mean of the frames' YAVG/UAVG/VAVG in metadata=print output; null when no frame was seen. */
export function parseColourMean(printed: string): YuvMean | null {
  const values = (key: string) =>
    [...printed.matchAll(new RegExp(`lavfi\\.signalstats\\.${key}=([0-9.]+)`, "g"))].map((m) => Number(m[1]));
  const [y, u, v] = ["YAVG", "UAVG", "VAVG"].map(values);
  if (y.length === 0 || u.length !== y.length || v.length !== y.length) return null;
  const mean = (xs: number[]) => xs.reduce((sum, x) => sum + x, 0) / xs.length;
  return { y: mean(y), u: mean(u), v: mean(v) };
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const plus = (n: number) => (n < 0 ? `${n}` : `+${n}`);

/**
 * The filter chain grading one clip whose mean colour is `mean`: `eq` for the grade's contrast and
 * saturation, then one constant chroma shift (lutyuv) taking the clip's mean — as eq left it —
 * `strength` of the way to the target's. No mean (nothing measured): eq alone.
 */
export function clipGradeFilter(grade: TimelineGrade, mean: YuvMean | null): string {
  const chain: string[] = [];
  if (grade.contrast !== 1 || grade.saturation !== 1) {
    chain.push(`eq=contrast=${grade.contrast}:saturation=${grade.saturation}`);
  }
  if (mean) {
    const target = hexToYuv(grade.target);
    const shift = (m: number, t: number) =>
      round2(grade.strength * (t - (128 + grade.saturation * (m - 128))));
    const [du, dv] = [shift(mean.u, target.u), shift(mean.v, target.v)];
    if (du !== 0 || dv !== 0) {
      chain.push(`lutyuv=u='clip(val${plus(du)},16,240)':v='clip(val${plus(dv)},16,240)'`);
    }
  }
  return chain.length > 0 ? chain.join(",") : "null";
}

/**
 * Each clip's grade filter, measuring the clips one after another (the worker's other jobs keep
 * their cores). Empty when the timeline has no grade.
 */
export async function gradeClips(
  timeline: Timeline,
  clipFiles: string[],
  run: MediaCommandOptions,
): Promise<string[]> {
  const grade = timeline.grade;
  if (!grade) return [];
  const filters: string[] = [];
  for (const [i, clip] of timeline.clips.entries()) {
    const from = framesToSeconds(clip.inFrame, timeline.fps);
    const seconds = framesToSeconds(clip.outFrame - clip.inFrame, timeline.fps);
    // A reassembly measures the same clips again: kept by their bytes and the stretch measured.
    const mean = await keptByBytes(
      clipFiles[i],
      `colour ${from} ${seconds}`,
      run.signal,
      async () =>
        parseColourMean(
          (await runMediaCommand("ffmpeg", buildColourMeasureArgs(clipFiles[i], from, seconds), run)).stdout,
        ),
    );
    filters.push(clipGradeFilter(grade, mean));
  }
  return filters;
}
