/**
 * Real media bytes for fakes to serve as provider outputs: a PNG embedded here, an MP4 and an MP3
 * made once per process with FFmpeg (tiny, but decodable, so a pipeline test can probe them), and
 * clips / tones of a requested length (made once per length, cached) for film renders.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A 1×1 opaque PNG. */
export const PNG = Uint8Array.from(Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
));

let cache: { mp4: Uint8Array<ArrayBuffer>; mp3: Uint8Array<ArrayBuffer> } | null = null;

function generate(): { mp4: Uint8Array<ArrayBuffer>; mp3: Uint8Array<ArrayBuffer> } {
  const dir = mkdtempSync(join(tmpdir(), "reelforge-fake-media-"));
  try {
    const ffmpeg = (...args: string[]) =>
      execFileSync("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);
    ffmpeg(
      "-f",
      "lavfi",
      "-i",
      "color=c=blue:s=64x36:r=24:d=1",
      "-pix_fmt",
      "yuv420p",
      "-c:v",
      "libx264",
      "-movflags",
      "+faststart",
      join(dir, "clip.mp4"),
    );
    ffmpeg(
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=440:duration=1",
      "-c:a",
      "libmp3lame",
      "-b:a",
      "32k",
      join(dir, "line.mp3"),
    );
    return {
      mp4: new Uint8Array(readFileSync(join(dir, "clip.mp4"))),
      mp3: new Uint8Array(readFileSync(join(dir, "line.mp3"))),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function fakeMedia(): {
  png: Uint8Array<ArrayBuffer>;
  mp4: Uint8Array<ArrayBuffer>;
  mp3: Uint8Array<ArrayBuffer>;
} {
  cache ??= generate();
  return { png: PNG, ...cache };
}

export const MEDIA_FILES: Record<string, { type: string; bytes: () => Uint8Array }> = {
  "frame.png": { type: "image/png", bytes: () => PNG },
  "clip.mp4": { type: "video/mp4", bytes: () => fakeMedia().mp4 },
  "track.mp3": { type: "audio/mpeg", bytes: () => fakeMedia().mp3 },
  "line.mp3": { type: "audio/mpeg", bytes: () => fakeMedia().mp3 },
};

/** Film-render media: small, but of the exact requested length. */
export const FILM_CLIP_SIZE = { width: 320, height: 180 };
const sized = new Map<string, Promise<Uint8Array>>();

function ffmpegToBytes(key: string, extension: string, args: (out: string) => string[]): Promise<Uint8Array> {
  let made = sized.get(key);
  if (!made) {
    made = new Promise<Uint8Array>((resolve, reject) => {
      const dir = mkdtempSync(join(tmpdir(), "reelforge-fake-media-"));
      const out = join(dir, `media.${extension}`);
      execFile("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args(out)], (error) => {
        try {
          if (error) reject(error);
          else resolve(new Uint8Array(readFileSync(out)));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
    made.catch(() => sized.delete(key));
    sized.set(key, made);
  }
  return made;
}

/**
 * An H.264 MP4 (24 fps, no sound — like Runway's gen4 output) of exactly `seconds` (whole frames),
 * by default 320x180 of moving test pattern. A larger size is still SMPTE bars: a film of them
 * stays a few MB once rendered (moving 720p test pattern renders to about 3 Mbit/s, and a
 * 3-minute film would pass Storage's 50 MB object limit).
 */
export function clipOfSeconds(
  seconds: number,
  { width, height }: { width: number; height: number } = FILM_CLIP_SIZE,
): Promise<Uint8Array> {
  const frames = Math.max(1, Math.round(seconds * 24));
  const small = width === FILM_CLIP_SIZE.width && height === FILM_CLIP_SIZE.height;
  return ffmpegToBytes(`clip:${frames}${small ? "" : `:${width}x${height}`}`, "mp4", (out) => [
    "-f",
    "lavfi",
    "-i",
    `${small ? "testsrc2" : "smptebars"}=s=${width}x${height}:r=24`,
    "-frames:v",
    String(frames),
    "-pix_fmt",
    "yuv420p",
    "-c:v",
    "libx264",
    "-preset",
    "ultrafast",
    "-g",
    "24",
    "-movflags",
    "+faststart",
    out,
  ]);
}

/** An MP3 tone of `seconds` (tenths of a second). */
export function toneOfSeconds(seconds: number): Promise<Uint8Array> {
  const tenths = Math.max(1, Math.round(seconds * 10));
  return ffmpegToBytes(`tone:${tenths}`, "mp3", (out) => [
    "-f",
    "lavfi",
    "-i",
    `sine=frequency=330:sample_rate=44100:duration=${tenths / 10}`,
    "-c:a",
    "libmp3lame",
    "-b:a",
    "32k",
    out,
  ]);
}
