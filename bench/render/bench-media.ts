/** The benchmark's inputs: 10 H.264/AAC clips (lavfi test patterns), dialogue lines and music. */
import { join } from "node:path";

export const CLIPS = 10;
export const CLIP_SECONDS = 12;
export const FPS = 24;
export const WIDTH = 1280;
export const HEIGHT = 720;
const SOURCES = ["testsrc2", "smptehdbars", "mandelbrot", "testsrc", "rgbtestsrc"];

export async function ffmpeg(args: string[]): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command("ffmpeg", {
    args: ["-hide_banner", "-nostdin", "-y", "-loglevel", "error", ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`ffmpeg ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return (performance.now() - started) / 1000;
}

/** Generated once per machine into `dir` (cached: generating takes longer than the benchmark). */
export async function makeBenchMedia(dir: string) {
  await Deno.mkdir(dir, { recursive: true });
  const exists = (file: string) => Deno.stat(file).then(() => true, () => false);
  const clips: string[] = [];
  for (let i = 0; i < CLIPS; i++) {
    const file = join(dir, `clip-${i}.mp4`);
    if (!await exists(file)) {
      await ffmpeg([
        "-f",
        "lavfi",
        "-i",
        `${SOURCES[i % SOURCES.length]}=size=${WIDTH}x${HEIGHT}:rate=${FPS}`,
        "-f",
        "lavfi",
        "-i",
        `sine=frequency=${220 + 20 * i}:sample_rate=48000`,
        "-t",
        String(CLIP_SECONDS),
        "-af",
        "volume=-30dB",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-ac",
        "2",
        file,
      ]);
    }
    clips.push(file);
  }
  const lines: string[] = [];
  for (let i = 0; i < 5; i++) {
    const file = join(dir, `line-${i}.wav`);
    if (!await exists(file)) {
      await ffmpeg([
        "-f",
        "lavfi",
        "-i",
        `sine=frequency=${700 + 50 * i}:sample_rate=44100`,
        "-t",
        "2.5",
        "-af",
        "volume=-8dB",
        file,
      ]);
    }
    lines.push(file);
  }
  const music = join(dir, "music.wav");
  if (!await exists(music)) {
    await ffmpeg([
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=110:sample_rate=44100",
      "-t",
      String(CLIPS * CLIP_SECONDS),
      "-af",
      "volume=-14dB",
      music,
    ]);
  }
  return { clips, lines, music };
}
