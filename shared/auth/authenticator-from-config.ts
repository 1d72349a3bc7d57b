/**
 * The authenticator a function builds once per worker from its configuration: one JWKS cache
 * (so keys are fetched once per worker, not per request), the legacy secret when set, and the
 * project's API keys as the platform passes them.
 */
import type { Config } from "../config.ts";
import { keysFromDictionary } from "./api-keys.ts";
import { type Authenticator, createAuthenticator } from "./authenticate.ts";
import { createJwksCache, type Jwk, parseJwks } from "./jwks-cache.ts";
import { createJwtVerifier } from "./verify-jwt.ts";

type AuthConfig = Pick<
  Config,
  | "SUPABASE_URL"
  | "SUPABASE_ANON_KEY"
  | "SUPABASE_SERVICE_ROLE_KEY"
  | "REELFORGE_LEGACY_JWT_SECRET"
  | "SUPABASE_JWT_SECRET"
  | "SUPABASE_JWKS"
  | "SUPABASE_SECRET_KEYS"
  | "SUPABASE_PUBLISHABLE_KEYS"
  | "REELFORGE_JWT_ISSUER"
>;

/** The project's auth base URL, e.g. https://<ref>.supabase.co/auth/v1 (also the tokens' `iss`). */
export function authUrlOf(supabaseUrl: string): string {
  return `${supabaseUrl.replace(/\/+$/, "")}/auth/v1`;
}

export function createAuthenticatorFromConfig(
  config: AuthConfig,
  fetchJwks: typeof fetch = globalThis.fetch,
): Authenticator {
  const authUrl = authUrlOf(config.SUPABASE_URL);
  const issuers = config.REELFORGE_JWT_ISSUER
    ? config.REELFORGE_JWT_ISSUER.split(",").map((issuer) => issuer.trim()).filter(Boolean)
    : [authUrl];
  const verifyJwt = createJwtVerifier({
    jwks: createJwksCache({
      url: `${authUrl}/.well-known/jwks.json`,
      initialKeys: initialKeys(config.SUPABASE_JWKS),
      fetch: fetchJwks,
    }),
    legacySecret: config.REELFORGE_LEGACY_JWT_SECRET ?? config.SUPABASE_JWT_SECRET ?? null,
    issuers,
  });
  return createAuthenticator({
    verifyJwt,
    apiKeys: {
      serviceRoleKeys: [config.SUPABASE_SERVICE_ROLE_KEY, ...keysFromDictionary(config.SUPABASE_SECRET_KEYS)],
      anonKeys: [config.SUPABASE_ANON_KEY, ...keysFromDictionary(config.SUPABASE_PUBLISHABLE_KEYS)],
    },
  });
}

// An unreadable SUPABASE_JWKS only means the keys are fetched instead.
function initialKeys(json: string | undefined): Jwk[] | undefined {
  if (!json) return undefined;
  try {
    return parseJwks(JSON.parse(json));
  } catch {
    return undefined;
  }
}
