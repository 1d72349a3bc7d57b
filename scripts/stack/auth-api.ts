/**
 * /auth/v1/* — a minimal GoTrue-compatible sign-in on the gateway, enough for supabase-js and the
 * tests: sign-up (email + password, or anonymous without an email), password and refresh-token
 * grants, the current user, logout, the admin update of a user's metadata (service role), and the
 * JWKS at /auth/v1/.well-known/jwks.json, as a new hosted project serves it. User access tokens
 * are ES256 (kid in the header) unless the stack is started with REELFORGE_AUTH_JWT_ALG=HS256.
 */
import { type ApiKeySet, matchApiKey } from "../../shared/auth/api-keys.ts";
import type { AuthUser, AuthUsers, JsonObject } from "./auth-users.ts";
import { publicJwkOf, signEs256Jwt, type SigningKey, signJwt } from "./jwt.ts";
import { refusedValueMessage } from "./refused-values.ts";

export const AUTH_PREFIX = "/auth/v1/";
const ACCESS_TOKEN_SECONDS = 3600;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AuthApiDeps {
  users: AuthUsers;
  /** `<API_URL>/auth/v1`: the tokens' issuer. */
  issuer: string;
  signingKey: SigningKey;
  /** "HS256" signs user tokens with the legacy secret instead, like a project before signing keys. */
  userTokenAlg: "ES256" | "HS256";
  jwtSecret: string;
  /** The legacy anon/service_role JWTs and the sb_publishable_/sb_secret_ keys. */
  apiKeys: ApiKeySet;
  /** Verifies a bearer token (the functions' own verifier), for /user and /logout. */
  verifyJwt: (token: string) => Promise<Record<string, unknown>>;
}

