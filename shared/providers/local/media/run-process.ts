/**
 * Runs FFmpeg / espeak-ng / ffprobe as child processes for worker jobs: killed when the job's
 * signal aborts (lease lost, worker shutting down), failing with the tail of stderr.
 */
import { spawn } from "node:child_process";

export interface ProcessResult {
  stdout: string;
}

const STDERR_TAIL = 2000;

export function runProcess(command: string, args: string[], signal: AbortSignal): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error(`${command} not started: job aborted`));
    // SIGKILL: FFmpeg may linger over a graceful SIGTERM while it flushes a file nobody wants.
    const child = spawn(command, args, { signal, killSignal: "SIGKILL", stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr = (stderr + chunk).slice(-STDERR_TAIL)));
    child.on("error", (error: Error & { code?: string }) => {
      if (error.name === "AbortError") reject(new Error(`${command} killed: job aborted`));
      else if (error.code === "ENOENT") reject(new Error(`${command} is not installed on this worker`));
      else reject(error);
    });
    child.on("close", (code) => {
      if (code === 0) resolve({ stdout });
      else if (!signal.aborted) reject(new Error(`${command} exited with ${code}: ${stderr.trim().split("\n").slice(-4).join(" | ")}`));
    });
  });
}

export interface MediaProbe {
  durationSeconds: number;
  video: { width: number; height: number; codec: string; pixFmt: string; frames: number | null } | null;
  audio: { codec: string; sampleRate: number } | null;
}

/** The facts a job reports (and tests check): duration, streams, dimensions. */
export async function probeMedia(file: string, signal: AbortSignal): Promise<MediaProbe> {
  const { stdout } = await runProcess("ffprobe", [
    "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-count_packets", file,
  ], signal);
  // deno-lint-ignore no-explicit-any
  const info = JSON.parse(stdout) as { format: { duration?: string }; streams: any[] };
  const video = info.streams.find((s) => s.codec_type === "video");
  const audio = info.streams.find((s) => s.codec_type === "audio");
  return {
    durationSeconds: Number(info.format.duration ?? video?.duration ?? audio?.duration ?? 0),
    video: video
      ? { width: video.width, height: video.height, codec: video.codec_name, pixFmt: video.pix_fmt, frames: video.nb_read_packets ? Number(video.nb_read_packets) : null }
      : null,
    audio: audio ? { codec: audio.codec_name, sampleRate: Number(audio.sample_rate) } : null,
  };
}
