/**
 * FFmpeg arguments for a clip's real last frame as a PNG. Reading from a few seconds before the
 * end and overwriting one image per decoded frame leaves the last frame decoded, whatever the
 * container claims the duration is; passthrough keeps FFmpeg from duplicating or dropping frames.
 */
import { FFMPEG_BASE_ARGS } from "../media/ffmpeg-process.ts";

export function buildLastFrameArgs(clipFile: string, outputFile: string, clipSeconds: number): string[] {
  // -sseof further back than the clip's start fails; seeking lands on the keyframe before anyway.
  const back = Math.min(3, Math.max(0.001, clipSeconds));
  return [
    ...FFMPEG_BASE_ARGS,
    "-sseof",
    `-${back.toFixed(3)}`,
    "-i",
    clipFile,
    "-map",
    "0:v:0",
    "-fps_mode",
    "passthrough",
    "-update",
    "1",
    "-f",
    "image2",
    "-c:v",
    "png",
    outputFile,
  ];
}
