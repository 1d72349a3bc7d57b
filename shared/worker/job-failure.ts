/**
 * How a worker job's error is recorded: its code and message for last_error (what poll() hands
 * back as failureCode, and what a scene's error_message may quote), and whether another attempt
 * could help. Only errors raised on purpose keep their message; FFmpeg's stderr and anything
 * unexpected go to the worker's log (`internal`) under the task id.
 */
import { classifyTaskError, rawDetail } from "../engine/task-error.ts";
import { MediaCommandError } from "../media/ffmpeg-process.ts";

export interface JobFailure {
  code: string;
  message: string;
  retryable: boolean;
  /** Raw detail for the worker's log only. */
  internal: Record<string, unknown> | null;
}

export function describeJobFailure(error: unknown, taskId: string): JobFailure {
  if (error instanceof MediaCommandError) {
    return {
      code: `${error.command}_failed`,
      message: `${error.ending}; its output was logged as ${taskId}`,
      retryable: true,
      internal: rawDetail(error),
    };
  }
  const { error: shown, permanent, internal } = classifyTaskError(error, taskId);
  // A provider's failure is polled back by its failure code.
  const code = shown.code === "provider_error" ? String(shown.failureCode) : shown.code;
  return { code, message: shown.message, retryable: !permanent, internal };
}
