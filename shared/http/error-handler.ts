import type { Context } from "hono";
import { UserNotFoundError } from "../auth/auth-errors.ts";
import { isMissingUserViolation } from "../db/missing-user.ts";
import { AppError, QuotaExceededError } from "../errors.ts";

/** Turns any error into the `{ error: { code, message } }` envelope; unknown ones are logged, never echoed. */
export function respondWithError(thrown: unknown, c: Context): Response {
  // Tokens are verified without a database read, so a deleted account's token gets this far; the
  // foreign key on its first write is what notices, and that write's transaction rolls back.
  const error = isMissingUserViolation(thrown) ? new UserNotFoundError() : thrown;
  if (error instanceof AppError) {
    const body: Record<string, unknown> = { code: error.code, message: error.message };
    if (error.details !== undefined) body.details = error.details;
    if (error instanceof QuotaExceededError) {
      Object.assign(body, error.fields);
      if (error.retryAfterSeconds !== null) c.header("Retry-After", String(error.retryAfterSeconds));
    }
    return c.json({ error: body }, error.status as 400);
  }
  const requestId = crypto.randomUUID();
  console.error(JSON.stringify({
    event: "internal_error",
    requestId,
    message: error instanceof Error ? error.message : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  }));
  return c.json({ error: { code: "internal_error", message: `Internal error (request ${requestId})` } }, 500);
}
