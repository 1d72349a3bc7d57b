/** What the render planner needs to know about an input file, read with ffprobe. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { extname } from "node:path";
import { type MediaCommandOptions, runMediaCommand } from "./ffmpeg-process.ts";

export interface VideoStreamInfo {
  codec: string;
  profile: string | null;
  pixFmt: string | null;
  width: number;
  height: number;
  /** r_frame_rate as a number, e.g. 24 or 29.97. */
  fps: number;
  /** As ffprobe prints it, e.g. "1/12288": concat -c copy needs it identical across clips. */
  timeBase: string;
  frames: number;
}

export interface AudioStreamInfo {
  codec: string;
  sampleRate: number;
  channels: number;
}

export interface MediaInfo {
  durationSeconds: number;
  video: VideoStreamInfo | null;
  audio: AudioStreamInfo | null;
}

const ratio = (text: string | undefined) => {
  const [num, den] = (text ?? "0/1").split("/").map(Number);
  return den ? num / den : num;
};

/**
 * A probe's answer is a function of the file's bytes (and its extension, which FFmpeg may use to
 * guess a format), so a process that met the same bytes before answers from memory. A render
 * worker meets them again and again: the clip it just made is the next job's input, and every
 * assembly reads all of a film's clips. Each ffprobe run costs about 0.15 s of CPU before it reads
 * a byte (Debian's FFmpeg loads some 200 libraries); reading the file for its digest costs a few
 * milliseconds. Only answers are kept: a failed or stopped probe runs again next time.
 */
const PROBES_KEPT = 512;
const probes = new Map<string, MediaInfo>();

async function probeKey(path: string, signal: AbortSignal | undefined): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { signal })) hash.update(chunk);
  return `${hash.digest("hex")}${extname(path).toLowerCase()}`;
}

/** Probes a local file; counts video packets when the container has no frame count. */
export async function probeMedia(path: string, options: MediaCommandOptions = {}): Promise<MediaInfo> {
  // A file that cannot be read is ffprobe's to report, as it always was.
  const key = await probeKey(path, options.signal).catch(() => null);
  if (key === null) return runProbe(path, options);
  const known = probes.get(key);
  if (known) {
    probes.delete(key); // kept longest: the most recently used
    probes.set(key, known);
    return structuredClone(known);
  }
  const info = await runProbe(path, options);
  probes.set(key, info);
  if (probes.size > PROBES_KEPT) probes.delete(probes.keys().next().value!);
  return structuredClone(info);
}

async function runProbe(path: string, options: MediaCommandOptions): Promise<MediaInfo> {
  const args = ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path];
  let info = JSON.parse((await runMediaCommand("ffprobe", args, options)).stdout);
  const needsCount = info.streams?.some((s: { codec_type: string; nb_frames?: string }) =>
    s.codec_type === "video" && !Number(s.nb_frames)
  );
  if (needsCount) {
    info = JSON.parse((await runMediaCommand("ffprobe", ["-count_packets", ...args], options)).stdout);
  }
  // deno-lint-ignore no-explicit-any
  const streams: any[] = info.streams ?? [];
  const v = streams.find((s) => s.codec_type === "video" && s.disposition?.attached_pic !== 1);
  const a = streams.find((s) => s.codec_type === "audio");
  return {
    durationSeconds: Number(info.format?.duration ?? 0),
    video: v
      ? {
        codec: v.codec_name,
        profile: v.profile ?? null,
        pixFmt: v.pix_fmt ?? null,
        width: v.width,
        height: v.height,
        fps: ratio(v.r_frame_rate),
        timeBase: v.time_base,
        frames: Number(v.nb_frames) || Number(v.nb_read_packets) || 0,
      }
      : null,
    audio: a ? { codec: a.codec_name, sampleRate: Number(a.sample_rate), channels: a.channels } : null,
  };
}
