/**
 * FFmpeg arguments for a scene's dialogue alone (the `dialogue_track` op): silence exactly
 * durationFrames long with each line placed by sample, as AAC in .m4a — what a lip sync provider
 * takes next to the clip. Pure: files in, argv out.
 *
 * No loudnorm: the lines stay at the level assembly would place them at, so a lip-synced scene
 * and a plain one sound alike, and the film's own two-pass loudnorm sets the level once.
 */
import { buildAudioGraph, type PlacedTrack } from "./audio-graph.ts";
import { FFMPEG_BASE_ARGS } from "../media/ffmpeg-process.ts";

export interface DialogueTrackInputs {
  fps: number;
  durationFrames: number;
  dialogue: { file: string; startFrame: number; gainDb?: number; durationSeconds: number }[];
  outputFile: string;
}

export const DIALOGUE_TRACK_CONTENT_TYPE = "audio/mp4";

export function buildDialogueTrackArgs(o: DialogueTrackInputs): string[] {
  const dialogue: PlacedTrack[] = o.dialogue.map((line, input) => ({
    input,
    startFrame: line.startFrame,
    gainDb: line.gainDb,
    durationSeconds: line.durationSeconds,
  }));
  const graph = buildAudioGraph({
    fps: o.fps,
    totalFrames: o.durationFrames,
    base: null,
    dialogue,
    music: null,
    targetLufs: 0,
    loudness: "off",
  });
  return [
    ...FFMPEG_BASE_ARGS,
    ...o.dialogue.flatMap((line) => ["-i", line.file]),
    "-filter_complex",
    graph.join(";"),
    "-map",
    "[aout]",
    "-c:a",
    "aac",
    "-b:a",
    "192k",
    "-ar",
    "48000",
    "-ac",
    "2",
    "-movflags",
    "+faststart",
    "-f",
    "mp4",
    o.outputFile,
  ];
}
