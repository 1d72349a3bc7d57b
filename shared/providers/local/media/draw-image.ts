/**
 * A still drawn with FFmpeg's lavfi sources: a gradient backdrop whose colours come from the
 * prompt, shapes laid out by purpose (horizon and sun for a location, a figure for a character,
 * a framed title for a poster), and the prompt itself as a caption.
 */
import { join } from "node:path";
import { colorFor, drawTextFile, wrapText } from "./ffmpeg-text.ts";
import { runProcess } from "./run-process.ts";

export interface DrawImageOptions {
  prompt: string;
  width: number;
  height: number;
  purpose: "location" | "character" | "poster" | "end_frame" | "thumbnail";
  workDir: string;
  signal: AbortSignal;
}

function shapes(purpose: DrawImageOptions["purpose"], prompt: string): string[] {
  const accent = colorFor(prompt, 3, "light");
  const shade = colorFor(prompt, 4, "dark");
  switch (purpose) {
    case "location":
      return [
        `drawbox=x=0:y=ih*0.66:w=iw:h=ih*0.34:color=${shade}@0.85:t=fill`,
        `drawbox=x=iw*0.72:y=ih*0.16:w=ih*0.14:h=ih*0.14:color=${accent}@0.9:t=fill`,
      ];
    case "character":
      return [
        `drawbox=x=iw*0.42:y=ih*0.22:w=iw*0.16:h=ih*0.16:color=${shade}@0.9:t=fill`,
        `drawbox=x=iw*0.36:y=ih*0.40:w=iw*0.28:h=ih*0.50:color=${shade}@0.9:t=fill`,
      ];
    case "poster":
      return [
        `drawbox=x=iw*0.04:y=ih*0.04:w=iw*0.92:h=ih*0.92:color=${accent}@0.9:t=6`,
        `drawbox=x=0:y=ih*0.70:w=iw:h=ih*0.30:color=black@0.55:t=fill`,
      ];
    default:
      return [`drawbox=x=0:y=ih*0.75:w=iw:h=ih*0.25:color=black@0.45:t=fill`];
  }
}

/** Draws the image into `<workDir>/image.png` and returns its path. */
export async function drawImage(options: DrawImageOptions): Promise<string> {
  const { prompt, width, height, purpose, workDir, signal } = options;
  const file = join(workDir, "image.png");
  const fontSize = Math.max(12, Math.round(Math.min(width, height) / (purpose === "poster" ? 14 : 24)));
  const maxChars = Math.max(10, Math.floor(width / (fontSize * 0.6)));
  const caption = await drawTextFile(
    workDir,
    "caption",
    wrapText(prompt, maxChars, purpose === "poster" ? 3 : 2),
    `fontsize=${fontSize}:fontcolor=white:borderw=2:bordercolor=black@0.6:line_spacing=${
      Math.round(fontSize / 4)
    }:` +
      `x=(w-text_w)/2:y=h-text_h-${Math.round(height * 0.06)}`,
  );
  const backdrop =
    `gradients=s=${width}x${height}:c0=${colorFor(prompt, 1, "dark")}:c1=${colorFor(prompt, 2, "light")}:` +
    `x0=0:y0=0:x1=${width}:y1=${height}:nb_colors=2:seed=1:speed=0.00001:r=1`;
  await runProcess("ffmpeg", [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-y",
    "-f",
    "lavfi",
    "-i",
    backdrop,
    "-vf",
    [...shapes(purpose, prompt), caption].join(","),
    "-frames:v",
    "1",
    file,
  ], signal);
  return file;
}
