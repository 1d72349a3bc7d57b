/**
 * Verifies a Supabase JWT with Web Crypto only (Deno and Node): ES256/RS256 against the project's
 * JWKS, HS256 against the legacy JWT secret when one is configured. The algorithm decides the key
 * *type* before anything is checked — an asymmetric key is never used as an HMAC secret, HS256 is
 * never tried against a JWKS key, `alg: none` and everything else are refused — then signature,
 * `exp`, `nbf`, `iat`, `role`, and for user tokens `aud`, `sub` and `iss`.
 */
import { InvalidTokenError } from "./auth-errors.ts";
import { base64UrlDecode } from "./base64url.ts";
import type { Jwk, JwksCache } from "./jwks-cache.ts";

export type JwtClaims = Record<string, unknown>;

export interface JwtVerifierOptions {
  /** Absent: asymmetric tokens are refused (nothing to check them against). */
  jwks?: JwksCache | null;
  /** The legacy HS256 secret; absent: HS256 tokens are refused. */
  legacySecret?: string | null;
  /** Accepted `iss` of user tokens, normally `<SUPABASE_URL>/auth/v1`. */
  issuers: string[];
  /** Tolerated clock difference for `nbf` and `iat` (not `exp`). */
  clockSkewSeconds?: number;
  now?: () => number;
}

const ROLES = new Set(["authenticated", "anon", "service_role"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TOKEN_LENGTH = 16 * 1024;
const encoder = new TextEncoder();

/** Builds `verifyJwt(token)`: the claims of a token this project signed, or InvalidTokenError. */
export function createJwtVerifier(options: JwtVerifierOptions) {
  const { jwks = null, legacySecret = null, issuers, clockSkewSeconds = 30, now = Date.now } = options;
  const importedKeys = new WeakMap<Jwk, Promise<CryptoKey>>();
  const hmacKey = legacySecret
    ? crypto.subtle.importKey("raw", encoder.encode(legacySecret), { name: "HMAC", hash: "SHA-256" }, false, [
      "verify",
    ])
    : null;

  async function checkSignature(
    alg: string,
    header: Record<string, unknown>,
    signingInput: Uint8Array<ArrayBuffer>,
    signature: Uint8Array<ArrayBuffer>,
  ) {
    if (alg === "HS256") {
      if (!hmacKey) {
        throw new InvalidTokenError(
          "HS256 tokens are not accepted here (no legacy JWT secret is configured)",
        );
      }
      if (
        signature.length !== 32 || !await crypto.subtle.verify("HMAC", await hmacKey, signature, signingInput)
      ) {
        throw new InvalidTokenError("bad signature");
      }
      return;
    }
    if (alg !== "ES256" && alg !== "RS256") {
      throw new InvalidTokenError(`alg ${JSON.stringify(alg)} is not accepted`);
    }
    if (!jwks) throw new InvalidTokenError(`${alg} tokens are not accepted here (no JWKS)`);
    if (typeof header.kid !== "string" || header.kid === "") {
      throw new InvalidTokenError(`an ${alg} token must name its key (kid)`);
    }
    const jwk = await jwks.find(header.kid);
    if (!jwk) throw new InvalidTokenError("signed with a key that is not one of this project's");
    const fits = alg === "ES256" ? jwk.kty === "EC" && jwk.crv === "P-256" : jwk.kty === "RSA";
    if (!fits || (jwk.alg !== undefined && jwk.alg !== alg)) {
      throw new InvalidTokenError(`alg ${alg} does not match the key it names`);
    }
    if (!importedKeys.has(jwk)) importedKeys.set(jwk, importPublicKey(alg, jwk));
    const key = await importedKeys.get(jwk)!.catch(() => {
      throw new InvalidTokenError("the signing key it names cannot be used");
    });
    const valid = alg === "ES256"
      ? signature.length === 64 &&
        await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, signingInput)
      : await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, signature, signingInput);
    if (!valid) throw new InvalidTokenError("bad signature");
  }

  function checkClaims(claims: JwtClaims) {
    const nowSeconds = Math.floor(now() / 1000);
    if (typeof claims.exp !== "number") throw new InvalidTokenError("no expiry (exp)");
    if (nowSeconds >= claims.exp) throw new InvalidTokenError("expired");
    if (
      claims.nbf !== undefined &&
      (typeof claims.nbf !== "number" || claims.nbf > nowSeconds + clockSkewSeconds)
    ) {
      throw new InvalidTokenError("not valid yet (nbf)");
    }
    if (
      claims.iat !== undefined &&
      (typeof claims.iat !== "number" || claims.iat > nowSeconds + clockSkewSeconds)
    ) {
      throw new InvalidTokenError("issued in the future (iat)");
    }
    if (typeof claims.role !== "string" || !ROLES.has(claims.role)) {
      throw new InvalidTokenError("unexpected role");
    }
    if (claims.role !== "authenticated") return;
    const aud = claims.aud;
    if (!(aud === "authenticated" || (Array.isArray(aud) && aud.includes("authenticated")))) {
      throw new InvalidTokenError('audience (aud) is not "authenticated"');
    }
    if (typeof claims.sub !== "string" || !UUID.test(claims.sub)) {
      throw new InvalidTokenError("subject (sub) is not a user id");
    }
    if (typeof claims.iss !== "string" || !issuers.includes(claims.iss)) {
      throw new InvalidTokenError("issued by another project (iss)");
    }
  }

  return async function verifyJwt(token: string): Promise<JwtClaims> {
    if (token.length > MAX_TOKEN_LENGTH) throw new InvalidTokenError("too long");
    const parts = token.split(".");
    if (parts.length !== 3) throw new InvalidTokenError("not a JWT");
    const [headerPart, payloadPart, signaturePart] = parts;
    const header = decodeJson(headerPart);
    const claims = decodeJson(payloadPart);
    let signature: Uint8Array<ArrayBuffer>;
    try {
      signature = base64UrlDecode(signaturePart);
    } catch {
      throw new InvalidTokenError("not a JWT");
    }
    if (header.crit !== undefined) {
      throw new InvalidTokenError("critical header extensions are not supported");
    }
    await checkSignature(
      String(header.alg),
      header,
      encoder.encode(`${headerPart}.${payloadPart}`),
      signature,
    );
    checkClaims(claims);
    return claims;
  };
}

function decodeJson(part: string): Record<string, unknown> {
  try {
    const value = JSON.parse(new TextDecoder().decode(base64UrlDecode(part)));
    if (value !== null && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // Falls through to the same refusal as a non-object.
  }
  throw new InvalidTokenError("not a JWT");
}

function importPublicKey(alg: "ES256" | "RS256", jwk: Jwk): Promise<CryptoKey> {
  // Only the key material: key_ops/use/alg fields make importKey picky across runtimes.
  return alg === "ES256"
    ? crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    )
    : crypto.subtle.importKey(
      "jwk",
      { kty: "RSA", n: jwk.n, e: jwk.e },
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      false,
      ["verify"],
    );
}
