/**
 * Real media bytes for fakes to serve as provider outputs: a PNG embedded here, an MP4 and an MP3
 * made once per process with FFmpeg (tiny, but decodable, so a pipeline test can probe them).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A 1×1 opaque PNG. */
export const PNG = Uint8Array.from(Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
));

let cache: { mp4: Uint8Array; mp3: Uint8Array } | null = null;

function generate(): { mp4: Uint8Array; mp3: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), "reelforge-fake-media-"));
  try {
    const ffmpeg = (...args: string[]) => execFileSync("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args]);
    ffmpeg("-f", "lavfi", "-i", "color=c=blue:s=64x36:r=24:d=1", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-movflags", "+faststart", join(dir, "clip.mp4"));
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "libmp3lame", "-b:a", "32k", join(dir, "line.mp3"));
    return { mp4: new Uint8Array(readFileSync(join(dir, "clip.mp4"))), mp3: new Uint8Array(readFileSync(join(dir, "line.mp3"))) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function fakeMedia(): { png: Uint8Array; mp4: Uint8Array; mp3: Uint8Array } {
  cache ??= generate();
  return { png: PNG, ...cache };
}

export const MEDIA_FILES: Record<string, { type: string; bytes: () => Uint8Array }> = {
  "frame.png": { type: "image/png", bytes: () => PNG },
  "clip.mp4": { type: "video/mp4", bytes: () => fakeMedia().mp4 },
  "track.mp3": { type: "audio/mpeg", bytes: () => fakeMedia().mp3 },
  "line.mp3": { type: "audio/mpeg", bytes: () => fakeMedia().mp3 },
};