export function createAuthApi(deps: AuthApiDeps) {
  const { apiKeys } = deps;

  function userJson(user: AuthUser) {
    return {
      id: user.id,
      aud: "authenticated",
      role: "authenticated",
      email: user.email ?? "",
      phone: "",
      email_confirmed_at: user.email_confirmed_at,
      last_sign_in_at: user.last_sign_in_at,
      app_metadata: user.raw_app_meta_data ?? {},
      user_metadata: user.raw_user_meta_data ?? {},
      identities: [],
      created_at: user.created_at,
      updated_at: user.updated_at,
      is_anonymous: user.is_anonymous,
    };
  }

  async function session(user: AuthUser, sessionId: string = crypto.randomUUID()) {
    const iat = Math.floor(Date.now() / 1000);
    const claims = {
      iss: deps.issuer,
      sub: user.id,
      aud: "authenticated",
      exp: iat + ACCESS_TOKEN_SECONDS,
      iat,
      email: user.email ?? "",
      phone: "",
      app_metadata: user.raw_app_meta_data ?? {},
      user_metadata: user.raw_user_meta_data ?? {},
      role: "authenticated",
      aal: "aal1",
      amr: [{ method: user.is_anonymous ? "anonymous" : "password", timestamp: iat }],
      session_id: sessionId,
      is_anonymous: user.is_anonymous,
    };
    const accessToken = deps.userTokenAlg === "HS256"
      ? await signJwt(claims, deps.jwtSecret)
      : await signEs256Jwt(claims, deps.signingKey);
    return {
      access_token: accessToken,
      token_type: "bearer",
      expires_in: ACCESS_TOKEN_SECONDS,
      expires_at: claims.exp,
      refresh_token: await deps.users.issueRefreshToken(user.id, sessionId),
      user: userJson(user),
    };
  }

  async function verifiedUser(request: Request): Promise<{ user: AuthUser; sessionId: string } | null> {
    const token = request.headers.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
    if (!token) return null;
    const claims = await deps.verifyJwt(token).catch(() => null);
    if (claims?.role !== "authenticated") return null;
    const user = await deps.users.get(String(claims.sub));
    return user ? { user, sessionId: String(claims.session_id ?? "") } : null;
  }

  return async function handleAuthRequest(request: Request, pathname: string): Promise<Response> {
    try {
      return await answer(request, pathname);
    } catch (error) {
      const refused = refusedValueMessage(error);
      if (refused) return authError(400, "validation_failed", refused);
      throw error;
    }
  };

  async function answer(request: Request, pathname: string): Promise<Response> {
    const route = `${request.method} ${pathname}`;
    if (request.method === "OPTIONS") return new Response("ok");
    if (route === "GET /auth/v1/.well-known/jwks.json") {
      return Response.json({ keys: [publicJwkOf(deps.signingKey)] }, {
        headers: { "cache-control": "public, max-age=600" },
      });
    }
    // Like the platform's gateway: every Auth call carries one of the project's API keys.
    const apikey = request.headers.get("apikey") ??
      request.headers.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? "";
    if (!matchApiKey(apikey, apiKeys)) {
      return authError(401, "no_api_key", "No API key found in request");
    }
    const body = request.method === "POST" || request.method === "PUT" ? await readJson(request) : {};
    if (body === null) return authError(400, "bad_json", "Could not parse request body as JSON");

    if (route === "POST /auth/v1/signup") {
      const email = typeof body.email === "string" && body.email.trim()
        ? body.email.trim().toLowerCase()
        : null;
      const password = typeof body.password === "string" ? body.password : null;
      if (email && (password === null || password.length < 6)) {
        return authError(422, "weak_password", "Password should be at least 6 characters.");
      }
      const userMetadata = isObject(body.data) ? body.data : {};
      const user = await deps.users.create({ email, password: email ? password : null, userMetadata });
      if (!user) return authError(422, "user_already_exists", "User already registered");
      return Response.json(await session(user));
    }
    if (route === "POST /auth/v1/token") {
      const grant = new URL(request.url).searchParams.get("grant_type");
      if (grant === "password") {
        const email = typeof body.email === "string" ? body.email.trim().toLowerCase() : "";
        const user = email && typeof body.password === "string"
          ? await deps.users.withPassword(email, body.password)
          : null;
        if (!user) return authError(400, "invalid_credentials", "Invalid login credentials");
        return Response.json(await session(user));
      }
      if (grant === "refresh_token") {
        const used = typeof body.refresh_token === "string"
          ? await deps.users.useRefreshToken(body.refresh_token)
          : null;
        const user = used ? await deps.users.get(used.userId) : null;
        if (!used || !user) {
          return authError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
        }
        return Response.json(await session(user, used.sessionId));
      }
      return authError(400, "unsupported_grant_type", "grant_type must be password or refresh_token");
    }
    if (route === "GET /auth/v1/user") {
      const signedIn = await verifiedUser(request);
      return signedIn ? Response.json(userJson(signedIn.user)) : authError(401, "bad_jwt", "invalid JWT");
    }
    if (route === "POST /auth/v1/logout") {
      const signedIn = await verifiedUser(request);
      if (signedIn?.sessionId) await deps.users.revokeSession(signedIn.sessionId);
      return new Response(null, { status: 204 });
    }
    const adminUser = pathname.match(/^\/auth\/v1\/admin\/users\/([^/]+)$/);
    if (adminUser && request.method === "PUT") {
      const bearer = request.headers.get("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? "";
      if (matchApiKey(bearer, apiKeys) !== "service_role") {
        return authError(403, "not_admin", "User not allowed");
      }
      if (!UUID.test(adminUser[1])) return authError(404, "user_not_found", "User not found");
      const user = await deps.users.updateMetadata(
        adminUser[1],
        isObject(body.app_metadata) ? body.app_metadata : null,
        isObject(body.user_metadata) ? body.user_metadata : null,
      );
      return user ? Response.json(userJson(user)) : authError(404, "user_not_found", "User not found");
    }
    return authError(404, "not_found", `No auth route ${route} on the local stack`);
  }
}

// GoTrue's error shape (supabase-js reads code, error_code and msg).
function authError(status: number, errorCode: string, msg: string): Response {
  return Response.json({ code: status, error_code: errorCode, msg }, { status });
}

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

async function readJson(request: Request): Promise<JsonObject | null> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    const value = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}
