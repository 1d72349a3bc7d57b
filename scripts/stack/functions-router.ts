/**
 * /functions/v1/<name>[/rest] as the Supabase edge gateway does it: 404 for unknown functions,
 * JWT verification when the function asks for it, then the request goes to the function's worker
 * with `/functions/v1` stripped from the path. CORS is the function's business, preflight
 * included: the platform's own answers (404, 401, 413, 504, 546) carry no CORS headers, so a
 * browser sees them as network failures, as it does on hosted.
 */
import type { FunctionRegistry } from "./function-registry.ts";
import type { WorkerPool } from "./worker-pool.ts";

export const FUNCTIONS_PREFIX = "/functions/v1/";

const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-allow-headers": "authorization, x-client-info, apikey, content-type",
  "access-control-allow-methods": "GET, POST, PUT, PATCH, DELETE, OPTIONS",
};

/** Copies `response` with the CORS headers added (fetch responses have immutable headers). */
export function withCors(response: Response): Response {
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(CORS_HEADERS)) {
    if (!headers.has(name)) headers.set(name, value);
  }
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

/**
 * `verifyJwt` accepts what the hosted check accepts: the legacy HS256 keys and tokens, and tokens
 * signed with the project's asymmetric key (the stack's JWKS). Functions registered with
 * verify_jwt = false (all of ours: they verify callers themselves) skip it.
 */
export function createFunctionsRouter(
  deps: { registry: FunctionRegistry; pool: WorkerPool; verifyJwt: (token: string) => Promise<unknown> },
) {
  return async function routeFunctionRequest(request: Request, pathname: string): Promise<Response> {
    const workerPath = pathname.slice(FUNCTIONS_PREFIX.length - 1);
    const name = workerPath.split("/")[1];
    const fn = name ? deps.registry.lookup(name) : undefined;
    if (!fn) {
      return Response.json({ code: "NOT_FOUND", message: "Requested function was not found" }, {
        status: 404,
      });
    }
    // A preflight carries no Authorization header; it goes to the function, whose CORS answers it.
    if (fn.verifyJwt && request.method !== "OPTIONS") {
      const failure = await checkAuthorization(request.headers.get("authorization"), deps.verifyJwt);
      if (failure) return Response.json({ code: 401, message: failure }, { status: 401 });
    }
    return await deps.pool.forward(fn, request, workerPath);
  };
}

async function checkAuthorization(
  header: string | null,
  verifyJwt: (token: string) => Promise<unknown>,
): Promise<string | null> {
  if (!header) return "Missing authorization header";
  const token = header.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) return "Invalid JWT";
  try {
    await verifyJwt(token);
    return null;
  } catch {
    return "Invalid JWT";
  }
}
