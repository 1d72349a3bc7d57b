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

/** The caller behind a verified user access token (see verify-jwt.ts for what was checked). */
export function callerFromClaims(claims: Record<string, unknown>): Caller {
  const appMetadata = (claims.app_metadata ?? {}) as Record<string, unknown>;
  const isAnonymous = claims.is_anonymous === true;
  return {
    userId: String(claims.sub),
    role: String(claims.role),
    isAnonymous,
    isServiceRole: false,
    // app_metadata is written server-side only; an anonymous sign-in is never an operator.
    isOperator: !isAnonymous && appMetadata.reelforge_role === "operator",
  };
}

/** The caller a verified service-role key stands for, where a function admits one. */
export const SERVICE_ROLE_CALLER: Caller = Object.freeze({
  userId: SERVICE_ROLE_USER_ID,
  role: "service_role",
  isAnonymous: false,
  isServiceRole: true,
  isOperator: true,
});

/** Compares secrets without leaking how many leading characters matched. */
export function secretsEqual(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== "string") return false;
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
