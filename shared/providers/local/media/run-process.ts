/**
 * Runs FFmpeg and espeak-ng as child processes for local media jobs: killed when the job's signal
 * aborts (lease lost, worker shutting down), failing with the tail of stderr. (The render worker's
 * runMediaCommand takes only ffmpeg/ffprobe; probing goes through its probeMedia.)
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
      else if (!signal.aborted) {
        reject(
          new Error(`${command} exited with ${code}: ${stderr.trim().split("\n").slice(-4).join(" | ")}`),
        );
      }
    });
  });
}
