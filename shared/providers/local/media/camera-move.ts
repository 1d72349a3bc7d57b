/**
 * A clip made from a still: a slow camera move (zoompan) over the reference image with the scene
 * caption at the top (drawn stills carry theirs at the bottom), H.264 yuv420p at a fixed fps,
 * exactly round(duration × fps) frames long.
 */
import { join } from "node:path";
import { hashText } from "../seeded-random.ts";
import { drawTextFile, wrapText } from "./ffmpeg-text.ts";
import { runProcess } from "./run-process.ts";

export interface CameraMoveOptions {
  imageFile: string;
  caption: string;
  width: number;
  height: number;
  frames: number;
  fps: number;
  workDir: string;
  signal: AbortSignal;
}

/** Zoom in, zoom out, or pan, chosen by the caption so a re-run gives the same clip. */
function move(caption: string, frames: number): { z: string; x: string; y: string } {
  const step = (0.25 / frames).toFixed(6);
  const centre = { x: "iw/2-(iw/zoom/2)", y: "ih/2-(ih/zoom/2)" };
  switch (hashText(caption) % 3) {
    case 0:
      return { z: `1+${step}*on`, ...centre };
    case 1:
      return { z: `1.25-${step}*on`, ...centre };
    default:
      return { z: "1.2", x: `(iw-iw/zoom)*on/${frames}`, y: "ih/2-(ih/zoom/2)" };
  }
}

export async function cameraMove(options: CameraMoveOptions): Promise<string> {
  const { imageFile, caption, width, height, frames, fps, workDir, signal } = options;
  const file = join(workDir, "clip.mp4");
  const fontSize = Math.max(12, Math.round(height / 22));
  const text = await drawTextFile(
    workDir,
    "scene-caption",
    wrapText(caption, Math.max(10, Math.floor(width / (fontSize * 0.6))), 2),
    `fontsize=${fontSize}:fontcolor=white:box=1:boxcolor=black@0.45:boxborderw=${Math.round(fontSize / 3)}:` +
      `x=(w-text_w)/2:y=${Math.round(height * 0.06)}`,
  );
  const { z, x, y } = move(caption, frames);
  // Cover-scale the still to the clip's size first, so any reference image fits any ratio.
  const filters = [
    `scale=${width}:${height}:force_original_aspect_ratio=increase`,
    `crop=${width}:${height}`,
    "setsar=1",
    `zoompan=z='${z}':x='${x}':y='${y}':d=${frames}:s=${width}x${height}:fps=${fps}`,
    text,
    "format=yuv420p",
  ];
  await runProcess("ffmpeg", [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-i",
    imageFile,
    "-vf",
    filters.join(","),
    "-frames:v",
    String(frames),
    "-r",
    String(fps),
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-crf",
    "23",
    "-pix_fmt",
    "yuv420p",
    "-movflags",
    "+faststart",
    file,
  ], signal);
  return file;
}
