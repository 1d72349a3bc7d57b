import { UnauthorizedError } from "../errors.ts";

/** Who is calling, as verified from the request's credentials. */
export interface Caller {
  /** The signed-in user; for a service-role call (only where a function admits one), the nil UUID. */
  userId: string;
  role: string;
  /** An anonymous sign-in (`is_anonymous: true`): may read its own things, may not spend. */
  isAnonymous: boolean;
  /** The project's service-role key (legacy service_role JWT or an sb_secret_ key). */
  isServiceRole: boolean;
  /** Service role, or a user whose verified app_metadata.reelforge_role is "operator". */
  isOperator: boolean;
}

export const SERVICE_ROLE_USER_ID = "00000000-0000-0000-0000-000000000000";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The signed-in user behind a request. The platform gateway has already verified the JWT's
 * signature and expiry (verify_jwt = true in config.toml); this reads its claims and insists on a
 * user token, not the anon or service key.
 */
export function callerFromAuthorization(header: string | undefined | null): Caller {
  const token = header?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!token) throw new UnauthorizedError("Missing Authorization: Bearer <jwt> header");
  const claims = decodeJwtClaims(token);
  if (!claims) throw new UnauthorizedError("Authorization header does not carry a readable JWT");
  if (claims.role !== "authenticated" || typeof claims.sub !== "string" || !UUID.test(claims.sub)) {
    throw new UnauthorizedError("This action needs a signed-in user's access token, not an API key");
  }
  const appMetadata = (claims.app_metadata ?? {}) as Record<string, unknown>;
  return {
    userId: claims.sub,
    role: claims.role,
    isAnonymous: claims.is_anonymous === true,
    isServiceRole: false,
    isOperator: appMetadata.reelforge_role === "operator",
  };
}

function decodeJwtClaims(token: string): Record<string, unknown> | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0))));
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

/** Compares secrets without leaking how many leading characters matched. */
export function secretsEqual(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
