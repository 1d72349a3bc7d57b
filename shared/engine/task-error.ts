/**
 * What a task's owner may read about a failure. last_error, step results, scene and film error
 * messages are readable by the owner (status actions, RLS, Realtime), so they hold only errors we
 * raise on purpose — the AppError family, PermanentTaskError, RetryableTaskError, and failures
 * that classify themselves (ClassifiedFailure, e.g. a provider's) — whose messages are written for
 * users. Anything else (a driver or SQL error, a TypeError from our code, a network failure)
 * becomes `internal_error` naming the task id, and its raw text and stack go to the function log
 * under that id, where an operator finds it.
 */
import { AppError, isClassifiedFailure, PermanentTaskError, RetryableTaskError } from "../errors.ts";
import { SecretUnreadableError } from "../crypto/secret-box.ts";

/** The error as the owner sees it. */
export type UserFacingError = { code: string; message: string; retryable: boolean } & Record<string, unknown>;

export interface ClassifiedError {
  /** Retrying cannot help (refused input, a provider's refusal). */
  permanent: boolean;
  error: UserFacingError;
  /** Raw detail for the function log only; null when the user-facing error says it all. */
  internal: Record<string, unknown> | null;
}

/** The message an owner reads for an error we did not raise on purpose. */
export function internalErrorMessage(taskId: string): string {
  return `An internal error stopped this step; it was logged as ${taskId}`;
}

/** Sorts an error thrown inside task `taskId` into what the owner reads and what only the log gets. */
export function classifyTaskError(error: unknown, taskId: string): ClassifiedError {
  if (isClassifiedFailure(error)) {
    // The failure's own words (a provider's refusal reason) are kept; transport detail was put in `cause`.
    return {
      permanent: !error.retryable,
      error: { ...error.failureRecord(), message: error.message, retryable: error.retryable },
      internal: error.cause === undefined ? null : rawDetail(error.cause),
    };
  }
  if (error instanceof PermanentTaskError) {
    return {
      permanent: true,
      error: { code: error.code, message: error.message, retryable: false },
      // What it was raised for, when that was another error (a server's own words): the log's only.
      internal: error.cause === undefined ? null : rawDetail(error.cause),
    };
  }
  if (error instanceof RetryableTaskError) {
    return {
      permanent: false,
      error: { code: error.code, message: error.message, retryable: true },
      internal: null,
    };
  }
  if (error instanceof AppError) {
    const permanent = error.status < 500;
    return {
      permanent,
      error: { code: error.code, message: error.message, retryable: !permanent },
      internal: null,
    };
  }
  if (error instanceof SecretUnreadableError) {
    return {
      permanent: false,
      error: {
        code: "secret_unreadable",
        message: "A secret stored for this task cannot be opened with the configured encryption keys",
        retryable: true,
      },
      internal: rawDetail(error),
    };
  }
  return {
    permanent: false,
    error: { code: "internal_error", message: internalErrorMessage(taskId), retryable: true },
    internal: rawDetail(error),
  };
}

/**
 * classifyTaskError, logging the raw detail (console.error, one JSON line keyed by the task id)
 * when there is any: for code that writes an error where the owner can read it.
 */
export function reportTaskError(error: unknown, task: { id: string; kind?: string }): ClassifiedError {
  const classified = classifyTaskError(error, task.id);
  if (classified.internal) {
    console.error(
      JSON.stringify({
        event: "task_internal_error",
        taskId: task.id,
        kind: task.kind,
        code: classified.error.code,
        error: classified.internal,
      }),
    );
  }
  return classified;
}

/** What the log keeps of a raw error: its name, message, stack and a driver's fields, never its parameters. */
export function rawDetail(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const fields = error as Error & Record<string, unknown>;
  const detail: Record<string, unknown> = { name: error.name, message: error.message };
  // postgres.js errors (PostgresError) and Node/Deno system errors carry these.
  for (
    const key of [
      "code",
      "errno",
      "severity",
      "detail",
      "hint",
      "where",
      "schema_name",
      "table_name",
      "constraint_name",
      "routine",
    ]
  ) {
    if (fields[key] !== undefined && fields[key] !== null) detail[key] = fields[key];
  }
  if (error.stack) detail.stack = error.stack.split("\n").slice(0, 12).join("\n");
  if (error.cause !== undefined) detail.cause = rawDetail(error.cause);
  return detail;
}

/** Logs an error's raw detail under its task id, for code that answers the owner with its own words. */
export function logRawTaskError(error: unknown, task: { id: string; kind?: string }, code: string): void {
  console.error(
    JSON.stringify({
      event: "task_internal_error",
      taskId: task.id,
      kind: task.kind,
      code,
      error: rawDetail(error),
    }),
  );
}

const CONNECT_REASONS: Record<string, string> = {
  "28P01": "authentication failed",
  "28000": "authentication refused",
  "3D000": "no such database",
  "53300": "too many connections",
  "57P03": "the server is starting up or shutting down",
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host lookup failed",
  ETIMEDOUT: "timed out",
  CONNECT_TIMEOUT: "timed out",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
};

/** A connection failure in words a user may read (no host, user or server text), from the driver's code. */
export function connectFailureReason(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" && Object.hasOwn(CONNECT_REASONS, code)
    ? CONNECT_REASONS[code]
    : "connection failed";
}
