/**
 * Who calls the stack's Storage API, as Storage decides it from the `authorization` bearer (or,
 * without one, the `apikey` header): the service role key or secret key acts as service_role (all
 * of Storage, RLS bypassed); the anon or publishable key as anon; any other token must be one this
 * project signed (user tokens: authenticated), else it is refused as Storage refuses a bad JWT.
 */
import type { Caller } from "./storage-db.ts";
import { storageErrors } from "./storage-errors.ts";

export interface CallerOptions {
  serviceRoleKeys: string[];
  anonKeys: string[];
  /** Claims of a token this project signed, or throws. */
  verifyJwt: (token: string) => Promise<Record<string, unknown>>;
}

export function createCallerResolver({ serviceRoleKeys, anonKeys, verifyJwt }: CallerOptions) {
  return async function callerOf(request: Request): Promise<Caller> {
    const bearer = request.headers.get("authorization")?.match(/^Bearer\s+(.+)$/i)?.[1];
    const token = bearer ?? request.headers.get("apikey");
    if (!token) throw storageErrors.missingAuthorization();
    if (serviceRoleKeys.includes(token)) return { role: "service_role", claims: { role: "service_role" } };
    if (anonKeys.includes(token)) return { role: "anon", claims: { role: "anon" } };
    let claims: Record<string, unknown>;
    try {
      claims = await verifyJwt(token);
    } catch (error) {
      throw storageErrors.accessDenied((error as Error).message || "invalid signature");
    }
    const role = claims.role === "service_role" || claims.role === "authenticated" ? claims.role : "anon";
    return { role, claims };
  };
}

export type CallerResolver = ReturnType<typeof createCallerResolver>;
