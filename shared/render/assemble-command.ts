/**
 * FFmpeg arguments for assembling a timeline, on either path. Pure: files in, argv out.
 * Input order: the clips (one concat list on the stream-copy path; re-encoding, each clip twice:
 * all pictures, then all sounds), then dialogue, then music.
 */
import type { Timeline } from "../providers/types.ts";
import { buildAudioGraph, type LoudnessStep, type PlacedTrack } from "./audio-graph.ts";
import { buildClipGraph } from "./clip-graph.ts";
import type { AssemblyPath } from "./assembly-path.ts";
import { FFMPEG_BASE_ARGS } from "../media/ffmpeg-process.ts";
import { fpsRational, framesToSeconds } from "./frame-grid.ts";
import { timelineFrames } from "../providers/render-request.ts";

export interface AssembleInputs {
  timeline: Timeline;
  path: AssemblyPath;
  clipFiles: string[];
  clipHasAudio: boolean[];
  /** The concat demuxer's list file (stream-copy path only); see concatList(). */
  concatListFile: string;
  dialogue: { file: string; durationSeconds: number }[];
  musicFile: string | null;
  loudness: LoudnessStep;
  /** Clip i's grade filter chain (clip-grade.ts gradeClips); re-encode path only. */
  clipGrades?: string[];
  /** The output file; ignored when loudness is "measure" (that pass writes nothing). */
  outputFile: string;
  /** The re-encode path's x264 preset (default DEFAULT_X264_PRESET). */
  x264Preset?: X264Preset;
}

export const DEFAULT_LOUDNESS_LUFS = -16;

/**
 * x264's presets, fastest first. At one CRF each slower preset spends more CPU for a smaller
 * file of about the same quality; `veryfast` is the render worker's default.
 */
export const X264_PRESETS = [
  "ultrafast",
  "superfast",
  "veryfast",
  "faster",
  "fast",
  "medium",
  "slow",
  "slower",
  "veryslow",
] as const;
export type X264Preset = (typeof X264_PRESETS)[number];
export const DEFAULT_X264_PRESET: X264Preset = "veryfast";

/** A preset named in the worker's environment; unset means the default. Throws naming the choices. */
export function parseX264Preset(value: string | undefined): X264Preset {
  if (value === undefined || value === "") return DEFAULT_X264_PRESET;
  const preset = X264_PRESETS.find((p) => p === value);
  if (!preset) {
    throw new Error(
      `REELFORGE_RENDER_X264_PRESET is ${JSON.stringify(value)}; one of ${X264_PRESETS.join(", ")}`,
    );
  }
  return preset;
}

const videoEncode = (preset: X264Preset) => [
  "-c:v",
  "libx264",
  "-preset",
  preset,
  "-crf",
  "20",
  "-pix_fmt",
  "yuv420p",
  "-profile:v",
  "high",
];
const AUDIO_ENCODE = ["-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2"];

/** The concat demuxer's list: one `file` line per clip, quoted the way the demuxer unquotes. */
export function concatList(files: string[]): string {
  return files.map((file) => `file '${file.replaceAll("'", "'\\''")}'\n`).join("");
}

export function buildAssembleArgs(o: AssembleInputs): string[] {
  const { timeline } = o;
  const copy = o.path === "stream_copy";
  // -copyts: otherwise FFmpeg shifts the copied video by the clips' AAC priming (about 21 ms) while
  // the mixed audio starts at zero, and every dialogue line lands early by that much.
  const measuring = o.loudness === "measure";
  // Re-encoding: each clip is opened once for its picture and once for its sound (clip-graph.ts);
  // the measuring pass needs the sound only.
  const clipInputs = copy ? [] : measuring ? o.clipFiles : [...o.clipFiles, ...o.clipFiles];
  const inputs = copy
    ? ["-copyts", "-f", "concat", "-safe", "0", "-i", o.concatListFile]
    : clipInputs.flatMap((file) => ["-i", file]);
  const firstTrackInput = copy ? 1 : clipInputs.length;
  const dialogue: PlacedTrack[] = timeline.dialogue.map((track, i) => ({
    input: firstTrackInput + i,
    startFrame: track.startFrame,
    gainDb: track.gainDb,
    durationSeconds: o.dialogue[i].durationSeconds,
  }));
  const music = timeline.music && o.musicFile
    ? { ...timeline.music, input: firstTrackInput + dialogue.length, durationSeconds: 0 }
    : null;

  // Pass 1 (measuring) only needs the sound: the clips' video is never decoded.
  const clips = copy ? [] : buildClipGraph(timeline, o.clipHasAudio, {
    picture: !measuring,
    audioInputOffset: measuring ? 0 : o.clipFiles.length,
    grades: o.clipGrades,
  });
  const sound = buildAudioGraph({
    fps: timeline.fps,
    totalFrames: timelineFrames(timeline),
    base: copy ? (o.clipHasAudio[0] ? "0:a" : null) : "ajoined",
    dialogue,
    music,
    speech: timeline.speech?.map((s) => ({
      startFrame: s.startFrame,
      durationSeconds: framesToSeconds(s.frames, timeline.fps),
    })),
    targetLufs: timeline.loudnessLufs ?? DEFAULT_LOUDNESS_LUFS,
    loudness: o.loudness,
  });
  const graph = [...clips, ...sound].join(";");
  const head = [
    ...FFMPEG_BASE_ARGS,
    ...inputs,
    ...o.dialogue.flatMap((d) => ["-i", d.file]),
    // Music loops without end: a score shorter than the film starts again instead of leaving its
    // last seconds silent; the mix ends with the picture (audio-graph.ts), cutting a longer one.
    ...(music ? ["-stream_loop", "-1", "-i", o.musicFile!] : []),
    "-filter_complex",
    graph,
  ];
  if (measuring) return [...head, "-map", "[aout]", "-vn", "-f", "null", "-"];
  const video = copy ? ["-map", "0:v:0", "-c:v", "copy"] : [
    "-map",
    "[vout]",
    ...videoEncode(o.x264Preset ?? DEFAULT_X264_PRESET),
    "-r",
    fpsRational(timeline.fps),
  ];
  return [...head, ...video, "-map", "[aout]", ...AUDIO_ENCODE, "-movflags", "+faststart", o.outputFile];
}
