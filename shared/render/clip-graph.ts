/**
 * The clips half of a re-encoded render: each clip conformed to the timeline (fps grid, size,
 * square pixels) and trimmed to its in/out frames, then joined — cuts by concat, fades and
 * dissolves by xfade — and each clip's sound joined the same way (acrossfade under a transition).
 * Each clip's picture ends in its grade filter when the film has one (clip-grade.ts).
 * Ends in [vout] (unless picture is off: the loudness pass needs sound only) and [ajoined].
 */
import type { Timeline } from "../providers/types.ts";
import { clipFrames, overlapFrames } from "../providers/render-request.ts";
import { AUDIO_FORMAT, exactLength } from "./audio-graph.ts";
import { fpsRational, framesToSamples, framesToSeconds, SAMPLE_RATE, secondsArg } from "./frame-grid.ts";

// A film "dissolve" is xfade's plain crossfade; a "fade" goes through black.
const XFADE = { fade: "fadeblack", dissolve: "fade" } as const;

function conformClip(
  timeline: Timeline,
  i: number,
  hasAudio: boolean,
  picture: boolean,
  audioInput: number,
  grade: string | undefined,
): string[] {
  const clip = timeline.clips[i];
  const { width: w, height: h } = timeline;
  const samples = framesToSamples(clipFrames(timeline)[i], timeline.fps);
  const start = secondsArg(framesToSeconds(clip.inFrame, timeline.fps));
  const audio = hasAudio
    ? `[${audioInput}:a]atrim=start=${start},asetpts=PTS-STARTPTS,${AUDIO_FORMAT},${
      exactLength(samples)
    }[a${i}]`
    : `anullsrc=r=${SAMPLE_RATE}:cl=stereo,atrim=end_sample=${samples}[a${i}]`;
  if (!picture) return [audio];
  const video =
    `[${i}:v]fps=${fpsRational(timeline.fps)},trim=start_frame=${clip.inFrame}:end_frame=${clip.outFrame},` +
    `setpts=PTS-STARTPTS,scale=${w}:${h}:force_original_aspect_ratio=decrease,pad=${w}:${h}:(ow-iw)/2:(oh-ih)/2,` +
    `setsar=1,format=yuv420p${grade ? `,${grade}` : ""}[v${i}]`;
  return [video, audio];
}

/**
 * Filter statements for the re-encode path's picture and clip sound. Clip i's picture is input i;
 * its sound is input `audioInputOffset + i` — the same file opened a second time, so that reading
 * one clip's sound ahead (the audio joins run at their own pace) never decodes and queues its
 * picture too (that queue held 1.7 GB of raw frames on a 10-clip timeline).
 */
export function buildClipGraph(
  timeline: Timeline,
  clipHasAudio: boolean[],
  { picture = true, audioInputOffset = 0, grades = [] }: {
    picture?: boolean;
    audioInputOffset?: number;
    /** Clip i's grade filter chain (clip-grade.ts); none for an ungraded film. */
    grades?: string[];
  } = {},
): string[] {
  const graph = timeline.clips.flatMap((_, i) =>
    conformClip(timeline, i, clipHasAudio[i], picture, audioInputOffset + i, grades[i])
  );
  const lengths = clipFrames(timeline);
  const rate = fpsRational(timeline.fps);
  let v = "v0";
  let a = "a0";
  let length = lengths[0];
  let run: number[] = [0]; // clips joined by cuts, waiting for one concat; run[0] is the current v/a
  const flushRun = (tag: string) => {
    if (run.length > 1) {
      const pairs = run.map((i, k) => (k === 0 ? [v, a] : [`v${i}`, `a${i}`]));
      const inputs = pairs.map(([pv, pa]) => (picture ? `[${pv}][${pa}]` : `[${pa}]`)).join("");
      graph.push(
        `${inputs}concat=n=${run.length}:v=${picture ? 1 : 0}:a=1${picture ? `[vc${tag}]` : ""}[ac${tag}]`,
      );
      [v, a] = [`vc${tag}`, `ac${tag}`];
    }
    run = [];
  };
  for (let i = 1; i < lengths.length; i++) {
    const overlap = overlapFrames(timeline, i - 1);
    if (overlap === 0) {
      run.push(i);
    } else {
      flushRun(String(i));
      const type = XFADE[timeline.clips[i - 1].transition!.type as "fade" | "dissolve"];
      const offset = secondsArg(framesToSeconds(length - overlap, timeline.fps));
      const duration = secondsArg(framesToSeconds(overlap, timeline.fps));
      // xfade wants both inputs on one time base and frame rate: back onto the grid after a join
      // (without it a second xfade comes out a frame short).
      // xfade rounds its float offset into each output timestamp and can leave a hole and an
      // extra tick at the end; the frame count is right, so the timestamps are renumbered.
      if (picture) {
        graph.push(`[${v}]fps=${rate}[vp${i}]`);
        graph.push(
          `[vp${i}][v${i}]xfade=transition=${type}:duration=${duration}:offset=${offset},setpts=N/(${rate})/TB[vx${i}]`,
        );
      }
      graph.push(
        `[${a}][a${i}]acrossfade=ns=${framesToSamples(overlap, timeline.fps)}:c1=tri:c2=tri[ax${i}]`,
      );
      [v, a] = [`vx${i}`, `ax${i}`];
      run = [i];
    }
    length += lengths[i] - overlap;
  }
  flushRun("end");
  if (picture) graph.push(`[${v}]null[vout]`);
  graph.push(`[${a}]anull[ajoined]`);
  return graph;
}
