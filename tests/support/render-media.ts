/**
 * Test media made with FFmpeg's lavfi sources, put in the local stack's Storage (its HTTP API, as
 * functions and the worker use it) so jobs fetch them like real inputs, and measurements of rendered files (duration, onset, loudness,
 * frames) read back with FFmpeg itself.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { objectOfUrl } from "../../shared/storage/signed-urls.ts";
import { ensureBucket, stackStorage } from "./stack-storage.ts";

const ffmpeg = (args: string[]) =>
  execFileSync("ffmpeg", ["-hide_banner", "-nostdin", "-y", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 64 << 20,
  });
const ffmpegStderr = (args: string[]) => {
  const result = spawnSync("ffmpeg", ["-hide_banner", "-nostdin", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
    maxBuffer: 64 << 20,
  });
  if (result.status !== 0) throw new Error(`ffmpeg failed: ${result.stderr?.toString().slice(-800)}`);
  return result.stderr.toString();
};

export interface ClipSpec {
  seconds: number;
  fps?: number;
  size?: string;
  /** "silent": an audio stream of silence; "none": no audio stream; a number: a tone at that Hz. */
  audio?: "silent" | "none" | number;
  source?: "testsrc2" | "mandelbrot" | "smptebars";
}

/** An H.264/AAC clip, by default 320x180 at 24 fps. */
export function makeClip(dir: string, name: string, spec: ClipSpec): string {
  const file = join(dir, name);
  const fps = spec.fps ?? 24;
  const video = [
    "-f",
    "lavfi",
    "-i",
    `${spec.source ?? "testsrc2"}=size=${spec.size ?? "320x180"}:rate=${fps}`,
  ];
  const audio = spec.audio === "none" ? [] : [
    "-f",
    "lavfi",
    "-i",
    typeof spec.audio === "number"
      ? `sine=frequency=${spec.audio}:sample_rate=48000`
      : "anullsrc=r=48000:cl=stereo",
  ];
  ffmpeg([
    ...video,
    ...audio,
    "-t",
    String(spec.seconds),
    "-c:v",
    "libx264",
    "-preset",
    "veryfast",
    "-pix_fmt",
    "yuv420p",
    ...(audio.length ? ["-c:a", "aac", "-ac", "2"] : []),
    file,
  ]);
  return file;
}

/** A tone of `seconds`, e.g. a dialogue line (loud, easy to find) or music. */
export function makeTone(dir: string, name: string, seconds: number, hz: number, volumeDb = 0): string {
  const file = join(dir, name);
  ffmpeg([
    "-f",
    "lavfi",
    "-i",
    `sine=frequency=${hz}:sample_rate=44100`,
    "-t",
    String(seconds),
    "-af",
    `volume=${volumeDb}dB`,
    "-ac",
    "1",
    file,
  ]);
  return file;
}

const buckets = new Map<string, Promise<void>>();

/**
 * Puts a file into the running stack's Storage (creating a test bucket, private, on first use);
 * returns its address (the public-URL shape the functions store; a private object's does not serve).
 */
export async function publish(
  file: string,
  bucket: string,
  path: string,
  contentType: string,
): Promise<string> {
  if (!buckets.has(bucket)) buckets.set(bucket, ensureBucket(bucket));
  await buckets.get(bucket);
  const storage = stackStorage();
  await storage.upload(bucket, path, readFileSync(file), { contentType, upsert: true });
  return storage.publicUrl(bucket, path);
}

/** Saves a URL's bytes to `file`: our objects through the Storage API with the service role, anything else by GET. */
export async function download(url: string, file: string): Promise<string> {
  const storage = stackStorage();
  const ours = objectOfUrl(storage, url);
  let bytes: Uint8Array;
  if (ours) {
    const body = await storage.download(ours.bucket, ours.path);
    if (!body) throw new Error(`${ours.bucket}/${ours.path} is not in Storage`);
    bytes = body;
  } else {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  }
  (await import("node:fs")).writeFileSync(file, bytes);
  return file;
}

/** The container's duration, what a player shows. */
export function durationOf(file: string): number {
  const out = execFileSync("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "format=duration",
    "-of",
    "csv=p=0",
    file,
  ]).toString();
  return Number(out.trim());
}

export function videoStartTime(file: string): number {
  const out = execFileSync("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "v:0",
    "-show_entries",
    "stream=start_time",
    "-of",
    "csv=p=0",
    file,
  ]).toString();
  return Number(out.trim());
}

/**
 * Seconds from the first picture to the first sound above -40 dBFS, on the file's own timestamps;
 * `highpassHz` hears only the dialogue tone over low music.
 */
export function soundOnsetSeconds(file: string, highpassHz?: number): number {
  const pass = highpassHz
    ? `highpass=f=${highpassHz},highpass=f=${highpassHz},highpass=f=${highpassHz},`
    : "";
  const stderr = ffmpegStderr([
    "-i",
    file,
    "-map",
    "0:a",
    "-af",
    `${pass}silencedetect=noise=-40dB:duration=0.05`,
    "-f",
    "null",
    "-",
  ]);
  const end = stderr.match(/silence_end: ([\d.]+)/);
  if (!end) throw new Error("no sound found in the output");
  return Number(end[1]) - videoStartTime(file);
}

/** RMS level (dBFS) of the sound below `lowpassHz` between two times: the music without the dialogue tone. */
export function lowBandLevelDb(
  file: string,
  startSeconds: number,
  endSeconds: number,
  lowpassHz: number,
): number {
  const chain =
    `atrim=start=${startSeconds}:end=${endSeconds},lowpass=f=${lowpassHz},lowpass=f=${lowpassHz},lowpass=f=${lowpassHz},astats`;
  const stderr = ffmpegStderr(["-i", file, "-map", "0:a", "-af", chain, "-f", "null", "-"]);
  return Number(stderr.slice(stderr.lastIndexOf("Overall")).match(/RMS level dB: (-?[\d.]+)/)![1]);
}

/** Integrated loudness (LUFS) as ebur128 measures it. */
export function integratedLoudness(file: string): number {
  const stderr = ffmpegStderr(["-i", file, "-map", "0:a", "-af", "ebur128", "-f", "null", "-"]);
  const summary = stderr.slice(stderr.lastIndexOf("Summary:"));
  return Number(summary.match(/I:\s+(-?[\d.]+) LUFS/)![1]);
}

/** md5 of every decoded frame as rgb24, in order. */
export function frameHashes(file: string): string[] {
  const out = ffmpeg([
    "-loglevel",
    "error",
    "-i",
    file,
    "-map",
    "0:v:0",
    "-fps_mode",
    "passthrough",
    "-pix_fmt",
    "rgb24",
    "-f",
    "framemd5",
    "-",
  ]).toString();
  return out.split("\n").filter((line) => line && !line.startsWith("#")).map((line) =>
    line.split(",").pop()!.trim()
  );
}

export function frameCount(file: string): number {
  return frameHashes(file).length;
}

/** The loudest sample of the file's sound (dBFS, volumedetect); -91 is digital silence. */
export function maxVolumeDb(file: string): number {
  const stderr = ffmpegStderr(["-i", file, "-map", "0:a", "-af", "volumedetect", "-f", "null", "-"]);
  return Number(stderr.match(/max_volume: (-?[\d.]+) dB/)![1]);
}
