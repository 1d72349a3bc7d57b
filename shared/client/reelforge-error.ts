/**
 * The one error the client throws. Functions answer `{ error: { code, message, details? } }`;
 * the platform answers `{ code, message }` (401 Invalid JWT, 404 NOT_FOUND, 504 on the request
 * idle timeout, 546 WORKER_LIMIT); and supabase-js hands either over unread, as the Response in a
 * FunctionsHttpError's `context`. In a browser the platform's answers, which carry no CORS
 * headers, never arrive: fetch fails, and supabase-js reports a FunctionsFetchError instead.
 */

export interface ReelforgeErrorInit {
  /** The HTTP status; 0 when no answer came back (network failure, abort). */
  status: number;
  code: string;
  message: string;
  details?: unknown;
  functionName?: string;
  action?: string;
  cause?: unknown;
}

export class ReelforgeError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  readonly functionName: string | undefined;
  readonly action: string | undefined;

  constructor(init: ReelforgeErrorInit) {
    super(init.message, { cause: init.cause });
    this.name = "ReelforgeError";
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.functionName = init.functionName;
    this.action = init.action;
  }

  /** Worth trying again later: no answer at all, or a server fault other than 501 not_implemented. */
  get isTransient(): boolean {
    return this.status === 0
      ? this.code === "platform_unreachable"
      : this.status >= 500 && this.status !== 501;
  }
}

interface ResponseLike {
  status: number;
  text(): Promise<string>;
}

const isResponseLike = (value: unknown): value is ResponseLike =>
  typeof (value as ResponseLike | null)?.status === "number" &&
  typeof (value as ResponseLike).text === "function";

/** The codes our functions use for the same statuses, so a gateway 401 reads like a function's. */
const CODE_BY_STATUS: Record<number, string> = {
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  504: "idle_timeout",
  546: "worker_limit",
};

/** The platform's own codes, spelled as ours are. */
const PLATFORM_CODES: Record<string, string> = {
  WORKER_LIMIT: "worker_limit",
  IDLE_TIMEOUT: "idle_timeout",
  NOT_FOUND: "function_not_found",
  PAYLOAD_TOO_LARGE: "payload_too_large",
  BOOT_ERROR: "boot_error",
};

async function readBody(response: ResponseLike): Promise<unknown> {
  try {
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  } catch {
    return undefined; // body already read by someone else
  }
}

function fromBody(body: unknown): { code?: string; message?: string; details?: unknown } {
  const envelope = (body as { error?: unknown } | null)?.error;
  if (envelope && typeof envelope === "object" && typeof (envelope as { code?: unknown }).code === "string") {
    const { code, message, details, ...fields } = envelope as {
      code: string;
      message?: unknown;
      details?: unknown;
    };
    // quota_exceeded carries its limit, use, max and resetsAt beside code and message: kept as details.
    return {
      code,
      message: typeof message === "string" ? message : undefined,
      details: details ?? (Object.keys(fields).length ? fields : undefined),
    };
  }
  const flat = body as { code?: unknown; message?: unknown; msg?: unknown } | null;
  const message = typeof flat?.message === "string"
    ? flat.message
    : typeof flat?.msg === "string"
    ? flat.msg
    : undefined;
  // An unrecognised body is all there is to go on: keep it.
  return {
    code: typeof flat?.code === "string" ? flat.code : undefined,
    message,
    details: message === undefined ? body : undefined,
  };
}

/** Builds a ReelforgeError from whatever `functions.invoke` returned as `error`. */
export async function reelforgeErrorFrom(
  error: unknown,
  where: { functionName: string; action: string },
): Promise<ReelforgeError> {
  const { name, message, context } = (error ?? {}) as { name?: string; message?: string; context?: unknown };
  if ((name === "FunctionsHttpError" || name === "FunctionsRelayError") && isResponseLike(context)) {
    const status = context.status;
    const body = fromBody(await readBody(context));
    return new ReelforgeError({
      ...where,
      status,
      code: (body.code && PLATFORM_CODES[body.code]) ?? body.code ??
        (name === "FunctionsRelayError" ? "relay_error" : CODE_BY_STATUS[status] ?? `http_${status}`),
      message: body.message ?? `${where.functionName} ${where.action}: HTTP ${status}`,
      details: body.details,
      cause: error,
    });
  }
  if (name === "FunctionsFetchError") {
    const causeName = (context as { name?: string } | null)?.name;
    const aborted = causeName === "AbortError" || causeName === "TimeoutError";
    const reason = (context as { message?: string } | null)?.message ?? message;
    // Not only a network fault: in a browser, a worker killed at a limit (546), a request idle
    // timeout (504) or a gateway refusal arrive without CORS headers and surface exactly so.
    return new ReelforgeError({
      ...where,
      status: 0,
      code: aborted ? "aborted" : "platform_unreachable",
      message: aborted
        ? `${where.functionName} ${where.action}: aborted`
        : `${where.functionName} ${where.action}: no readable answer (network failure, or a platform error such as a worker limit) (${reason})`,
      cause: error,
    });
  }
  return new ReelforgeError({
    ...where,
    status: 0,
    code: "invoke_failed",
    message: message ?? String(error),
    cause: error,
  });
}
