/**
 * HS256 JSON Web Tokens with Web Crypto only, so the same module runs in Deno (gateway, CLI)
 * and Node (tests). Enough for the local stack: Supabase's anon/service keys and user tokens.
 */

export type JwtPayload = Record<string, unknown> & { exp?: number; role?: string; sub?: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function base64UrlDecode(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error("malformed JWT: bad base64url");
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    encoder.encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** Signs `payload` as an HS256 JWT. */
export async function signJwt(payload: JwtPayload, secret: string): Promise<string> {
  const header = base64UrlEncode(encoder.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const body = base64UrlEncode(encoder.encode(JSON.stringify(payload)));
  const signingInput = `${header}.${body}`;
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(signingInput));
  return `${signingInput}.${base64UrlEncode(new Uint8Array(signature))}`;
}

/** Returns the payload of a valid HS256 JWT; throws when malformed, badly signed or expired. */
export async function verifyJwt(token: string, secret: string): Promise<JwtPayload> {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error("malformed JWT: expected three parts");
  const [headerPart, payloadPart, signaturePart] = parts;
  const header = JSON.parse(decoder.decode(base64UrlDecode(headerPart)));
  if (header?.alg !== "HS256") throw new Error(`unsupported JWT alg: ${header?.alg}`);
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(secret),
    base64UrlDecode(signaturePart),
    encoder.encode(`${headerPart}.${payloadPart}`),
  );
  if (!valid) throw new Error("invalid JWT signature");
  const payload = JSON.parse(decoder.decode(base64UrlDecode(payloadPart)));
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    throw new Error("malformed JWT: payload is not an object");
  }
  if (typeof payload.exp === "number" && payload.exp * 1000 <= Date.now()) throw new Error("JWT expired");
  return payload as JwtPayload;
}
