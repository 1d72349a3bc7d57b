import { describe, expect, it } from "vitest";
import { InvalidTokenError } from "../../shared/auth/auth-errors.ts";
import { base64UrlEncode } from "../../shared/auth/base64url.ts";
import { createJwksCache, type Jwk } from "../../shared/auth/jwks-cache.ts";
import { createJwtVerifier } from "../../shared/auth/verify-jwt.ts";
import {
  generateSigningKey,
  publicJwkOf,
  signEs256Jwt,
  type SigningKey,
  signJwt,
} from "../../scripts/stack/jwt.ts";

const ISSUER = "https://project.example/auth/v1";
const LEGACY_SECRET = "legacy-secret-with-at-least-32-characters";
const USER_ID = "3f0c2a9e-6a57-4d0a-9a47-2f4b9f2c1d11";
const now = () => Math.floor(Date.now() / 1000);
const userClaims = (extra: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  sub: USER_ID,
  role: "authenticated",
  aud: "authenticated",
  iat: now(),
  exp: now() + 600,
  ...extra,
});
const encode = (value: unknown) => base64UrlEncode(new TextEncoder().encode(JSON.stringify(value)));

async function signRs256(
  claims: Record<string, unknown>,
  kid: string,
  privateKey: CryptoKey,
): Promise<string> {
  const input = `${encode({ alg: "RS256", kid, typ: "JWT" })}.${encode(claims)}`;
  const signature = await crypto.subtle.sign(
    "RSASSA-PKCS1-v1_5",
    privateKey,
    new TextEncoder().encode(input),
  );
  return `${input}.${base64UrlEncode(new Uint8Array(signature))}`;
}

async function rsaKey(kid: string) {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const { n, e } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { privateKey: pair.privateKey, jwk: { kty: "RSA", n, e, kid, alg: "RS256", use: "sig" } as Jwk };
}

/** A verifier over a fake JWKS endpoint whose keys the test controls; counts the fetches. The cache's clock is `endpoint.clockMs`. */
function setup(keys: Jwk[], options: { legacySecret?: string | null } = {}) {
  const endpoint = { keys, fetches: 0, clockMs: 1_000_000 };
  const jwks = createJwksCache({
    url: "https://project.example/auth/v1/.well-known/jwks.json",
    minRefreshMs: 30_000,
    now: () => endpoint.clockMs,
    fetch: (async () => {
      endpoint.fetches++;
      return Response.json({ keys: endpoint.keys });
    }) as typeof fetch,
  });
  const verify = createJwtVerifier({
    jwks,
    legacySecret: options.legacySecret === undefined ? LEGACY_SECRET : options.legacySecret,
    issuers: [ISSUER],
  });
  return { endpoint, verify };
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => null, (caught) => caught);
  expect(error).toBeInstanceOf(InvalidTokenError);
  expect((error as InvalidTokenError).status).toBe(401);
  return (error as Error).message;
}

