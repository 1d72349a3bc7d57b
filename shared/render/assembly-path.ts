/**
 * Stream copy or re-encode. Copying the clips' video through the concat demuxer is many times
 * faster than decoding and encoding it, but only correct when the clips could have been one file:
 * same codec, size, frame rate, time base and pixel format, whole clips (stream copy can only cut
 * on keyframes), cuts only (a dissolve needs new pixels) and no grade (it changes every
 * pixel). Audio is always re-encoded: it is
 * mixed and normalised anyway, and costs little.
 */
import type { Timeline } from "../providers/types.ts";
import type { MediaInfo } from "../media/media-probe.ts";

export type AssemblyPath = "stream_copy" | "re_encode";

export interface AssemblyDecision {
  path: AssemblyPath;
  /** Why re-encoding was needed; null for stream copy. */
  reason: string | null;
}

const sameFps = (a: number, b: number) => Math.abs(a - b) < 1e-3;

export function chooseAssemblyPath(timeline: Timeline, clips: MediaInfo[]): AssemblyDecision {
  const reEncode = (reason: string): AssemblyDecision => ({ path: "re_encode", reason });
  if (timeline.grade) return reEncode("the film is graded");
  const first = clips[0]?.video;
  if (!first) return reEncode("clips[0] has no video stream");
  if (first.codec !== "h264") return reEncode(`clips are ${first.codec}, the output is H.264`);
  if (first.width !== timeline.width || first.height !== timeline.height) {
    return reEncode(
      `clips are ${first.width}x${first.height}, the timeline is ${timeline.width}x${timeline.height}`,
    );
  }
  if (!sameFps(first.fps, timeline.fps)) {
    return reEncode(`clips run at ${first.fps} fps, the timeline at ${timeline.fps}`);
  }
  for (const [i, clip] of timeline.clips.entries()) {
    const video = clips[i].video;
    if (!video) return reEncode(`clips[${i}] has no video stream`);
    for (const key of ["codec", "profile", "pixFmt", "width", "height", "timeBase"] as const) {
      if (video[key] !== first[key]) {
        return reEncode(`clips[${i}] ${key} ${video[key]} differs from clips[0] ${first[key]}`);
      }
    }
    if (!sameFps(video.fps, first.fps)) {
      return reEncode(`clips[${i}] runs at ${video.fps} fps, clips[0] at ${first.fps}`);
    }
    if (clip.transition && clip.transition.type !== "cut" && i < timeline.clips.length - 1) {
      return reEncode(`clips[${i}] has a ${clip.transition.type} transition`);
    }
    if (clip.inFrame !== 0 || clip.outFrame !== video.frames) {
      return reEncode(`clips[${i}] is trimmed (${clip.inFrame}-${clip.outFrame} of ${video.frames} frames)`);
    }
    if (!sameAudioLayout(clips[0], clips[i])) return reEncode(`clips[${i}] audio differs from clips[0]`);
  }
  return { path: "stream_copy", reason: null };
}

// The concat demuxer needs every file to carry the same streams.
function sameAudioLayout(a: MediaInfo, b: MediaInfo): boolean {
  if (!a.audio || !b.audio) return !a.audio && !b.audio;
  return a.audio.codec === b.audio.codec && a.audio.sampleRate === b.audio.sampleRate &&
    a.audio.channels === b.audio.channels;
}
