/**
 * What a clone job's status says about its failure: a code and a message written for operators
 * reading a dashboard, never the raw driver, SQL or network text (that went to the function log
 * with the job id when it happened: slice-runner's task_error event).
 */

/** Codes whose messages the clone writes itself from its own facts (object and table names of the job). */
const OWN_MESSAGES = new Set([
  "target_is_source",
  "target_not_empty",
  "target_cannot_host",
  "verify_failed",
  "schema_not_allowed",
  "unknown_schema",
  "schema_incomplete",
  "rows_refused",
  "target_not_allowed",
]);

/** Fixed messages for the rest; anything not listed becomes clone_error. */
const FIXED: Record<string, string> = {
  target_unreachable:
    "Could not connect to the target database (address, credentials or network); check targetUrl and retry with resume",
  target_unresolvable: "The target's host name does not resolve",
  target_refuses_tls:
    "The target database does not accept TLS connections, and targetUrl's sslmode asks for one",
  target_storage_refused:
    "The target's Storage API refused a request (check targetStorage's URL and service role key)",
  target_storage_unavailable: "The target's Storage API failed; the job retries",
  storage_not_configured: "includeStorage needs this project's Storage and options.targetStorage",
  worker_lost: "The worker running the job stopped; the job resumes by itself",
  cancelled: "The job was cancelled",
};

/** The failure to show for a clone job's last_error ({ code, message } as the engine stores it), or null. */
export function describeCloneError(
  lastError: unknown,
  jobId: string,
): { code: string; message: string } | null {
  if (lastError === null || lastError === undefined) return null;
  const { code, message } = (typeof lastError === "object" ? lastError : {}) as {
    code?: unknown;
    message?: unknown;
  };
  if (typeof code === "string" && OWN_MESSAGES.has(code) && typeof message === "string") {
    return { code, message: message.slice(0, 2000) };
  }
  if (typeof code === "string" && code in FIXED) return { code, message: FIXED[code] };
  return {
    code: "clone_error",
    message:
      `The clone hit an error (retried until attempts run out); operators find the details in the clone-database log under job ${jobId}`,
  };
}
