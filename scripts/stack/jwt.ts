/**
 * Signing JSON Web Tokens with Web Crypto only, so the same module runs in Deno (gateway, CLI)
 * and Node (tests): HS256 with the legacy secret (Supabase's anon/service keys) and ES256 with
 * the stack's own signing key (user access tokens, as a new hosted project issues them).
 * Verification is shared/auth/verify-jwt.ts, the functions' own verifier.
 */
import { base64UrlDecode, base64UrlEncode } from "../../shared/auth/base64url.ts";
import type { Jwk } from "../../shared/auth/jwks-cache.ts";

export type JwtPayload = Record<string, unknown> & { exp?: number; role?: string; sub?: string };

/** An ES256 key pair as kept in <stack>/secrets.json: the private JWK and its key id. */
export interface SigningKey {
  kid: string;
  privateJwk: JsonWebKey;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeSegment(value: unknown): string {
  return base64UrlEncode(encoder.encode(JSON.stringify(value)));
}

/** Signs `payload` as an HS256 JWT. */
export async function signJwt(payload: JwtPayload, secret: string): Promise<string> {
  const signingInput = `${encodeSegment({ alg: "HS256", typ: "JWT" })}.${encodeSegment(payload)}`;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(signingInput));
  return `${signingInput}.${base64UrlEncode(new Uint8Array(signature))}`;
}

/** Signs `payload` as an ES256 JWT whose header names the key (`kid`), as Supabase Auth does. */
export async function signEs256Jwt(payload: JwtPayload, key: SigningKey): Promise<string> {
  const signingInput = `${encodeSegment({ alg: "ES256", kid: key.kid, typ: "JWT" })}.${
    encodeSegment(payload)
  }`;
  const privateKey = await crypto.subtle.importKey(
    "jwk",
    key.privateJwk,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  // Web Crypto's ECDSA signature is r || s (64 bytes), which is exactly JWS's ES256 encoding.
  const signature = await crypto.subtle.sign(
    { name: "ECDSA", hash: "SHA-256" },
    privateKey,
    encoder.encode(signingInput),
  );
  return `${signingInput}.${base64UrlEncode(new Uint8Array(signature))}`;
}

/** A fresh P-256 key pair with a random key id. */
export async function generateSigningKey(): Promise<SigningKey> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  const privateJwk = await crypto.subtle.exportKey("jwk", pair.privateKey);
  const kid = Array.from(
    crypto.getRandomValues(new Uint8Array(8)),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
  return {
    kid,
    privateJwk: {
      kty: privateJwk.kty,
      crv: privateJwk.crv,
      x: privateJwk.x,
      y: privateJwk.y,
      d: privateJwk.d,
    },
  };
}

/** The public half as a JWKS entry, the way Supabase Auth publishes it. */
export function publicJwkOf(key: SigningKey): Jwk & { key_ops: string[] } {
  const { kty, crv, x, y } = key.privateJwk;
  return { kty: kty!, crv, x, y, kid: key.kid, alg: "ES256", use: "sig", key_ops: ["verify"] };
}

/**
 * The payload of an HS256 JWT signed with `secret` and not expired; otherwise throws an Error whose
 * message is what Storage answers for a bad signed-URL token ("invalid signature", "jwt expired").
 */
export async function verifyHs256Jwt(token: string, secret: string, now = Date.now()): Promise<JwtPayload> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("jwt malformed");
  let header: { alg?: unknown };
  let payload: JwtPayload;
  let signature: Uint8Array<ArrayBuffer>;
  try {
    header = JSON.parse(decoder.decode(base64UrlDecode(parts[0])));
    payload = JSON.parse(decoder.decode(base64UrlDecode(parts[1])));
    signature = base64UrlDecode(parts[2]);
  } catch {
    throw new Error("jwt malformed");
  }
  if (header.alg !== "HS256") throw new Error("invalid algorithm");
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  if (!await crypto.subtle.verify("HMAC", key, signature, encoder.encode(`${parts[0]}.${parts[1]}`))) {
    throw new Error("invalid signature");
  }
  if (typeof payload.exp === "number" && Math.floor(now / 1000) >= payload.exp) {
    throw new Error("jwt expired");
  }
  return payload;
}
