/**
 * How a worker job's error is recorded: its code and message for last_error (what poll() hands
 * back as failureCode), and whether another attempt could help.
 */
import { AppError, PermanentTaskError } from "../errors.ts";
import { ProviderError } from "../providers/provider-errors.ts";
import { MediaCommandError } from "./ffmpeg-process.ts";

export interface JobFailure {
  code: string;
  message: string;
  retryable: boolean;
}

export function describeJobFailure(error: unknown): JobFailure {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof PermanentTaskError) return { code: error.code, message, retryable: false };
  if (error instanceof ProviderError) return { code: error.failureCode, message, retryable: error.retryable };
  // A 4xx AppError (bad storage key, refused input) is the submitter's fault: retrying cannot fix it.
  if (error instanceof AppError) return { code: error.code, message, retryable: error.status >= 500 };
  if (error instanceof MediaCommandError) return { code: `${error.command}_failed`, message, retryable: true };
  return { code: "worker_job_error", message, retryable: true };
}
