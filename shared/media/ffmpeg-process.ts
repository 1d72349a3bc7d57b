/**
 * Runs ffmpeg/ffprobe as child processes through node:child_process, so the same code works
 * under Deno (the worker) and Node (vitest). An aborted signal kills the child at once: a worker
 * that lost its lease must not keep burning CPU on a job someone else now owns.
 */
import { spawn } from "node:child_process";

export interface MediaCommandOptions {
  signal?: AbortSignal;
  cwd?: string;
  /** Called with the child's pid once it runs (the benchmark samples its memory). */
  onSpawn?: (pid: number) => void;
}

export interface MediaCommandResult {
  stdout: string;
  stderr: string;
}

/**
 * A failed ffmpeg/ffprobe run; keeps the end of stderr, where FFmpeg says what went wrong. A run
 * killed by a signal (exitCode null) says nothing of its input: the process was stopped.
 */
export class MediaCommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderrTail: string,
    readonly signal: string | null = null,
  ) {
    super(`${command} ${howItEnded(exitCode, signal)}: ${stderrTail}`);
    this.name = "MediaCommandError";
  }

  /** "ffprobe was killed by SIGTERM", "ffmpeg exited with 1": how the run ended, without its output. */
  get ending(): string {
    return `${this.command} ${howItEnded(this.exitCode, this.signal)}`;
  }
}

const howItEnded = (exitCode: number | null, signal: string | null) =>
  exitCode === null ? `was killed by ${signal ?? "a signal"}` : `exited with ${exitCode}`;

const STDERR_KEEP = 64 * 1024;

export function runMediaCommand(
  command: "ffmpeg" | "ffprobe",
  args: string[],
  options: MediaCommandOptions = {},
): Promise<MediaCommandResult> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason ?? new Error("aborted"));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    const stdout: Buffer[] = [];
    let stderr = "";
    child.stdout!.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr!.on("data", (chunk: Buffer) => {
      // loudnorm's JSON is printed last; keeping the tail bounds memory on chatty runs.
      stderr = (stderr + chunk.toString("utf8")).slice(-STDERR_KEEP);
    });
    const onAbort = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", onAbort, { once: true });
    child.on("error", (error) => {
      signal?.removeEventListener("abort", onAbort);
      reject(error);
    });
    child.on("close", (code, killedBy) => {
      signal?.removeEventListener("abort", onAbort);
      if (signal?.aborted) return reject(signal.reason ?? new Error(`${command} aborted`));
      if (code !== 0) {
        const tail = stderr.trim().split("\n").slice(-12).join("\n");
        return reject(new MediaCommandError(command, code, tail, killedBy));
      }
      resolve({ stdout: Buffer.concat(stdout).toString("utf8"), stderr });
    });
  });
}

/** The arguments every ffmpeg run starts with: quiet, no prompts, overwrite the scratch output. */
export const FFMPEG_BASE_ARGS = ["-hide_banner", "-nostdin", "-y", "-loglevel", "info"];
