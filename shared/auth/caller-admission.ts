/**
 * Who a function lets in, decided from a verified principal before any action runs. Ordinary
 * functions serve signed-in users only (API keys are not callers there); operator functions
 * (clone-database) serve the service role and users whose verified app_metadata makes them
 * operators, and nobody else.
 */
import { UnauthorizedError } from "../errors.ts";
import { OperatorOnlyError } from "./auth-errors.ts";
import type { Principal } from "./authenticate.ts";
import { type Caller, callerFromClaims, SERVICE_ROLE_CALLER } from "./caller.ts";

export type Admission = "users" | "operators";

/** The caller for this principal under the function's admission, or the 401/403 that refuses it. */
export function admitCaller(principal: Principal | null, admission: Admission, functionName: string): Caller {
  if (principal === null) throw new UnauthorizedError();
  if (admission === "operators") {
    if (principal.kind === "service_role") return { ...SERVICE_ROLE_CALLER };
    const caller = principal.kind === "user" ? callerFromClaims(principal.claims) : null;
    if (!caller?.isOperator) throw new OperatorOnlyError(functionName);
    return caller;
  }
  if (principal.kind !== "user") {
    throw new UnauthorizedError(
      "This action needs a signed-in user's access token (Authorization: Bearer <jwt>), not an API key",
    );
  }
  return callerFromClaims(principal.claims);
}
