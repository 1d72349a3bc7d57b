/**
 * Tokens for unit tests of function apps built with TEST_AUTH_ENV: legacy HS256 user tokens
 * shaped as GoTrue issues them (iss, aud, exp), trusted through REELFORGE_LEGACY_JWT_SECRET.
 */
import { signJwt } from "../../scripts/stack/jwt.ts";

export const TEST_JWT_SECRET = "test-secret-with-at-least-32-characters!!";
export const TEST_SUPABASE_URL = "http://127.0.0.1:1";
export const TEST_USER_ID = "3f0c2a9e-6a57-4d0a-9a47-2f4b9f2c1d11";

/** The auth part of a function env: a JWKS URL nothing answers, the legacy secret set. */
export const TEST_AUTH_ENV = {
  SUPABASE_URL: TEST_SUPABASE_URL,
  REELFORGE_LEGACY_JWT_SECRET: TEST_JWT_SECRET,
};

/** A valid legacy user access token; `claims` override or add claims (e.g. is_anonymous). */
export function legacyUserToken(
  claims: Record<string, unknown> = {},
  secret = TEST_JWT_SECRET,
): Promise<string> {
  return signJwt({
    iss: `${TEST_SUPABASE_URL}/auth/v1`,
    sub: TEST_USER_ID,
    role: "authenticated",
    aud: "authenticated",
    exp: Math.floor(Date.now() / 1000) + 600,
    ...claims,
  }, secret);
}