describe("JWT verification", async () => {
  const key: SigningKey = await generateSigningKey();
  const otherKey: SigningKey = await generateSigningKey();

  it("accepts an ES256 user token signed with a JWKS key and returns its claims", async () => {
    const { verify } = setup([publicJwkOf(key)]);
    const claims = await verify(await signEs256Jwt(userClaims({ is_anonymous: true }), key));
    expect(claims).toMatchObject({ sub: USER_ID, role: "authenticated", is_anonymous: true });
  });

  it("accepts an RS256 user token signed with a JWKS key", async () => {
    const rsa = await rsaKey("rsa-1");
    const { verify } = setup([rsa.jwk]);
    expect((await verify(await signRs256(userClaims(), "rsa-1", rsa.privateKey))).sub).toBe(USER_ID);
  });

  it("accepts legacy HS256 tokens with the legacy secret: user tokens and the service_role key", async () => {
    const { verify } = setup([]);
    expect((await verify(await signJwt(userClaims(), LEGACY_SECRET))).sub).toBe(USER_ID);
    const serviceKey = await signJwt(
      { iss: "supabase-demo", role: "service_role", exp: now() + 600 },
      LEGACY_SECRET,
    );
    expect((await verify(serviceKey)).role).toBe("service_role");
  });

  it("refuses HS256 altogether when no legacy secret is configured", async () => {
    const { verify } = setup([publicJwkOf(key)], { legacySecret: null });
    expect(await rejection(verify(await signJwt(userClaims(), LEGACY_SECRET)))).toContain(
      "HS256 tokens are not accepted",
    );
  });

  it("refuses an expired token, one not valid yet, and one issued in the future", async () => {
    const { verify } = setup([publicJwkOf(key)]);
    expect(await rejection(verify(await signEs256Jwt(userClaims({ exp: now() - 1 }), key)))).toContain(
      "expired",
    );
    expect(await rejection(verify(await signEs256Jwt(userClaims({ nbf: now() + 300 }), key)))).toContain(
      "nbf",
    );
    expect(await rejection(verify(await signEs256Jwt(userClaims({ iat: now() + 300 }), key)))).toContain(
      "iat",
    );
    expect(await rejection(verify(await signEs256Jwt(userClaims({ exp: undefined }), key)))).toContain("exp");
  });

  it("refuses a user token with the wrong audience, another issuer, an unexpected role or a non-UUID subject", async () => {
    const { verify } = setup([publicJwkOf(key)]);
    expect(await rejection(verify(await signEs256Jwt(userClaims({ aud: "other" }), key)))).toContain("aud");
    expect(await rejection(verify(await signEs256Jwt(userClaims({ aud: undefined }), key)))).toContain("aud");
    expect(
      await rejection(verify(await signEs256Jwt(userClaims({ iss: "https://other.example/auth/v1" }), key))),
    ).toContain("iss");
    expect(await rejection(verify(await signEs256Jwt(userClaims({ role: "supabase_admin" }), key))))
      .toContain("role");
    expect(await rejection(verify(await signEs256Jwt(userClaims({ sub: "admin" }), key)))).toContain("sub");
  });

  it("refuses alg none, with or without a signature", async () => {
    const { verify } = setup([publicJwkOf(key)]);
    const unsigned = `${encode({ alg: "none", typ: "JWT" })}.${encode(userClaims())}`;
    expect(await rejection(verify(`${unsigned}.`))).toContain("none");
    const [, , signature] = (await signEs256Jwt(userClaims(), key)).split(".");
    expect(await rejection(verify(`${unsigned}.${signature}`))).toContain("none");
  });

  it("refuses an HS256 token signed with the public key as its secret (algorithm confusion)", async () => {
    const { verify } = setup([publicJwkOf(key)]);
    for (
      const secret of [
        JSON.stringify(publicJwkOf(key)),
        JSON.stringify({ keys: [publicJwkOf(key)] }),
        publicJwkOf(key).x!,
      ]
    ) {
      const confused = await signJwt(userClaims(), secret);
      const withKid = confused.replace(/^[^.]+/, encode({ alg: "HS256", kid: key.kid, typ: "JWT" }));
      expect(await rejection(verify(confused))).toContain("bad signature");
      expect(await rejection(verify(withKid))).toContain("bad signature");
    }
  });

  it("refuses a token signed with another key under a known kid, and one whose payload was changed", async () => {
    const { verify } = setup([publicJwkOf(key)]);
    expect(await rejection(verify(await signEs256Jwt(userClaims(), { ...otherKey, kid: key.kid }))))
      .toContain("bad signature");
    const [header, , signature] = (await signEs256Jwt(userClaims(), key)).split(".");
    const promoted = encode(userClaims({ app_metadata: { reelforge_role: "operator" } }));
    expect(await rejection(verify(`${header}.${promoted}.${signature}`))).toContain("bad signature");
  });

  it("refuses an ES256 header naming an RSA key, and an RS256 header naming an EC key", async () => {
    const rsa = await rsaKey("rsa-1");
    const { verify } = setup([publicJwkOf(key), rsa.jwk]);
    expect(await rejection(verify(await signRs256(userClaims(), key.kid, rsa.privateKey)))).toContain(
      "does not match",
    );
    expect(await rejection(verify(await signEs256Jwt(userClaims(), { ...key, kid: "rsa-1" })))).toContain(
      "does not match",
    );
  });

  it("fetches the JWKS once for a token naming an unknown kid, then trusts the rotated-in key", async () => {
    const { endpoint, verify } = setup([publicJwkOf(key)]);
    await verify(await signEs256Jwt(userClaims(), key));
    expect(endpoint.fetches).toBe(1);
    endpoint.keys = [publicJwkOf(key), publicJwkOf(otherKey)];
    endpoint.clockMs += 30_000;
    expect((await verify(await signEs256Jwt(userClaims(), otherKey))).sub).toBe(USER_ID);
    expect(endpoint.fetches).toBe(2);
    await verify(await signEs256Jwt(userClaims(), otherKey));
    expect(endpoint.fetches).toBe(2);
  });

  it("does not refetch the JWKS for every made-up kid: one refresh per interval, then 401", async () => {
    const { endpoint, verify } = setup([publicJwkOf(key)]);
    await verify(await signEs256Jwt(userClaims(), key));
    endpoint.clockMs += 30_000;
    const forged = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signEs256Jwt(userClaims(), { ...otherKey, kid: `made-up-${i}` })),
    );
    expect(
      (await Promise.all(forged.map((token) => rejection(verify(token))))).every((message) =>
        message.includes("not one of this project's")
      ),
    ).toBe(true);
    expect(endpoint.fetches).toBe(2);
    endpoint.clockMs += 29_000;
    await rejection(verify(forged[0]));
    expect(endpoint.fetches).toBe(2);
    endpoint.clockMs += 1_000;
    await rejection(verify(forged[0]));
    expect(endpoint.fetches).toBe(3);
  });

  it("stops trusting a key removed from the JWKS once the cached set is older than its max age (10 min)", async () => {
    const { endpoint, verify } = setup([publicJwkOf(key)]);
    const token = await signEs256Jwt(userClaims({ exp: now() + 3600 }), key);
    await verify(token);
    endpoint.keys = [publicJwkOf(otherKey)];
    endpoint.clockMs += 9 * 60_000;
    await verify(token);
    endpoint.clockMs += 60_000;
    expect(await rejection(verify(token))).toContain("not one of this project's");
    expect(endpoint.fetches).toBe(2);
  });

  it("answers 503 auth_unavailable when the JWKS cannot be fetched and no keys are known", async () => {
    const jwks = createJwksCache({
      url: "https://project.example/jwks",
      fetch: (async () => new Response("down", { status: 502 })) as typeof fetch,
    });
    const verify = createJwtVerifier({ jwks, issuers: [ISSUER] });
    const error = await verify(await signEs256Jwt(userClaims(), key)).catch((caught) => caught);
    expect([error.status, error.code]).toEqual([503, "auth_unavailable"]);
  });

  it("refuses garbage: not three parts, bad base64, non-JSON, a non-object payload, an overlong token", async () => {
    const { verify } = setup([publicJwkOf(key)]);
    const valid = await signEs256Jwt(userClaims(), key);
    const [header, payload] = valid.split(".");
    for (
      const token of [
        "",
        "garbage",
        "a.b",
        `${header}.${payload}`,
        `${header}.${payload}.sig!`,
        `${header}.bm90IGpzb24.x`,
        `${header}.${encode([1])}.x`,
        `${valid}.${"a".repeat(20_000)}`,
      ]
    ) {
      await rejection(verify(token));
    }
  });
});
