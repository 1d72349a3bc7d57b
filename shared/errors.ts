/**
 * One error family for every function. Each error carries a stable string code and the HTTP
 * status it maps to; client faults (4xx) are told apart from server faults (5xx).
 */
/**
 * A value a caller sent, as an error message names it: in quotes, cut to `max` characters. Before,
 * a 200,000-character action or provider came back whole in its 400.
 */
export function quoted(value: unknown, max = 80): string {
  const text = String(value);
  return text.length <= max ? `"${text}"` : `"${text.slice(0, max)}…" (${text.length} characters)`;
}

export class AppError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequestError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(code, 400, message, details);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = "Sign in first: send a user access token as Authorization: Bearer <jwt>") {
    super("unauthorized", 401, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = "This resource belongs to another user") {
    super("forbidden", 403, message);
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, id: string) {
    super("not_found", 404, `${what} ${id} was not found`);
  }
}

/** 410: the task ended and was removed by retention (engine.expire_finished); answered to its owner only. */
export class TaskExpiredError extends AppError {
  constructor(what: string, id: string) {
    super(
      "task_expired",
      410,
      `${what} ${id} ended and was removed after its retention period; its results live on in the film and its assets`,
    );
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string) {
    super(code, 409, message);
  }
}

/**
 * 429: one more start would exceed a usage limit. The body names the limit, the use, the maximum
 * and when it frees up (null: when something of yours ends, e.g. a film in production).
 */
export class QuotaExceededError extends AppError {
  constructor(
    message: string,
    readonly quota: { limit: string; used: number; max: number; resetsAt: string | null },
  ) {
    super("quota_exceeded", 429, message);
  }

  /** Fields the error envelope carries beside code and message. */
  get fields() {
    return { ...this.quota, retryAfterSeconds: this.retryAfterSeconds };
  }

  /** Seconds until the limit frees up (at least 1), or null when that depends on the user. */
  get retryAfterSeconds(): number | null {
    if (!this.quota.resetsAt) return null;
    return Math.max(1, Math.ceil((new Date(this.quota.resetsAt).getTime() - Date.now()) / 1000));
  }
}

export class NotImplementedError extends AppError {
  constructor(message: string) {
    super("not_implemented", 501, message);
  }
}

/** Raised inside a slice when the task's fencing token moved on: another worker owns it now. */
export class FencedOutError extends Error {
  constructor(readonly taskId: string) {
    super(`task ${taskId} was taken over by another worker`);
    this.name = "FencedOutError";
  }
}

/**
 * Thrown by a task handler for a failure worth another attempt whose message is written for the
 * task's owner (anything not of this error family reaches them only as `internal_error`).
 */
export class RetryableTaskError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "RetryableTaskError";
  }
}

/** Thrown by a task handler for a failure that retrying cannot fix (bad payload, refused input). */
export class PermanentTaskError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "PermanentTaskError";
  }
}

/** An action reserved for the project's operators (service role or app_metadata.reelforge_role = "operator"). */
export class OperatorOnlyError extends AppError {
  constructor(what: string) {
    super(
      "operator_only",
      403,
      `${what} is an operator tool: call it with the service role key or an operator's token`,
    );
  }
}

/**
 * A server-side fetch or connection the caller asked for that would reach somewhere it must not
 * (a private or metadata address, a port or scheme not allowed, a redirect). Refused before any
 * socket is opened.
 */
export class TargetNotAllowedError extends AppError {
  constructor(message: string) {
    super("target_not_allowed", 400, message);
  }
}

/**
 * A failure that says itself how a task records it: whether another attempt could help, and the
 * fields its owner reads (a provider's name, HTTP status and failure code). The engine classifies
 * failures through this interface (engine/task-error.ts), so it never imports a capability's
 * error class; ProviderError (providers/provider-errors.ts) is the one that implements it.
 */
export interface ClassifiedFailure {
  readonly message: string;
  /** Worth another attempt later; false makes the failure permanent. */
  readonly retryable: boolean;
  /** Transport detail for the function log only. */
  readonly cause?: unknown;
  /** What the owner reads in last_error: a stable `code` and the failure's own fields. */
  failureRecord(): { code: string } & Record<string, unknown>;
}

/** Whether `error` classifies itself (ClassifiedFailure). */
export function isClassifiedFailure(error: unknown): error is Error & ClassifiedFailure {
  const candidate = error as Partial<ClassifiedFailure> | null;
  return error instanceof Error && typeof candidate?.retryable === "boolean" &&
    typeof candidate.failureRecord === "function";
}
