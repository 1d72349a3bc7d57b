/**
 * Who sent a request, from its `Authorization` and `apikey` headers, verified here rather than
 * trusted from the gateway. A bearer token decides when present (supabase-js sends the user's
 * session there, or the client's key when signed out); the `apikey` header counts only without
 * one (Supabase's convention for the new, non-JWT keys).
 */
import { InvalidApiKeyError, InvalidTokenError } from "./auth-errors.ts";
import { type ApiKeySet, isNewApiKey, matchApiKey } from "./api-keys.ts";
import type { JwtClaims } from "./verify-jwt.ts";

/** A verified credential: a user's access token, or one of the project's API keys. */
export type Principal =
  | { kind: "user"; claims: JwtClaims }
  | { kind: "service_role" }
  | { kind: "anon" };

export interface AuthenticatorOptions {
  verifyJwt: (token: string) => Promise<JwtClaims>;
  apiKeys: ApiKeySet;
}

export interface CredentialHeaders {
  authorization?: string | null;
  apikey?: string | null;
}

export type Authenticator = (headers: CredentialHeaders) => Promise<Principal | null>;

/** Builds `authenticate(headers)`: the verified principal, null without credentials, or a 401. */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  async function fromToken(token: string): Promise<Principal> {
    const key = matchApiKey(token, options.apiKeys);
    if (key) return { kind: key };
    if (isNewApiKey(token)) throw new InvalidApiKeyError();
    const claims = await options.verifyJwt(token);
    if (claims.role === "service_role") return { kind: "service_role" };
    if (claims.role === "anon") return { kind: "anon" };
    return { kind: "user", claims };
  }

  return async function authenticate(headers) {
    const authorization = headers.authorization?.trim();
    if (authorization) {
      const token = authorization.match(/^Bearer\s+(\S+)$/i)?.[1];
      if (!token) throw new InvalidTokenError('the Authorization header must be "Bearer <token>"');
      return await fromToken(token);
    }
    const apikey = headers.apikey?.trim();
    if (!apikey) return null;
    const key = matchApiKey(apikey, options.apiKeys);
    if (!key) throw new InvalidApiKeyError();
    return { kind: key };
  };
}
