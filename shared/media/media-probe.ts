/** What the render planner needs to know about an input file, read with ffprobe. */
import { type MediaCommandOptions, runMediaCommand } from "./ffmpeg-process.ts";
import { keptByBytes } from "./kept-by-bytes.ts";

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
 * Probes a local file; counts video packets when the container has no frame count. Bytes probed
 * before in this process are answered from memory (kept-by-bytes.ts).
 */
export function probeMedia(path: string, options: MediaCommandOptions = {}): Promise<MediaInfo> {
  return keptByBytes(path, "probe", options.signal, () => runProbe(path, options));
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
